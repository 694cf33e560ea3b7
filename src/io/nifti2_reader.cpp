#include "nifti2_reader.h"

#include <nifti/nifti2.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "gz_file.h"
#include "nifti_voxels.h"
#include "samri/core/error.h"
#include "voxel_buffer.h"

namespace samri::io::detail {

namespace fs = std::filesystem;

namespace {

static_assert(sizeof(nifti_2_header) == 540, "nifti2.h layout");

using Matrix34 = std::array<std::array<double, 4>, 3>;  // rows of a 4x4 affine, last row 0 0 0 1

template <typename T>
void swap_value(T& value) {
  value = byte_swapped(value);
}

template <typename T, std::size_t N>
void swap_array(T (&values)[N]) {
  for (auto& value : values) swap_value(value);
}

void swap_header(nifti_2_header& h) {
  swap_value(h.sizeof_hdr);
  swap_value(h.datatype);
  swap_value(h.bitpix);
  swap_array(h.dim);
  swap_value(h.intent_p1);
  swap_value(h.intent_p2);
  swap_value(h.intent_p3);
  swap_array(h.pixdim);
  swap_value(h.vox_offset);
  swap_value(h.scl_slope);
  swap_value(h.scl_inter);
  swap_value(h.qform_code);
  swap_value(h.sform_code);
  for (double* q :
       {&h.quatern_b, &h.quatern_c, &h.quatern_d, &h.qoffset_x, &h.qoffset_y, &h.qoffset_z}) {
    swap_value(*q);
  }
  swap_array(h.srow_x);
  swap_array(h.srow_y);
  swap_array(h.srow_z);
  swap_value(h.xyzt_units);
}

// The header in native byte order, and whether the voxels need swapping too.
std::pair<nifti_2_header, bool> read_header(gzFile_s* file, const fs::path& path) {
  nifti_2_header header;
  read_exactly(file, &header, sizeof header, path, "the NIfTI-2 header");
  bool swapped = false;
  if (header.sizeof_hdr != 540) {
    swap_header(header);
    swapped = true;
    if (header.sizeof_hdr != 540) throw Error(path.string() + ": not a NIfTI-2 file");
  }
  if (std::memcmp(header.magic, "n+2", 4) != 0) {
    throw Error(path.string() +
                ": NIfTI-2 header/image pairs (.hdr/.img) are not supported; "
                "store the image as a single .nii or .nii.gz file");
  }
  return {header, swapped};
}

// ITK drops trailing axes of length 1 beyond the third (a 4-D file with one volume is 3-D).
std::vector<std::int64_t> grid_size(const nifti_2_header& h, const fs::path& path) {
  std::int64_t dims = h.dim[0];
  if (dims < 1 || dims > 7) {
    throw Error(path.string() + ": invalid NIfTI dimension count " + std::to_string(dims));
  }
  while (dims > 3 && h.dim[dims] == 1) --dims;
  if (dims < 2 || dims > 4) {
    throw Error(path.string() + ": " + std::to_string(dims) +
                "-D images are not supported (2-D, 3-D and 4-D are)");
  }
  return std::vector<std::int64_t>(h.dim + 1, h.dim + 1 + dims);
}

// nifti_convert_nhdr2nim's rule: a zero or non-finite pixdim means 1.
double step(double pixdim) { return pixdim == 0.0 || !std::isfinite(pixdim) ? 1.0 : pixdim; }

// The qform matrix as NIfTI defines it (quaternion, offsets, voxel sizes, qfac = pixdim[0]).
Matrix34 qform_matrix(const nifti_2_header& h) {
  double b = h.quatern_b, c = h.quatern_c, d = h.quatern_d;
  double a = 1.0 - (b * b + c * c + d * d);
  if (a < 1e-7) {  // a 180 degree rotation: renormalise (b, c, d)
    a = 1.0 / std::sqrt(b * b + c * c + d * d);
    b *= a;
    c *= a;
    d *= a;
    a = 0.0;
  } else {
    a = std::sqrt(a);
  }
  const double dx = step(h.pixdim[1]) > 0 ? step(h.pixdim[1]) : 1.0;
  const double dy = step(h.pixdim[2]) > 0 ? step(h.pixdim[2]) : 1.0;
  double dz = step(h.pixdim[3]) > 0 ? step(h.pixdim[3]) : 1.0;
  if (h.pixdim[0] < 0) dz = -dz;
  return {{{(a * a + b * b - c * c - d * d) * dx, 2 * (b * c - a * d) * dy,
            2 * (b * d + a * c) * dz, h.qoffset_x},
           {2 * (b * c + a * d) * dx, (a * a + c * c - b * b - d * d) * dy,
            2 * (c * d - a * b) * dz, h.qoffset_y},
           {2 * (b * d - a * c) * dx, 2 * (c * d + a * b) * dy,
            (a * a + d * d - c * c - b * b) * dz, h.qoffset_z}}};
}

Matrix34 sform_matrix(const nifti_2_header& h) {
  Matrix34 m;
  for (int c = 0; c < 4; ++c) {
    m[0][c] = h.srow_x[c];
    m[1][c] = h.srow_y[c];
    m[2][c] = h.srow_z[c];
  }
  return m;
}

double column_norm(const Matrix34& m, int c) {
  return std::sqrt(m[0][c] * m[0][c] + m[1][c] * m[1][c] + m[2][c] * m[2][c]);
}

double determinant(const Matrix34& m) {
  return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
         m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
         m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

// ITK 5.2's test: invertible, column lengths equal to pixdim (within 1e-3), and the normalised
// columns orthonormal (within 1e-4).
bool decomposable_without_skew(const Matrix34& s, const nifti_2_header& h) {
  if (determinant(s) == 0.0) return false;
  for (int c = 0; c < 3; ++c) {
    if (std::abs(step(h.pixdim[c + 1]) - column_norm(s, c)) > 1e-3) return false;
  }
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      double dot = 0;
      for (int r = 0; r < 3; ++r) dot += s[r][i] * s[r][j];
      dot /= column_norm(s, i) * column_norm(s, j);
      if (std::abs(dot - (i == j ? 1.0 : 0.0)) > 1e-4) return false;
    }
  }
  return true;
}

bool element_wise_similar(const Matrix34& s, const Matrix34& q) {
  double offset = 0;
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) {
      if (std::abs(s[r][c] - q[r][c]) > 1e-5) return false;
    }
    offset += std::abs(s[r][3] - q[r][3]);
  }
  return offset <= 1e-7;
}

