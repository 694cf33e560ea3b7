#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "samri/model/sam_config.h"
#include "samri/store/shard_file.h"
#include "samri/store/store_index.h"
#include "samri/store/store_metadata.h"

namespace samri::store {

struct StoreOpenOptions {
  // Check each row's hash the first time this process reads it (a damaged shard is then found
  // before its numbers are used).
  bool verify_rows = true;
};

// What verify() found. `problems` lists damage (a reader would refuse or miss data); `notes`
// lists what is merely unfinished (slices not embedded yet).
struct VerifyReport {
  std::int64_t shards = 0;
  std::int64_t rows_checked = 0;
  std::int64_t bytes_checked = 0;
  std::vector<std::string> problems;
  std::vector<std::string> notes;
  bool ok() const { return problems.empty(); }
};

// An embedding store opened for reading: the training and evaluation stages read stores and
// nothing else. Opening reads the metadata, the slice and sample tables and the shard records
// (the commit files of every part, so the union of a SLURM array's parts reads directly, with no
// merge step). A row is read with one pread from the page cache into a per-thread buffer (faster
// than first-touch faults on a mapping), checked, and converted into the destination tensor. Every
// read method is safe to call from several threads at once.
class EmbeddingStore {
 public:
  explicit EmbeddingStore(const std::filesystem::path& root, StoreOpenOptions options = {});
  ~EmbeddingStore();
  EmbeddingStore(EmbeddingStore&&) noexcept;
  EmbeddingStore& operator=(EmbeddingStore&&) noexcept;

  const std::filesystem::path& root() const;
  const StoreMetadata& metadata() const;
  // The architecture the store was made with (its model.json).
  model::SamConfig config() const;
  const std::vector<SliceEntry>& slices() const;
  const std::vector<SampleEntry>& samples() const;
  const std::vector<ShardRecord>& shards() const;

  bool has(std::int64_t slice) const;  // embedded (committed)?
  std::int64_t embedded_slices() const;
  bool complete() const { return embedded_slices() == static_cast<std::int64_t>(slices().size()); }

  // The embedding of `slice` as (C, H, W) float32.
  torch::Tensor embedding(std::int64_t slice) const;
  // Into `out`: (C, H, W), float32 or the store's own dtype (fp16/bf16/fp32 stores), any strides.
  void read_embedding(std::int64_t slice, torch::Tensor out) const;
  // Rows of `batch` (B, C, H, W), preallocated by the caller, from `slice_ids` (B of them).
  void gather(const std::vector<std::int64_t>& slice_ids, torch::Tensor batch) const;
  // The label map of `slice` at its original size (SAM's view), (H, W) int32.
  torch::Tensor label_map(std::int64_t slice) const;

  // Reads everything: each shard's sha256 and structure, each row's hash, the index (every
  // planned slice embedded once), and leftover temporary or orphan files.
  VerifyReport verify() const;

  // Refuses (samri::Error, both values in the message) a model whose image encoder or
  // architecture differs from the store's, unless `allow_mismatch` (then it only warns).
  void check_compatible(const std::string& encoder_fingerprint, const model::SamConfig& config,
                        bool allow_mismatch) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Every committed shard record in `shards_dir` (the *.json files), sorted by file name.
std::vector<ShardRecord> read_shard_records(const std::filesystem::path& shards_dir);
std::string shard_record_json(const ShardRecord& record);

}  // namespace samri::store
