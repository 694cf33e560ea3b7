#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace samri::train {

// The samples of one dataset, as indices into the training set's sample list.
struct DatasetSamples {
  std::string name;
  std::vector<std::int64_t> samples;
};

// Per-dataset resampling: every epoch each dataset contributes `quota` samples, drawn with
// replacement when it has fewer and as a fresh subsample without replacement when it has more
// (all of them, shuffled, when keep_large or quota is 0), and the union is shuffled. The epoch is a
// pure function of (seed, epoch), so every rank computes the same one and takes its own part.
class EpochSampler {
 public:
  EpochSampler(std::vector<DatasetSamples> datasets, std::int64_t quota, bool keep_large,
               std::uint64_t seed);

  // Samples per epoch (the same every epoch).
  std::int64_t epoch_size() const { return epoch_size_; }
  // The epoch's samples in order (indices into the training set).
  std::vector<std::int64_t> epoch(std::int64_t epoch) const;

  // Optimiser steps per epoch with a global batch of `batch_size` (the last one may be smaller).
  std::int64_t steps_per_epoch(std::int64_t batch_size) const;
  // The positions (places in the epoch) of step `step_in_epoch` that rank `rank` of `world`
  // takes: position p of the global batch goes to rank p mod world.
  std::vector<std::int64_t> rank_positions(std::int64_t step_in_epoch, std::int64_t batch_size,
                                           int rank, int world) const;

 private:
  std::int64_t take(std::size_t dataset) const;
  std::vector<DatasetSamples> datasets_;
  std::int64_t quota_;
  bool keep_large_;
  std::uint64_t seed_;
  std::int64_t epoch_size_ = 0;
};

}  // namespace samri::train
