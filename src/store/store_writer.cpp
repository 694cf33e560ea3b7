#include "samri/store/store_writer.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "samri/core/atomic_file.h"
#include "samri/core/error.h"
#include "samri/store/embedding_store.h"
#include "samri/store/store_layout.h"

namespace samri::store {

namespace fs = std::filesystem;

std::string part_name(int index, int count) {
  char text[32];
  std::snprintf(text, sizeof text, "p%04dof%04d", index, count);
  return text;
}

namespace {

void make_directory(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    throw Error(dir.string() + ": cannot create the folder: " + ec.message());
  }
}

}  // namespace

StoreWriter::StoreWriter(const fs::path& root, const StoreMetadata& metadata,
                         const std::vector<SliceEntry>& slices,
                         const std::vector<SampleEntry>& samples, StoreWriterOptions options)
    : root_(root), options_(options), part_(part_name(options.part_index, options.part_count)) {
  const StoreLayout layout{root_};
  if (fs::exists(root_) && !fs::is_directory(root_)) {
    throw Error(root_.string() + ": exists and is not a folder (an embedding store is a folder)");
  }
  if (fs::is_regular_file(layout.metadata())) {
    check_existing(metadata);
  } else {
    if (fs::is_directory(root_) && !fs::is_empty(root_) && !fs::exists(layout.shards())) {
      throw Error(root_.string() + ": is a non-empty folder that is not an embedding store");
    }
    create(metadata, slices, samples);
  }
  remove_leftovers();
  for (const auto& record : read_shard_records(layout.shards())) {
    embedded_.insert(record.slice_ids.begin(), record.slice_ids.end());
    if (record.file.rfind(part_ + "-", 0) == 0) {
      const std::int64_t seq = std::stoll(record.file.substr(part_.size() + 1));
      next_sequence_ = std::max(next_sequence_, seq + 1);
    }
  }
}

void StoreWriter::create(const StoreMetadata& metadata, const std::vector<SliceEntry>& slices,
                         const std::vector<SampleEntry>& samples) {
  const StoreLayout layout{root_};
  make_directory(layout.shards());
  make_directory(layout.runs());
  // Every part of an array writes these same bytes, so concurrent creation is harmless; store.json
  // comes last because it is what marks the folder as a store.
  write_text_atomically(layout.model(), nlohmann::json::parse(metadata.model_json).dump(1) + "\n");
  write_text_atomically(layout.slices(), slices_to_jsonl(slices));
  write_text_atomically(layout.samples(), samples_to_jsonl(samples));
  write_text_atomically(layout.metadata(), metadata.to_json());
  spdlog::info("{}: new embedding store ({} slices, {} samples, {})", root_.string(),
               metadata.slices, metadata.samples, to_string(metadata.dtype));
}

void StoreWriter::check_existing(const StoreMetadata& wanted) {
  const StoreLayout layout{root_};
  const StoreMetadata existing = StoreMetadata::from_json(
      read_text_file(layout.metadata(), "store metadata"), layout.metadata().string());
  std::vector<std::string> hard, soft;
  for (const auto& d : describe_mismatch(existing, wanted)) {
    const bool overridable = d.rfind("image encoder", 0) == 0 || d.rfind("architecture", 0) == 0 ||
                             d.rfind("encoder precision", 0) == 0;
    (overridable ? soft : hard).push_back(d);
  }
  std::string text;
  for (const auto& d : hard) text += "\n  " + d;
  for (const auto& d : soft) text += "\n  " + d;
  if (!hard.empty()) {
    throw Error(root_.string() + ": this store was made differently:" + text +
                "\n(choose another --output for a new store)");
  }
  if (!soft.empty() && !options_.allow_mismatch) {
    throw Error(root_.string() + ": this store was made with another model:" + text +
                "\n(choose another --output, or --allow-mismatch to append anyway)");
  }
  if (!soft.empty()) spdlog::warn("{}: appending despite:{}", root_.string(), text);
  spdlog::info("{}: continuing the embedding store", root_.string());
}

void StoreWriter::remove_leftovers() const {
  // Only this part's: another part may be writing its own temporary file right now.
  const StoreLayout layout{root_};
  std::vector<fs::path> records;
  for (const auto& entry : fs::directory_iterator(layout.shards())) {
    const std::string name = entry.path().filename().string();
    const bool temporary = name.rfind("." + part_ + "-", 0) == 0;
    const bool orphan = name.rfind(part_ + "-", 0) == 0 && entry.path().extension() == ".h5" &&
                        !fs::exists(fs::path(entry.path()).replace_extension(".json"));
    if (temporary || orphan) {
      spdlog::info("removing {} left by an interrupted run", entry.path().string());
      std::error_code ec;
      fs::remove(entry.path(), ec);
      if (ec) throw Error(entry.path().string() + ": cannot remove: " + ec.message());
    }
  }
}

ShardRecord StoreWriter::commit(const ShardContents& contents) {
  char sequence[16];
  std::snprintf(sequence, sizeof sequence, "%06lld", static_cast<long long>(next_sequence_));
  const std::string stem = part_ + "-" + sequence;
  const StoreLayout layout{root_};
  ShardRecord record = write_shard(layout.shards() / (stem + ".h5"), contents);
  try {
    write_text_atomically(layout.shards() / (stem + ".json"), shard_record_json(record));
  } catch (...) {
    std::error_code ignored;
    fs::remove(layout.shards() / (stem + ".h5"), ignored);
    throw;
  }
  ++next_sequence_;
  embedded_.insert(contents.slice_ids.begin(), contents.slice_ids.end());
  return record;
}

void StoreWriter::write_run_summary(const std::string& json_text) const {
  write_text_atomically(StoreLayout{root_}.runs() / (part_ + ".json"), json_text);
}

}  // namespace samri::store
