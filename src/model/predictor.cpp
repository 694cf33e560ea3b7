#include "samri/model/predictor.h"

#include <cmath>
#include <optional>
#include <string>
#include <utility>

#include "samri/core/error.h"
#include "samri/model/image_preprocessing.h"

namespace samri::model {

torch::Dtype dtype_of(Precision precision) {
  switch (precision) {
    case Precision::kBFloat16:
      return torch::kBFloat16;
    case Precision::kFloat16:
      return torch::kHalf;
    case Precision::kFloat32:
      break;
  }
  return torch::kFloat;
}

namespace {

std::string coords_text(float x, float y) {
  return "(" + std::to_string(x) + ", " + std::to_string(y) + ")";
}

void check_inside(float x, float y, std::array<int, 2> size, const std::string& what) {
  if (!std::isfinite(x) || !std::isfinite(y)) {
    throw Error(what + " has a non-finite coordinate " + coords_text(x, y));
  }
  if (x < 0 || y < 0 || x > size[1] || y > size[0]) {
    throw Error(what + " " + coords_text(x, y) + " lies outside the " + std::to_string(size[1]) +
                "x" + std::to_string(size[0]) + " (width x height) image");
  }
}

void validate_box(const std::array<float, 4>& b, std::array<int, 2> size) {
  check_inside(b[0], b[1], size, "box corner");
  check_inside(b[2], b[3], size, "box corner");
  if (b[0] > b[2] || b[1] > b[3]) {
    throw Error("box [" + std::to_string(b[0]) + ", " + std::to_string(b[1]) + ", " +
                std::to_string(b[2]) + ", " + std::to_string(b[3]) +
                "] is not x0 <= x1 and y0 <= y1 (SAM boxes are [min_x, min_y, max_x, max_y])");
  }
}

void validate_mask_input(const torch::Tensor& mask, const SamConfig& config) {
  const auto& grid = config.prompt_encoder.image_embedding_size;
  if (mask.dim() != 3 || mask.size(0) != 1 || mask.size(1) != 4 * grid[0] ||
      mask.size(2) != 4 * grid[1]) {
    throw Error("mask input " + c10::str(mask.sizes()) + " does not fit model '" + config.name +
                "' (need (1, " + std::to_string(4 * grid[0]) + ", " + std::to_string(4 * grid[1]) +
                ") low-res logits)");
  }
}

void validate_prompt(const Prompt& prompt, std::array<int, 2> size) {
  if (prompt.points.size() != prompt.point_labels.size()) {
    throw Error("prompt has " + std::to_string(prompt.points.size()) + " points but " +
                std::to_string(prompt.point_labels.size()) + " point labels");
  }
  if (!prompt.box && prompt.points.empty()) throw Error("prompt has neither a box nor points");
  if (prompt.box) validate_box(*prompt.box, size);
  for (const auto& p : prompt.points) check_inside(p[0], p[1], size, "point");
  for (int label : prompt.point_labels) {
    if (label < -1 || label > 1) {
      throw Error("point label " + std::to_string(label) +
                  " is not 1 (positive), 0 (negative) or -1 (padding)");
    }
  }
}

// predict_batch decodes all prompts as one tensor batch, so their shapes must agree.
void check_batchable(const std::vector<Prompt>& prompts) {
  for (const auto& p : prompts) {
    if (p.points.size() != prompts.front().points.size() ||
        p.box.has_value() != prompts.front().box.has_value() ||
        p.mask_input.defined() != prompts.front().mask_input.defined()) {
      throw Error(
          "predict_batch: every prompt needs the same number of points and either all or none "
          "a box, and all or none a mask input");
    }
  }
}

}  // namespace

SamPredictor::SamPredictor(Sam sam, torch::Device device, Precision precision)
    : sam_(std::move(sam)), device_(device), precision_(precision) {
  if (precision == Precision::kFloat16 && !device.is_cuda()) {
    throw Error("fp16 needs a CUDA device; use bf16 on CPU");
  }
  sam_->prompt_encoder->to(device, torch::kFloat);
  sam_->mask_decoder->to(device, torch::kFloat);
  // Converted in place: a second, low-precision copy would cost the time of building and
  // initialising another encoder, and its memory.
  sam_->image_encoder->to(device, dtype_of(precision));
  sam_->eval();
}

void SamPredictor::set_image(const torch::Tensor& image_hwc_uint8) {
  if (image_hwc_uint8.dim() != 3 || image_hwc_uint8.size(2) != 3 ||
      image_hwc_uint8.scalar_type() != torch::kByte) {
    throw Error("set_image needs an (H, W, 3) uint8 RGB image, got " +
                c10::str(image_hwc_uint8.sizes()) + " " +
                std::string(c10::toString(image_hwc_uint8.scalar_type())));
  }
  torch::NoGradGuard no_grad;
  const SamConfig& config = sam_->config();
  const EncoderInput input =
      prepare_encoder_input(image_hwc_uint8.contiguous(), config.image_encoder.img_size,
                            config.pixel_mean, config.pixel_std);
  const torch::Tensor x = input.tensor.to(device_, dtype_of(precision_));
  embedding_ = sam_->image_encoder->forward(x).to(torch::kFloat);
  input_size_ = input.input_size;
  original_size_ = {static_cast<int>(image_hwc_uint8.size(0)),
                    static_cast<int>(image_hwc_uint8.size(1))};
}

void SamPredictor::set_embedding(const torch::Tensor& embedding, std::array<int, 2> original_size) {
  const SamConfig& config = sam_->config();
  const auto& grid = config.prompt_encoder.image_embedding_size;
  if (embedding.dim() != 4 || embedding.size(0) != 1 ||
      embedding.size(1) != config.prompt_encoder.embed_dim || embedding.size(2) != grid[0] ||
      embedding.size(3) != grid[1]) {
    throw Error("set_embedding: embedding " + c10::str(embedding.sizes()) +
                " does not fit model '" + config.name + "' (need (1, " +
                std::to_string(config.prompt_encoder.embed_dim) + ", " + std::to_string(grid[0]) +
                ", " + std::to_string(grid[1]) + "))");
  }
  if (original_size[0] < 1 || original_size[1] < 1) {
    throw Error("set_embedding: the original image size must be positive");
  }
  const auto [h, w] =
      resized_shape(original_size[0], original_size[1], config.image_encoder.img_size);
  embedding_ = embedding.detach().to(device_, torch::kFloat);
  input_size_ = {h, w};
  original_size_ = original_size;
}

std::array<float, 2> SamPredictor::to_input_space(float x, float y) const {
  // In double, then rounded once to float, as the reference's numpy float64 transform.
  const double sx = static_cast<double>(input_size_[1]) / original_size_[1];
  const double sy = static_cast<double>(input_size_[0]) / original_size_[0];
  return {static_cast<float>(x * sx), static_cast<float>(y * sy)};
}

Prediction SamPredictor::predict(const Prompt& prompt, bool multimask_output) const {
  return predict_batch({prompt}, multimask_output).front();
}

std::vector<Prediction> SamPredictor::predict_batch(const std::vector<Prompt>& prompts,
                                                    bool multimask_output) const {
  if (!embedding_.defined()) {
    throw Error("SamPredictor: call set_image or set_embedding before predicting");
  }
  if (prompts.empty()) return {};
  for (const auto& p : prompts) {
    validate_prompt(p, original_size_);
    if (p.mask_input.defined()) validate_mask_input(p.mask_input, sam_->config());
  }
  check_batchable(prompts);

  const auto n = static_cast<int64_t>(prompts.size());
  const auto num_points = static_cast<int64_t>(prompts.front().points.size());
  torch::Tensor coords = torch::empty({n, num_points, 2}, torch::kFloat);
  torch::Tensor labels = torch::empty({n, num_points}, torch::kLong);
  torch::Tensor boxes = torch::empty({n, 4}, torch::kFloat);
  auto c = coords.accessor<float, 3>();
  auto l = labels.accessor<int64_t, 2>();
  auto b = boxes.accessor<float, 2>();
  for (int64_t i = 0; i < n; ++i) {
    const Prompt& p = prompts[i];
    for (int64_t j = 0; j < num_points; ++j) {
      const auto xy = to_input_space(p.points[j][0], p.points[j][1]);
      c[i][j][0] = xy[0];
      c[i][j][1] = xy[1];
      l[i][j] = p.point_labels[j];
    }
    if (!p.box) continue;
    for (int corner = 0; corner < 2; ++corner) {
      const auto xy = to_input_space((*p.box)[2 * corner], (*p.box)[2 * corner + 1]);
      b[i][2 * corner] = xy[0];
      b[i][2 * corner + 1] = xy[1];
    }
  }

  torch::NoGradGuard no_grad;
  std::optional<std::pair<torch::Tensor, torch::Tensor>> points;
  if (num_points > 0) points = std::make_pair(coords.to(device_), labels.to(device_));
  std::optional<torch::Tensor> box;
  if (prompts.front().box) box = boxes.to(device_);
  std::optional<torch::Tensor> masks;
  if (prompts.front().mask_input.defined()) {
    std::vector<torch::Tensor> list;
    for (const auto& p : prompts) list.push_back(p.mask_input.to(torch::kFloat));
    masks = torch::stack(list).to(device_);  // (n, 1, 4h, 4w)
  }
  PromptEncoder& prompt_encoder = model().prompt_encoder;
  const auto [sparse, dense] = prompt_encoder->forward(points, box, masks);
  const auto [low_res, iou] = model().mask_decoder->forward(
      embedding_, prompt_encoder->get_dense_pe(), sparse, dense, multimask_output);
  const torch::Tensor logits = sam_->postprocess_masks(low_res, input_size_, original_size_);

  const torch::Tensor logits_cpu = logits.to(torch::kCPU, torch::kFloat);
  const torch::Tensor iou_cpu = iou.to(torch::kCPU, torch::kFloat);
  const torch::Tensor low_res_cpu = low_res.to(torch::kCPU, torch::kFloat);
  std::vector<Prediction> out;
  for (int64_t i = 0; i < n; ++i) out.push_back({logits_cpu[i], iou_cpu[i], low_res_cpu[i]});
  return out;
}

}  // namespace samri::model
