#include "samri/infer/infer_2d.h"

#include <iostream>

#include <spdlog/spdlog.h>

#include "samri/core/error.h"
#include "samri/infer/sam_input.h"
#include "samri/io/image_writer.h"
#include "samri/io/slicing.h"

namespace samri::infer {
namespace {

std::string size_text(std::int64_t height, std::int64_t width) {
  return std::to_string(width) + " x " + std::to_string(height) + " (width x height)";
}

}  // namespace

model::Prompt prompt_from_options(const InferOptions& o) {
  model::Prompt prompt;
  prompt.box = o.box;
  for (const auto& p : o.points) {
    prompt.points.push_back({p[0], p[1]});
    prompt.point_labels.push_back(static_cast<int>(p[2]));
  }
  return prompt;
}

namespace {

// (M, H, W) maps in SAM's view → the image written to disk: reference's grid, one component,
// with the M maps along a new last axis when M > 1.
io::Image to_output_image(const torch::Tensor& maps, const io::Image& reference) {
  std::vector<io::Image> planes;
  for (std::int64_t m = 0; m < maps.size(0); ++m) {
    planes.push_back(io::with_data(reference, io::from_sam_view_2d(maps[m], reference)));
  }
  return planes.size() == 1 ? planes[0] : io::stack_2d_images(planes);
}

}  // namespace

void validate_prompt(const model::Prompt& prompt, std::int64_t height, std::int64_t width,
                     const std::string& source) {
  if (prompt.box) {
    const auto& b = *prompt.box;
    if (b[0] > b[2] || b[1] > b[3]) {
      throw Error(source + ": box " + std::to_string(b[0]) + "," + std::to_string(b[1]) + "," +
                  std::to_string(b[2]) + "," + std::to_string(b[3]) +
                  " is inverted (need X0 <= X1 and Y0 <= Y1)");
    }
    // Written as "not inside" so that NaN coordinates fail here too, before the model loads.
    if (!(b[0] >= 0 && b[1] >= 0 && b[2] <= float(width - 1) && b[3] <= float(height - 1))) {
      throw Error(source + ": box leaves the image, which is " + size_text(height, width) +
                  "; corners are 0-based pixel indices (x = column, y = row)");
    }
  }
  for (const auto& p : prompt.points) {
    if (!(p[0] >= 0 && p[1] >= 0 && p[0] <= float(width - 1) && p[1] <= float(height - 1))) {
      throw Error(source + ": point " + std::to_string(p[0]) + "," + std::to_string(p[1]) +
                  " is outside the image, which is " + size_text(height, width));
    }
  }
}

void run_2d(const InferOptions& o, const io::Image& image, model::SamPredictor& predictor) {
  const torch::Tensor view = io::sam_view_2d(image);
  const model::Prompt prompt = prompt_from_options(o);  // validated by run_infer before the load

  predictor.set_image(sam_input_image(view));
  const model::Prediction pred = predictor.predict(prompt, o.multimask);
  const double threshold = predictor.sam()->config().mask_threshold;

  for (std::int64_t m = 0; m < pred.iou.size(0); ++m) {
    const double iou = pred.iou[m].item<double>();
    const auto pixels = (pred.logits[m] > threshold).sum().item<std::int64_t>();
    std::cout << "mask " << m << ": predicted IoU " << iou << ", " << pixels << " pixels\n";
  }
  io::write_image(o.output, to_output_image((pred.logits > threshold).to(torch::kUInt8), image));
  spdlog::info("wrote {}", o.output);
  if (!o.save_logits.empty()) {
    io::Image logits = to_output_image(pred.logits, image);
    io::write_image(o.save_logits, logits);
    spdlog::info("wrote {}", o.save_logits);
  }
}

}  // namespace samri::infer
