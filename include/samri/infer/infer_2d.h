#pragma once

#include "samri/infer/infer_options.h"
#include "samri/io/image.h"
#include "samri/model/predictor.h"

namespace samri::infer {

// Checks a 2-D prompt against an image of (height, width) in SAM's view; throws samri::Error
// naming `source` when a box is inverted or leaves the image, or a point is outside it.
void validate_prompt(const model::Prompt& prompt, std::int64_t height, std::int64_t width,
                     const std::string& source);

// The 2-D prompt of options.box and options.points.
model::Prompt prompt_from_options(const InferOptions& options);

// Segments a 2-D image with options.box / options.points and writes the mask(s) (and logits).
void run_2d(const InferOptions& options, const io::Image& image, model::SamPredictor& predictor);

}  // namespace samri::infer
