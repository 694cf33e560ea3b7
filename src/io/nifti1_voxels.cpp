#include "nifti1_voxels.h"

#include <nifti/nifti1.h>

#include <cstring>
#include <string>

#include "gz_file.h"
#include "nifti_voxels.h"
#include "samri/core/error.h"

namespace samri::io::detail {

namespace fs = std::filesystem;

namespace {

static_assert(sizeof(nifti_1_header) == 348, "nifti1.h layout");

// The header if the file is a single-file NIfTI-1, and whether it is byte-swapped.
bool read_header(const fs::path& path, nifti_1_header& header, bool& swapped) {
  GzFile file(gzopen(path.c_str(), "rb"));
  if (!file) return false;
  if (gzread(file.get(), &header, sizeof header) != static_cast<int>(sizeof header)) return false;
  if (std::memcmp(header.magic, "n+1", 4) != 0) return false;
  swapped = header.sizeof_hdr != 348;
  return !swapped || byte_swapped(header.sizeof_hdr) == 348;
}

NiftiVoxelLayout layout_of(const nifti_1_header& h, bool swapped, const fs::path& path) {
  auto value = [swapped](auto v) { return swapped ? byte_swapped(v) : v; };
  const int dims = value(h.dim[0]);
  if (dims < 1 || dims > 7) {
    throw Error(path.string() + ": invalid NIfTI dimension count " + std::to_string(dims));
  }
  NiftiVoxelLayout layout;
  layout.count = 1;
  for (int d = 1; d <= dims; ++d) layout.count *= value(h.dim[d]);
  layout.offset = static_cast<std::int64_t>(value(h.vox_offset));
  if (layout.offset < 348) throw Error(path.string() + ": invalid vox_offset");
  layout.datatype = value(h.datatype);
  layout.swapped = swapped;
  layout.slope = value(h.scl_slope);
  layout.intercept = value(h.scl_inter);
  return layout;
}

}  // namespace

std::optional<torch::Tensor> read_nifti1_voxels(const fs::path& path, std::int64_t expected_count) {
  nifti_1_header header;
  bool swapped = false;
  if (!read_header(path, header, swapped)) return std::nullopt;
  const NiftiVoxelLayout layout = layout_of(header, swapped, path);
  if (layout.count != expected_count) {
    throw Error(path.string() + ": the NIfTI header describes " + std::to_string(layout.count) +
                " voxels, ITK " + std::to_string(expected_count));
  }
  return read_nifti_voxels(path, layout);
}

}  // namespace samri::io::detail
