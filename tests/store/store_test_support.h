#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "samri/store/store_writer.h"

namespace samri::test {

// A small store written without an encoder: `slices` slices of (4, 3, 5) embeddings whose values
// are random normals (seeded), label maps of (2 + id % 3, 3) holding the slice id, two samples per
// slice. Built for the store layer's tests.
struct SyntheticStore {
  store::StoreMetadata metadata;
  std::vector<store::SliceEntry> slices;
  std::vector<store::SampleEntry> samples;
  std::vector<torch::Tensor> embeddings;  // float32, (4, 3, 5) each
  std::vector<torch::Tensor> label_maps;  // int32

  explicit SyntheticStore(int slice_count, store::StoreDtype dtype = store::StoreDtype::kFloat16);
  // Commits the slices `ids` as one shard through `writer`.
  store::ShardRecord commit(store::StoreWriter& writer, const std::vector<std::int64_t>& ids) const;
};

}  // namespace samri::test
