#pragma once

#include <array>
#include <optional>
#include <vector>

#include <torch/torch.h>

#include "samri/model/sam.h"

namespace samri::model {

enum class Precision { kFloat32, kBFloat16, kFloat16 };

// The tensor dtype an encoder runs in at `precision`.
torch::Dtype dtype_of(Precision precision);

// One prompt in ORIGINAL image pixel coordinates (x = column, y = row), as a user gives it.
struct Prompt {
  std::optional<std::array<float, 4>> box;  // x0, y0, x1, y1 (SAM's [min_x, min_y, max_x, max_y])
  std::vector<std::array<float, 2>> points;
  std::vector<int> point_labels;  // 1 positive, 0 negative (same length as points)
  // SAM's mask prompt: (1, 4h, 4w) low-res logits, e.g. a previous Prediction::low_res[m:m+1];
  // undefined for none.
  torch::Tensor mask_input;
};

struct Prediction {
  torch::Tensor logits;   // (M, H, W) float32 at original size, before the threshold
  torch::Tensor iou;      // (M,)
  torch::Tensor low_res;  // (M, 4h, 4w) low-res logits
};

// SamPredictor: set_image runs the encoder once; predict decodes any number of prompts against
// that embedding. The encoder runs at `precision` on `device`; prompt encoder and decoder run in
// float32 on the same device. Results come back on the CPU.
// The constructor moves sam to `device` and converts its image encoder, in place, to
// `precision` (the predictor owns the model from then on). fp16 on a CPU device is refused
// (samri::Error). Prompts are validated: a box with x0 > x1 or y0 > y1, a box or point outside the
// original image, non-finite coordinates, a label other than 1/0/-1, points and labels of different
// lengths, a mask input of the wrong shape, or a prompt with neither box nor points throw
// samri::Error.
class SamPredictor {
 public:
  SamPredictor(Sam sam, torch::Device device = torch::kCPU,
               Precision precision = Precision::kFloat32);

  // image: (H, W, 3) uint8 RGB.
  void set_image(const torch::Tensor& image_hwc_uint8);
  // Use a precomputed embedding (1, C, h, w) for an image of original_size (H, W).
  void set_embedding(const torch::Tensor& embedding, std::array<int, 2> original_size);

  Prediction predict(const Prompt& prompt, bool multimask_output) const;
  // All prompts against the current embedding in one decoder call (every prompt must have the
  // same number of points and either all or none a box, and all or none a mask input).
  std::vector<Prediction> predict_batch(const std::vector<Prompt>& prompts,
                                        bool multimask_output) const;

  const torch::Tensor& embedding() const { return embedding_; }
  std::array<int, 2> input_size() const { return input_size_; }
  std::array<int, 2> original_size() const { return original_size_; }
  Sam& sam() { return sam_; }

 private:
  // Coordinates from original-image pixels to model-input pixels (ResizeLongestSide).
  std::array<float, 2> to_input_space(float x, float y) const;
  SamImpl& model() const { return *sam_.ptr(); }

  Sam sam_;
  torch::Device device_;
  Precision precision_;
  torch::Tensor embedding_;
  std::array<int, 2> input_size_{0, 0};
  std::array<int, 2> original_size_{0, 0};
};

}  // namespace samri::model
