#include "samri/train/sample_source.h"

#include <map>
#include <optional>
#include <utility>

#include "samri/core/error.h"

namespace samri::train {

std::int64_t SampleSource::add(std::shared_ptr<const store::EmbeddingStore> store,
                               const std::function<bool(const store::SampleEntry&)>& keep) {
  std::int64_t missing = 0;
  const auto& samples = store->samples();
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (!keep(samples[i])) continue;
    if (!store->has(samples[i].slice)) {
      ++missing;
      continue;
    }
    refs_.push_back({stores_.size(), static_cast<std::int64_t>(i)});
  }
  stores_.push_back(std::move(store));
  return missing;
}

std::vector<DatasetSamples> SampleSource::datasets() const {
  std::map<std::string, std::vector<std::int64_t>> groups;
  for (std::int64_t i = 0; i < size(); ++i) groups[entry(i).dataset].push_back(i);
  std::vector<DatasetSamples> out;
  for (auto& [name, samples] : groups) out.push_back({name, std::move(samples)});
  return out;
}

const store::SampleEntry& SampleSource::entry(std::int64_t sample) const {
  const Ref& r = refs_.at(static_cast<std::size_t>(sample));
  return stores_[r.store]->samples()[static_cast<std::size_t>(r.sample)];
}

const store::EmbeddingStore& SampleSource::store_of(std::int64_t sample) const {
  return *stores_[refs_.at(static_cast<std::size_t>(sample)).store];
}

std::string SampleSource::describe(std::int64_t sample) const {
  const Ref& r = refs_.at(static_cast<std::size_t>(sample));
  const auto& s = entry(sample);
  return stores_[r.store]->root().string() + ": " +
         stores_[r.store]->slices()[static_cast<std::size_t>(s.slice)].name + " label " +
         std::to_string(s.label);
}

TrainBatch SampleSource::batch(const std::vector<std::int64_t>& samples,
                               const std::vector<std::int64_t>& keys, std::int64_t epoch,
                               std::uint64_t seed, const PromptRules& rules) const {
  if (samples.empty()) throw Error("an empty batch");
  const auto n = static_cast<std::int64_t>(samples.size());
  const auto& config0 = stores_[refs_.at(samples[0]).store]->metadata();
  const auto& shape = config0.embedding_shape;
  const std::int64_t img_size = config0.image_size;
  const std::int64_t low_res = 4 * shape[1];

  TrainBatch b;
  b.embeddings = torch::empty({n, shape[0], shape[1], shape[2]}, torch::kFloat32);
  b.boxes = torch::empty({n, 4}, torch::kFloat32);
  if (rules.with_point) b.points = torch::empty({n, 1, 2}, torch::kFloat32);
  b.targets = torch::empty({n, 1, low_res, low_res}, torch::kFloat32);
  b.samples = samples;
  auto boxes = b.boxes.accessor<float, 2>();
  std::optional<torch::TensorAccessor<float, 3>> points;
  if (rules.with_point) points.emplace(b.points.accessor<float, 3>());
  // Samples of one slice in a batch read its label map once.
  std::map<std::pair<std::size_t, std::int64_t>, torch::Tensor> label_maps;
  for (std::int64_t i = 0; i < n; ++i) {
    const Ref& r = refs_.at(static_cast<std::size_t>(samples[i]));
    const store::EmbeddingStore& st = *stores_[r.store];
    const auto& s = st.samples()[static_cast<std::size_t>(r.sample)];
    const auto& slice = st.slices()[static_cast<std::size_t>(s.slice)];
    if (embedder_) {
      embedder_(st, s.slice, b.embeddings[i]);
    } else {
      st.read_embedding(s.slice, b.embeddings[i]);
    }
    auto [at, fresh] = label_maps.try_emplace({r.store, s.slice});
    if (fresh) at->second = st.label_map(s.slice);
    const torch::Tensor mask = at->second == static_cast<int>(s.label);
    const InputFrame frame = InputFrame::of(slice.height, slice.width, img_size);
    SampleRandom random(seed, epoch, keys[static_cast<std::size_t>(i)]);
    const SamplePrompt prompt = sample_prompt(s.box, mask, frame, rules, random);
    for (int k = 0; k < 4; ++k) boxes[i][k] = prompt.box[k];
    if (prompt.point) {
      (*points)[i][0][0] = (*prompt.point)[0];
      (*points)[i][0][1] = (*prompt.point)[1];
    }
    b.targets[i][0].copy_(low_res_target(mask, frame, low_res));
  }
  return b;
}

}  // namespace samri::train