// Same voxel sizes, directions and offsets within 1e-4 (ITK compares SVDs; for matrices that
// passed decomposable_without_skew this is the same question).
bool very_similar(const Matrix34& s, const Matrix34& q) {
  for (int c = 0; c < 3; ++c) {
    const double ns = column_norm(s, c), nq = column_norm(q, c);
    if (std::abs(ns - nq) > 1e-4) return false;
    for (int r = 0; r < 3; ++r) {
      if (std::abs(s[r][c] / ns - q[r][c] / nq) > 1e-4) return false;
    }
  }
  for (int r = 0; r < 3; ++r) {
    if (std::abs(s[r][3] - q[r][3]) > 1e-4) return false;
  }
  return true;
}

// Which of sform and qform ITK 5.2 uses (SetImageIOOrientationFromNIfTI).
Matrix34 chosen_matrix(const nifti_2_header& h, const fs::path& path) {
  const bool has_q = h.qform_code > 0, has_s = h.sform_code > 0;
  Matrix34 q{};
  if (has_q) {
    q = qform_matrix(h);
  } else {
    for (int d = 0; d < 3; ++d) q[d][d] = step(h.pixdim[d + 1]);
  }
  const Matrix34 s = has_s ? sform_matrix(h) : Matrix34{};
  bool prefer_sform = element_wise_similar(s, q);
  if ((!prefer_sform || has_s) && decomposable_without_skew(s, h)) {
    if (!has_q && has_s) {
      prefer_sform = true;
    } else if (h.sform_code == 1) {  // NIFTI_XFORM_SCANNER_ANAT
      prefer_sform = true;
    } else if (has_q && has_s) {
      prefer_sform = very_similar(s, q);
    }
  }
  if (prefer_sform) return s;
  if (has_q) return q;
  throw Error(path.string() +
              ": its sform is not a rotation with the voxel sizes of pixdim and it has no qform; "
              "ITK only supports orthonormal directions");
}

