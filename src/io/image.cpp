#include "samri/io/image.h"

#include <cmath>
#include <sstream>

#include "samri/core/error.h"

namespace samri::io {

std::int64_t Geometry::voxel_count() const {
  std::int64_t count = 1;
  for (const auto s : size) count *= s;
  return count;
}

Geometry identity_geometry(const std::vector<std::int64_t>& size) {
  const std::size_t dim = size.size();
  Geometry geometry;
  geometry.size = size;
  geometry.spacing.assign(dim, 1.0);
  geometry.origin.assign(dim, 0.0);
  geometry.direction.assign(dim * dim, 0.0);
  for (std::size_t d = 0; d < dim; ++d) geometry.direction[d * dim + d] = 1.0;
  return geometry;
}

std::vector<std::int64_t> buffer_shape(const Geometry& geometry, int components) {
  std::vector<std::int64_t> shape(geometry.size.rbegin(), geometry.size.rend());
  if (components > 1) shape.push_back(components);
  return shape;
}

Image with_data(const Image& reference, torch::Tensor data) {
  const auto shape = buffer_shape(reference.geometry, 1);
  auto with_components = shape;
  with_components.push_back(reference.components);
  if (data.sizes() != torch::IntArrayRef(shape) &&
      (reference.components == 1 || data.sizes() != torch::IntArrayRef(with_components))) {
    std::ostringstream message;
    message << "data of shape " << data.sizes() << " does not fit the grid of "
            << (reference.source.empty() ? std::string("the image") : reference.source)
            << " (expected " << torch::IntArrayRef(shape) << ")";
    throw Error(message.str());
  }
  Image image;
  image.geometry = reference.geometry;
  image.components =
      data.dim() == static_cast<std::int64_t>(shape.size()) ? 1 : reference.components;
  image.data = data.contiguous();
  image.natural = reference.natural;
  return image;
}

bool has_non_finite(const Image& image) {
  if (!image.data.defined() || !image.data.is_floating_point()) return false;
  return !torch::isfinite(image.data).all().item<bool>();
}

namespace {

// First index where |a - b| > tolerance, or -1.
int first_difference(const std::vector<double>& a, const std::vector<double>& b, double tolerance) {
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (!(std::abs(a[i] - b[i]) <= tolerance)) return static_cast<int>(i);
  }
  return a.size() == b.size() ? -1 : static_cast<int>(std::min(a.size(), b.size()));
}

std::string join(const std::vector<double>& values) {
  std::ostringstream out;
  out.precision(10);
  for (std::size_t i = 0; i < values.size(); ++i) out << (i ? " " : "") << values[i];
  return out.str();
}

}  // namespace

std::string describe_geometry_mismatch(const Geometry& a, const Geometry& b, double tolerance) {
  if (a.size != b.size) {
    std::ostringstream out;
    out << "size " << torch::IntArrayRef(a.size) << " differs from " << torch::IntArrayRef(b.size);
    return out.str();
  }
  const struct {
    const char* name;
    const std::vector<double>& x;
    const std::vector<double>& y;
  } fields[] = {{"spacing", a.spacing, b.spacing},
                {"origin", a.origin, b.origin},
                {"direction", a.direction, b.direction}};
  for (const auto& field : fields) {
    if (first_difference(field.x, field.y, tolerance) >= 0) {
      return std::string(field.name) + " (" + join(field.x) + ") differs from (" + join(field.y) +
             ")";
    }
  }
  return "";
}

}  // namespace samri::io
