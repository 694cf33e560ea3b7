#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_set>
#include <vector>

#include "samri/store/shard_file.h"
#include "samri/store/store_index.h"
#include "samri/store/store_metadata.h"

namespace samri::store {

struct StoreWriterOptions {
  int part_index = 0;  // --shard I/N: this writer is part I of N
  int part_count = 1;
  // Append to a store made with another checkpoint (encoder) or architecture. Never allowed for
  // another dtype, splits or data: those would make the store inconsistent.
  bool allow_mismatch = false;
};

// Creates a store, or opens one for appending, and commits shards to it. Several writers (the
// parts of a SLURM array) may write to one store at once: each names its files after its part,
// and the files every part writes when it creates the store are identical. A shard becomes
// visible only once its .h5 is complete and its record (.json) is written, so a killed writer
// leaves at most files that the next run of the same part removes.
class StoreWriter {
 public:
  // A new store gets `metadata`, `slices` and `samples` (and the architecture `model_json` as
  // model.json). An existing one must have been made the same way: otherwise samri::Error lists
  // each difference with both values (see StoreWriterOptions::allow_mismatch).
  StoreWriter(const std::filesystem::path& root, const StoreMetadata& metadata,
              const std::vector<SliceEntry>& slices, const std::vector<SampleEntry>& samples,
              StoreWriterOptions options);

  // Slices already embedded (by any part, any earlier run).
  const std::unordered_set<std::int64_t>& embedded() const { return embedded_; }

  // Writes one shard (named <part>-<sequence>.h5) and commits it.
  ShardRecord commit(const ShardContents& contents);

  // Saves this part's run summary as runs/<part>.json.
  void write_run_summary(const std::string& json_text) const;

  const std::filesystem::path& root() const { return root_; }

 private:
  void create(const StoreMetadata& metadata, const std::vector<SliceEntry>& slices,
              const std::vector<SampleEntry>& samples);
  void check_existing(const StoreMetadata& wanted);
  void remove_leftovers() const;

  std::filesystem::path root_;
  StoreWriterOptions options_;
  std::string part_;
  std::int64_t next_sequence_ = 0;
  std::unordered_set<std::int64_t> embedded_;
};

}  // namespace samri::store
