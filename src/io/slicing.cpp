#include "samri/io/slicing.h"

#include <algorithm>
#include <string>

#include "samri/core/error.h"

namespace samri::io {

namespace {

void check_volume(const Image& volume, int axis, std::int64_t index) {
  if (volume.geometry.dimension() != 3 || volume.components != 1 || volume.data.dim() != 3) {
    throw Error("slicing needs a 3-D scalar volume" +
                (volume.source.empty() ? std::string() : " (" + volume.source + ")"));
  }
  if (axis < 0 || axis > 2) throw Error("slice axis " + std::to_string(axis) + " is not 0, 1 or 2");
  const std::int64_t count = volume.geometry.size[axis];
  if (index < 0 || index >= count) {
    throw Error("slice " + std::to_string(index) + " is outside 0.." + std::to_string(count - 1) +
                " along axis " + std::to_string(axis));
  }
}

// ITK index axis `axis` is tensor dimension 2 - axis; what remains is (later axis, earlier axis)
// in the tensor, so a transpose gives rows along the earlier ITK axis.
torch::Tensor slice_view(const torch::Tensor& data, int axis, std::int64_t index) {
  return data.select(2 - axis, index).t();
}

bool is_2d(const Image& image) {
  return image.geometry.dimension() == 2 && image.data.dim() == (image.components > 1 ? 3 : 2);
}

}  // namespace

int default_slice_axis(const std::vector<std::int64_t>& size) {
  if (size.empty()) throw Error("default_slice_axis: empty size");
  return static_cast<int>(std::min_element(size.begin(), size.end()) - size.begin());
}

torch::Tensor extract_slice(const Image& volume, int axis, std::int64_t index) {
  check_volume(volume, axis, index);
  return slice_view(volume.data, axis, index).contiguous();
}

void insert_slice(Image& volume, int axis, std::int64_t index, const torch::Tensor& slice) {
  check_volume(volume, axis, index);
  torch::Tensor target = slice_view(volume.data, axis, index);
  if (slice.sizes() != target.sizes()) {
    throw Error("a slice of shape " + c10::str(slice.sizes()) + " does not fit axis " +
                std::to_string(axis) + " of the volume (" + c10::str(target.sizes()) + ")");
  }
  target.copy_(slice);
}

torch::Tensor sam_view_2d(const Image& image) {
  if (!is_2d(image)) throw Error("sam_view_2d needs a 2-D image");
  if (image.natural) return image.data.contiguous();
  return image.data.transpose(0, 1).contiguous();
}

torch::Tensor from_sam_view_2d(const torch::Tensor& view, const Image& reference) {
  if (!is_2d(reference)) throw Error("from_sam_view_2d needs a 2-D reference image");
  const std::int64_t rows =
      reference.natural ? reference.geometry.size[1] : reference.geometry.size[0];
  const std::int64_t cols =
      reference.natural ? reference.geometry.size[0] : reference.geometry.size[1];
  if (view.dim() < 2 || view.dim() > 3 || view.size(0) != rows || view.size(1) != cols) {
    throw Error("an array of shape " + c10::str(view.sizes()) + " is not SAM's view of a " +
                std::to_string(reference.geometry.size[0]) + " x " +
                std::to_string(reference.geometry.size[1]) + " image");
  }
  if (reference.natural) return view.contiguous();
  return view.transpose(0, 1).contiguous();
}

}  // namespace samri::io
