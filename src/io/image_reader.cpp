#include "samri/io/image_reader.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "dicom_file.h"
#include "dicom_series.h"
#include "itk_reading.h"
#include "nifti2_reader.h"
#include "samri/core/error.h"

namespace samri::io {

namespace fs = std::filesystem;

namespace {

// Clear messages for what would otherwise reach ITK as "no reader".
void check_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot be opened (" + std::strerror(errno) + ")");
  unsigned char magic[2] = {0, 0};
  in.read(reinterpret_cast<char*>(magic), 2);
  if (in.gcount() == 0) throw Error(path.string() + ": the file is empty");
  if (detail::ends_with(path.string(), ".gz") &&
      (in.gcount() < 2 || magic[0] != 0x1f || magic[1] != 0x8b)) {
    throw Error(path.string() + ": named .gz but not gzip-compressed (corrupt or misnamed)");
  }
}

// The image as stored (voxel type, 2-D to 4-D), from any supported file or DICOM folder.
Image read_stored(const fs::path& path, const std::string& series_uid) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) throw Error(path.string() + ": no such file or folder");
  if (fs::is_directory(status)) return detail::read_dicom_directory(path, series_uid);
  if (!series_uid.empty()) {
    throw Error(path.string() + ": a DICOM series UID applies only to a DICOM folder");
  }
  if (!fs::is_regular_file(status)) throw Error(path.string() + ": not a regular file");
  check_file(path);
  if (detail::is_nifti2(path)) return detail::read_nifti2(path);
  if (detail::has_dicom_preamble(path)) return detail::read_dicom_file(path);
  return detail::read_with_itk(path);
}

Image spatial_part(const Image& image) {
  Image out = image;
  const int dims = image.geometry.dimension();
  Geometry& g = out.geometry;
  g.size.resize(3);
  g.spacing.resize(3);
  g.origin.resize(3);
  g.direction.clear();
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) g.direction.push_back(image.geometry.direction[r * dims + c]);
  }
  return out;
}

std::vector<Image> split_channels(const Image& image) {
  if (image.geometry.dimension() != 4) return {image};
  std::vector<Image> channels;
  for (std::int64_t t = 0; t < image.geometry.size[3]; ++t) {
    Image channel = spatial_part(image);
    channel.data = image.data.select(0, t);
    channels.push_back(std::move(channel));
  }
  return channels;
}

// A 4-D file with one volume is that volume; with more, silently keeping one (as ITK would)
// would lose data, so it is refused.
Image single_volume(const Image& image, const fs::path& path) {
  if (image.geometry.dimension() != 4) return image;
  if (image.geometry.size[3] == 1) return split_channels(image).front();
  throw Error(path.string() + ": a 4-D image with " + std::to_string(image.geometry.size[3]) +
              " volumes (channels or time points); read it one volume per channel "
              "(read_image_channels; samri-preprocess does this)");
}

Image as_float32(Image image) {
  image.data = image.data.to(torch::kFloat32).contiguous();
  return image;
}

std::string voxel_name(const Geometry& geometry, std::int64_t flat_index) {
  std::ostringstream out;
  out << "(";
  for (int d = 0; d < geometry.dimension(); ++d) {
    out << (d ? ", " : "") << flat_index % geometry.size[d];
    flat_index /= geometry.size[d];
  }
  out << ")";
  return out.str();
}

torch::Tensor whole_numbers(const Image& image, const fs::path& path) {
  const torch::Tensor& data = image.data;
  if (!data.is_floating_point()) return data.to(torch::kInt64).contiguous();
  const auto values = data.to(torch::kFloat64).reshape({-1});
  const auto bad = (values != values.round()) | ~torch::isfinite(values) | (values.abs() >= 9.2e18);
  if (bad.any().item<bool>()) {
    const std::int64_t index = bad.nonzero()[0][0].item<std::int64_t>();
    std::ostringstream message;
    message << path.string() << ": not a label map: voxel " << voxel_name(image.geometry, index)
            << " holds " << values[index].item<double>() << "; labels must be whole numbers";
    throw Error(message.str());
  }
  return data.to(torch::kInt64).contiguous();
}

}  // namespace

Image read_image(const fs::path& path, const std::string& series_uid) {
  return as_float32(single_volume(read_stored(path, series_uid), path));
}

std::vector<Image> read_image_channels(const fs::path& path, const std::string& series_uid) {
  std::vector<Image> channels = split_channels(read_stored(path, series_uid));
  for (auto& channel : channels) channel = as_float32(std::move(channel));
  return channels;
}

Image read_label_map(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec) ||
      (fs::is_regular_file(path, ec) && detail::has_dicom_preamble(path))) {
    throw Error(path.string() +
                ": DICOM label maps (SEG, RTSTRUCT) are not supported; use NIfTI, NRRD or "
                "MetaImage");
  }
  Image image = single_volume(read_stored(path, ""), path);
  if (image.components != 1) {
    throw Error(path.string() + ": a label map needs one value per voxel, this image has " +
                std::to_string(image.components));
  }
  image.data = whole_numbers(image, path);
  return image;
}

std::vector<std::string> list_dicom_series(const fs::path& directory) {
  std::vector<std::string> lines;
  for (const auto& series : detail::scan_dicom_directory(directory)) {
    lines.push_back(series.uid + " (" + std::to_string(series.files.size()) + " files)");
  }
  return lines;
}

}  // namespace samri::io
