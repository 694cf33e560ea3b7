#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "samri/model/predictor.h"

namespace samri::data {

// A prompt on one slice of a volume, and the label its mask is written with.
struct SlicePrompt {
  std::int64_t slice = 0;
  std::int64_t label = 1;
  model::Prompt prompt;
  bool propagate = false;  // a seed: segment this slice, then carry the object through the volume
};

struct PromptsFile {
  std::optional<int> axis;  // "axis", when the file gives one
  std::vector<SlicePrompt> prompts;
};

// Reads a prompts file:
//   {"axis": 2, "prompts": [{"slice": 40, "label": 3, "box": [10, 20, 60, 80],
//                            "points": [[30, 50, 1], [12, 8, 0]], "propagate": false}]}
// Each prompt needs a box or at least one point; a point's third value (label) defaults to 1.
// A propagated prompt (a seed) needs a box. Seeds of one label are one object; a label may not be
// both propagated and not, nor have two seeds on one slice.
// Errors name the file and the offending prompt.
PromptsFile read_prompts_file(const std::string& path);

// The seed rules above; throws samri::Error naming `source` and the two prompts at odds.
void check_propagated_labels(const std::vector<SlicePrompt>& prompts, const std::string& source);

}  // namespace samri::data