// NIfTI's spatial unit code to millimetres, as ITK scales spacing (not the origin).
double spatial_unit_scale(const nifti_2_header& h) {
  switch (h.xyzt_units & 0x07) {
    case 1:
      return 1000.0;  // metre
    case 3:
      return 0.001;  // micron
    default:
      return 1.0;
  }
}

Geometry geometry_of(const nifti_2_header& h, const std::vector<std::int64_t>& size,
                     const fs::path& path) {
  const int dims = static_cast<int>(size.size());
  const int spatial = std::min(dims, 3);
  Geometry g = identity_geometry(size);
  for (int d = 0; d < dims; ++d) {
    g.spacing[d] = std::abs(step(h.pixdim[d + 1])) * (d < 3 ? spatial_unit_scale(h) : 1.0);
  }
  if (h.qform_code <= 0 && h.sform_code <= 0) return g;
  const Matrix34 m = chosen_matrix(h, path);
  // RAS (NIfTI) to LPS (ITK): negate the first two rows.
  const double flip[3] = {-1.0, -1.0, 1.0};
  for (int r = 0; r < spatial; ++r) g.origin[r] = flip[r] * m[r][3];
  for (int c = 0; c < spatial; ++c) {
    double norm = 0;
    for (int r = 0; r < spatial; ++r) norm += m[r][c] * m[r][c];
    norm = std::sqrt(norm);
    for (int r = 0; r < spatial; ++r) {
      g.direction[r * dims + c] = norm == 0 ? (r == c ? 1.0 : 0.0) : flip[r] * m[r][c] / norm;
    }
  }
  return g;
}

NiftiVoxelLayout voxel_layout(const nifti_2_header& h, bool swapped,
                              const std::vector<std::int64_t>& size, const fs::path& path) {
  check_grid_size(path, size, 1);
  if (h.vox_offset < 540) throw Error(path.string() + ": invalid vox_offset");
  NiftiVoxelLayout layout;
  layout.offset = h.vox_offset;
  layout.datatype = h.datatype;
  layout.swapped = swapped;
  layout.slope = h.scl_slope;
  layout.intercept = h.scl_inter;
  layout.count = 1;
  for (const auto s : size) layout.count *= s;
  return layout;
}

}  // namespace

bool is_nifti2(const fs::path& path) {
  GzFile file(gzopen(path.c_str(), "rb"));
  if (!file) return false;
  nifti_2_header header;
  if (gzread(file.get(), &header, sizeof header) != static_cast<int>(sizeof header)) return false;
  const bool size_ok = header.sizeof_hdr == 540 || header.sizeof_hdr == 469893120;  // swapped
  return size_ok &&
         (std::memcmp(header.magic, "n+2", 3) == 0 || std::memcmp(header.magic, "ni2", 3) == 0);
}

Image read_nifti2(const fs::path& path) {
  GzFile file = open_gz(path);
  const auto [header, swapped] = read_header(file.get(), path);
  const auto size = grid_size(header, path);
  Image image;
  image.geometry = geometry_of(header, size, path);
  auto shape = buffer_shape(image.geometry, 1);
  file.reset();
  image.data = read_nifti_voxels(path, voxel_layout(header, swapped, size, path)).reshape(shape);
  image.source = path.string();
  return image;
}

}  // namespace samri::io::detail
