#pragma once

#include <cstdint>
#include <string>

#include "samri/train/decoder_trainer.h"
#include "samri/train/sample_source.h"

namespace samri::train {

struct ValidationResult {
  double loss = 0;  // the training loss, sample-weighted mean
  double dice = 0;  // mean per-sample Dice of the thresholded low-res logits
  std::int64_t samples = 0;
};

// The decoder on `source` without gradient: prompts from `rules` (no jitter for validation) with
// each sample's point drawn from (seed, sample index), so every validation sees the same prompts.
// `max_samples` > 0 takes that many samples spread evenly over the set. With several ranks each
// decodes every world-th of them and the sums are reduced: every rank gets the whole set's result.
ValidationResult validate(DecoderTrainer& trainer, const SampleSource& source,
                          const PromptRules& rules, std::uint64_t seed, std::int64_t batch,
                          std::int64_t max_samples, const LossWeights& weights,
                          dist::Communicator& comm);

}  // namespace samri::train
