#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "samri/store/store_dtype.h"

namespace samri::store {

constexpr int kStoreFormatVersion = 1;

// One preprocess folder a store was planned from.
struct StoreSource {
  std::string dataset;
  std::string folder;           // as given at embed time (informational: stores are relocatable)
  std::string manifest_sha256;  // of its manifest.jsonl
  std::string rules_json;       // its rules.json, verbatim (the preprocessing rules)
  std::int64_t slices = 0;
  std::int64_t samples = 0;
};

// A store's metadata file (store.json). Everything here is fixed when the store is created, so
// that the parts of a SLURM array write identical files; run summaries live in runs/.
struct StoreMetadata {
  int format_version = kStoreFormatVersion;
  std::string checkpoint_file;  // file name only
  std::string checkpoint_sha256;
  std::string encoder_fingerprint;  // model::encoder_fingerprint
  std::string model_json;           // model::SamConfig::to_json(), the full architecture
  std::string model_name;
  int image_size = 1024;                          // the encoder's input side
  std::array<std::int64_t, 3> embedding_shape{};  // C, H, W
  std::string precision = "fp32";                 // the encoder's
  StoreDtype dtype = StoreDtype::kFloat16;
  Int8Scheme int8_scheme = kDefaultInt8Scheme;
  std::vector<std::string> splits;  // the splits embedded
  std::vector<StoreSource> sources;
  std::int64_t slices = 0;   // planned
  std::int64_t samples = 0;  // planned
  std::int64_t shard_size = 256;

  std::string to_json() const;
  static StoreMetadata from_json(const std::string& text, const std::string& source);
};

// Sentences naming each difference that makes `existing` (a store on disk) unusable for
// `wanted` (what a writer is about to add), both values in each: the encoder fingerprint, the
// architecture, the encoder precision, the dtype, the splits or the data. Empty when they fit.
std::vector<std::string> describe_mismatch(const StoreMetadata& existing,
                                           const StoreMetadata& wanted);

}  // namespace samri::store
