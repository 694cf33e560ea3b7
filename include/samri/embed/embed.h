#pragma once

#include <cstdint>
#include <string>

#include "samri/embed/embed_options.h"

namespace samri::embed {

// What one run_embed did (also saved in the store as runs/<part>.json).
struct EmbedSummary {
  std::int64_t planned = 0;           // slices in the whole store
  std::int64_t part_slices = 0;       // slices of this part (--shard I/N)
  std::int64_t already_embedded = 0;  // of this part, by earlier runs
  std::int64_t encoded = 0;           // by this run
  std::int64_t remaining = 0;         // of this part, still to do (after a stop signal)
  std::int64_t shards_written = 0;
  std::int64_t bytes_written = 0;
  double seconds = 0;         // the whole run, start-up included
  double encode_seconds = 0;  // from the first encoded batch on
  bool stopped_by_signal = false;
  bool complete = false;  // the whole store (every part) is embedded
};

// Stage 1 of SAMRI: runs the frozen image encoder once per distinct slice of the preprocess
// folders and stores the embeddings (store/embedding_store.h describes the store). Reading and
// resizing, encoding, and writing run on three threads, so the encoder never waits on files. A
// rerun, or a run after SIGKILL, continues where the last committed shard ends; SIGTERM or
// SIGUSR1 (with install_stop_handlers) commits the slices in hand and returns early. Bad input
// throws samri::Error naming the file; nothing half-written is left behind.
EmbedSummary run_embed(const EmbedOptions& options);

// `samri-embed info`: counts per dataset and split, dtype, checkpoint, size on disk, runs; as
// text or JSON.
std::string store_info(const std::string& store, bool as_json);

// `samri-embed verify`: reads every shard; prints a report; true when the store is whole
// (undamaged and every planned slice embedded).
bool verify_store(const std::string& store, std::string& report);

}  // namespace samri::embed
