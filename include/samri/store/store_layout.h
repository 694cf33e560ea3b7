#pragma once

#include <filesystem>
#include <string>

namespace samri::store {

// Where things live inside a store directory. Only relative names: a store can be copied or moved
// (to node-local scratch, say) and still opens.
//   store.json                 metadata (StoreMetadata)
//   model.json                 the architecture, usable as --model
//   slices.jsonl, samples.jsonl  what was planned (SliceEntry, SampleEntry)
//   shards/<part>-<seq>.h5     embeddings; shards/<part>-<seq>.json commits it (ShardRecord)
//   runs/<part>.json           the summary of each part's last run
struct StoreLayout {
  std::filesystem::path root;

  std::filesystem::path metadata() const { return root / "store.json"; }
  std::filesystem::path model() const { return root / "model.json"; }
  std::filesystem::path slices() const { return root / "slices.jsonl"; }
  std::filesystem::path samples() const { return root / "samples.jsonl"; }
  std::filesystem::path shards() const { return root / "shards"; }
  std::filesystem::path runs() const { return root / "runs"; }
};

// "p0003of0010": the name prefix of everything part I of N writes (--shard I/N).
std::string part_name(int index, int count);

}  // namespace samri::store
