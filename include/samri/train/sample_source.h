#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "samri/store/embedding_store.h"
#include "samri/train/decoder_trainer.h"
#include "samri/train/epoch_sampler.h"
#include "samri/train/sample_prompt.h"

namespace samri::train {

// The samples of one or more embedding stores (which share an architecture), as one list: a
// training set or a validation set. Builds decoder batches: stored embeddings, the prompts drawn
// for each sample, and the low-res targets derived from the stored label maps.
class SampleSource {
 public:
  explicit SampleSource(std::string name) : name_(std::move(name)) {}

  // Adds the samples of `store` that `keep` accepts and whose slice is embedded; returns how many
  // were left out because their slice is not (an unfinished store).
  std::int64_t add(std::shared_ptr<const store::EmbeddingStore> store,
                   const std::function<bool(const store::SampleEntry&)>& keep);

  const std::string& name() const { return name_; }
  std::int64_t size() const { return static_cast<std::int64_t>(refs_.size()); }
  bool empty() const { return refs_.empty(); }
  // The samples grouped by dataset name (for the per-dataset resampling).
  std::vector<DatasetSamples> datasets() const;
  const store::SampleEntry& entry(std::int64_t sample) const;
  // The store a sample comes from (its slices, label maps and metadata).
  const store::EmbeddingStore& store_of(std::int64_t sample) const;
  // "<store>: <slice name> label <value>" for messages.
  std::string describe(std::int64_t sample) const;

  // Embeddings computed by `embedder` instead of read from the stores (--embed-online).
  using Embedder =
      std::function<void(const store::EmbeddingStore&, std::int64_t slice, torch::Tensor out)>;
  void set_embedder(Embedder embedder) { embedder_ = std::move(embedder); }

  // A batch of `samples`; sample i's prompt is drawn from SampleRandom(seed, epoch, keys[i]).
  TrainBatch batch(const std::vector<std::int64_t>& samples, const std::vector<std::int64_t>& keys,
                   std::int64_t epoch, std::uint64_t seed, const PromptRules& rules) const;

 private:
  struct Ref {
    std::size_t store = 0;
    std::int64_t sample = 0;
  };
  std::string name_;
  std::vector<std::shared_ptr<const store::EmbeddingStore>> stores_;
  std::vector<Ref> refs_;
  Embedder embedder_;
};

}  // namespace samri::train
