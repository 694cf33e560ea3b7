#pragma once

#include "samri/infer/infer_options.h"

namespace samri::infer {

// Segments options.input with SAM and writes options.output (atomically): a 0/1 mask for a 2-D
// image (three masks along a new last axis with multimask), or a label volume for a 3-D input
// prompted by a prompts file or by the boxes of a label volume. Throws samri::Error on bad input.
void run_infer(const InferOptions& options);

}  // namespace samri::infer
