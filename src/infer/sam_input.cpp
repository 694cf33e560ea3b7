#include "samri/infer/sam_input.h"

#include "samri/data/intensity.h"

namespace samri::infer {

torch::Tensor sam_input_image(const torch::Tensor& view) {
  const torch::Tensor u8 = data::normalize_to_uint8(view);
  return u8.dim() == 3 ? u8.contiguous() : data::to_rgb(u8);
}

}  // namespace samri::infer
