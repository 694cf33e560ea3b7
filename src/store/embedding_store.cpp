#include "samri/store/embedding_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "samri/core/atomic_file.h"
#include "samri/core/error.h"
#include "samri/core/json_file.h"
#include "samri/core/sha256.h"
#include "samri/store/store_layout.h"

namespace samri::store {

namespace fs = std::filesystem;
using nlohmann::json;

std::string shard_record_json(const ShardRecord& r) {
  return json{{"file", r.file},
              {"rows", r.rows},
              {"slice_ids", r.slice_ids},
              {"sha256", r.sha256},
              {"bytes", r.bytes}}
             .dump() +
         "\n";
}

std::vector<ShardRecord> read_shard_records(const fs::path& shards_dir) {
  std::vector<ShardRecord> records;
  if (!fs::is_directory(shards_dir)) return records;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(shards_dir)) {
    const auto name = entry.path().filename().string();
    if (name.front() != '.' && entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    const json j = read_json_file(file.string(), "shard record");
    ShardRecord r;
    try {
      r.file = j.at("file").get<std::string>();
      r.rows = j.at("rows").get<std::int64_t>();
      r.slice_ids = j.at("slice_ids").get<std::vector<std::int64_t>>();
      r.sha256 = j.at("sha256").get<std::string>();
      r.bytes = j.at("bytes").get<std::int64_t>();
    } catch (const json::exception& e) {
      throw Error(file.string() + ": damaged shard record: " + e.what());
    }
    if (r.file.find('/') != std::string::npos ||
        r.rows != static_cast<std::int64_t>(r.slice_ids.size())) {
      throw Error(file.string() + ": damaged shard record");
    }
    records.push_back(std::move(r));
  }
  return records;
}

namespace {

// A shard opened for reading: its layout and a file descriptor for pread. Reading rows with
// pread into a buffer the process already uses is faster than first-touch faults on a mapping
// (measured: docs/benchmarks.md), and the bytes are then checked while they are in cache.
struct OpenShard {
  ShardLayout layout;
  int fd = -1;
  ~OpenShard() {
    if (fd >= 0) ::close(fd);
  }
  // Row `row`'s stored bytes into `buffer` (resized), or samri::Error naming `where`.
  void read_row(std::int64_t row, std::vector<char>& buffer, const std::string& where) const {
    const auto size = static_cast<std::size_t>(layout.row_bytes());
    buffer.resize(size);
    auto offset = static_cast<off_t>(layout.embeddings_offset + row * layout.row_bytes());
    std::size_t done = 0;
    while (done < size) {
      const ssize_t n = ::pread(fd, buffer.data() + done, size - done, offset + done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        throw Error(where + ": cannot read row " + std::to_string(row) + " (" +
                    (n < 0 ? std::strerror(errno) : "the file ends early") + ")");
      }
      done += static_cast<std::size_t>(n);
    }
  }
};

std::shared_ptr<OpenShard> open_shard(const fs::path& path, const ShardRecord& record) {
  const std::string where = path.string();
  if (!fs::is_regular_file(path)) throw Error(where + ": shard file is missing");
  const auto size = fs::file_size(path);
  if (static_cast<std::int64_t>(size) != record.bytes) {
    throw Error(where + ": damaged shard: " + std::to_string(size) + " bytes, its record says " +
                std::to_string(record.bytes) + " (run samri-embed verify)");
  }
  auto shard = std::make_shared<OpenShard>();
  shard->layout = read_shard_layout(path);
  if (shard->layout.slice_ids != record.slice_ids) {
    throw Error(where + ": damaged shard: its slice ids differ from its record");
  }
  shard->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (shard->fd < 0) throw Error(where + ": cannot open: " + std::strerror(errno));
  return shard;
}

// How many shards a store keeps open at once: well under the usual 1024 descriptors per process.
constexpr std::size_t kMaxOpenShards = 256;

struct Location {
  std::int32_t shard = -1;
  std::int32_t row = 0;
};

}  // namespace

struct EmbeddingStore::Impl {
  StoreLayout layout;
  StoreOpenOptions options;
  StoreMetadata metadata;
  std::vector<SliceEntry> slices;
  std::vector<SampleEntry> samples;
  std::vector<ShardRecord> records;
  std::vector<Location> locations;
  std::vector<std::string> duplicates;  // for verify
  std::int64_t embedded = 0;

  mutable std::mutex open_mutex;
  mutable std::vector<std::shared_ptr<OpenShard>> open;  // by record; null when closed
  mutable std::vector<std::int32_t> open_order;          // oldest first
  mutable std::unique_ptr<std::atomic<bool>[]> verified;

  // The shard, opened on first use; the oldest is closed (once its readers are done: they hold
  // their own reference) when too many are open.
  std::shared_ptr<OpenShard> shard(std::int32_t index) const {
    std::lock_guard<std::mutex> lock(open_mutex);
    auto& slot = open[index];
    if (!slot) {
      if (open_order.size() >= kMaxOpenShards) {
        open[open_order.front()].reset();
        open_order.erase(open_order.begin());
      }
      slot = open_shard(layout.shards() / records[index].file, records[index]);
      open_order.push_back(index);
    }
    return slot;
  }

  const Location& locate(std::int64_t slice) const {
    if (slice < 0 || slice >= static_cast<std::int64_t>(slices.size())) {
      throw Error(layout.root.string() + ": slice " + std::to_string(slice) +
                  " is not in the store (" + std::to_string(slices.size()) + " slices)");
    }
    const Location& at = locations[slice];
    if (at.shard < 0) {
      throw Error(layout.root.string() + ": slice " + std::to_string(slice) + " (" +
                  slices[slice].name + ") is not embedded yet (rerun samri-embed to finish)");
    }
    return at;
  }
};

EmbeddingStore::EmbeddingStore(const fs::path& root, StoreOpenOptions options)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.layout.root = root;
  s.options = options;
  if (!fs::is_regular_file(s.layout.metadata())) {
    throw Error(root.string() + ": not an embedding store (no store.json)");
  }
  s.metadata = StoreMetadata::from_json(read_text_file(s.layout.metadata(), "store metadata"),
                                        s.layout.metadata().string());
  s.slices = read_slices(s.layout.slices());
  s.samples = read_samples(s.layout.samples());
  if (static_cast<std::int64_t>(s.slices.size()) != s.metadata.slices ||
      static_cast<std::int64_t>(s.samples.size()) != s.metadata.samples) {
    throw Error(root.string() +
                ": slices.jsonl or samples.jsonl does not match store.json's counts");
  }
  for (const auto& sample : s.samples) {
    if (sample.slice < 0 || sample.slice >= s.metadata.slices) {
      throw Error(s.layout.samples().string() + ": a sample names slice " +
                  std::to_string(sample.slice) + ", which does not exist");
    }
  }
  s.records = read_shard_records(s.layout.shards());
  s.locations.assign(s.slices.size(), Location{});
  for (std::size_t r = 0; r < s.records.size(); ++r) {
    const auto& ids = s.records[r].slice_ids;
    for (std::size_t row = 0; row < ids.size(); ++row) {
      const auto id = ids[row];
      if (id < 0 || id >= s.metadata.slices) {
        throw Error((s.layout.shards() / s.records[r].file).string() + ": names slice " +
                    std::to_string(id) + ", which the store does not have");
      }
      if (s.locations[id].shard >= 0) {
        s.duplicates.push_back("slice " + std::to_string(id) + " is in both " +
                               s.records[s.locations[id].shard].file + " and " + s.records[r].file);
        continue;
      }
      s.locations[id] = {static_cast<std::int32_t>(r), static_cast<std::int32_t>(row)};
      ++s.embedded;
    }
  }
  s.open.resize(s.records.size());
  s.verified = std::make_unique<std::atomic<bool>[]>(s.slices.size());
}

EmbeddingStore::~EmbeddingStore() = default;
EmbeddingStore::EmbeddingStore(EmbeddingStore&&) noexcept = default;
EmbeddingStore& EmbeddingStore::operator=(EmbeddingStore&&) noexcept = default;

const fs::path& EmbeddingStore::root() const { return impl_->layout.root; }
const StoreMetadata& EmbeddingStore::metadata() const { return impl_->metadata; }
model::SamConfig EmbeddingStore::config() const {
  return model::SamConfig::from_json_file(impl_->layout.model().string());
}
const std::vector<SliceEntry>& EmbeddingStore::slices() const { return impl_->slices; }
const std::vector<SampleEntry>& EmbeddingStore::samples() const { return impl_->samples; }
const std::vector<ShardRecord>& EmbeddingStore::shards() const { return impl_->records; }
std::int64_t EmbeddingStore::embedded_slices() const { return impl_->embedded; }

bool EmbeddingStore::has(std::int64_t slice) const {
  return slice >= 0 && slice < static_cast<std::int64_t>(impl_->locations.size()) &&
         impl_->locations[slice].shard >= 0;
}

void EmbeddingStore::read_embedding(std::int64_t slice, torch::Tensor out) const {
  const Impl& s = *impl_;
  const Location& at = s.locate(slice);
  const auto shard = s.shard(at.shard);
  const ShardLayout& l = shard->layout;
  const std::string where = (s.layout.shards() / s.records[at.shard].file).string();
  thread_local std::vector<char> buffer;
  shard->read_row(at.row, buffer, where);
  if (out.dim() != 3 || out.size(0) != l.chw[0] || out.size(1) != l.chw[1] ||
      out.size(2) != l.chw[2] || !out.device().is_cpu()) {
    throw Error("read_embedding: the destination must be a CPU tensor of shape [" +
                std::to_string(l.chw[0]) + ", " + std::to_string(l.chw[1]) + ", " +
                std::to_string(l.chw[2]) + "], got " + c10::str(out.sizes()));
  }
  const char* row = buffer.data();
  const std::int64_t channels = l.chw[0];
  const float* scales = l.scales.empty() ? nullptr : l.scales.data() + at.row * channels;
  const float* offsets = l.offsets.empty() ? nullptr : l.offsets.data() + at.row * channels;
  if (s.options.verify_rows && !s.verified[slice].load(std::memory_order_relaxed)) {
    if (row_hash(row, l.row_bytes(), scales, offsets, channels) != l.row_hash[at.row]) {
      throw Error(where + ": row " + std::to_string(at.row) + " (slice " + s.slices[slice].name +
                  ") fails its checksum: the shard is damaged (run samri-embed verify)");
    }
    s.verified[slice].store(true, std::memory_order_relaxed);
  }
  decode_embedding(row, l.dtype, scales, offsets, out);
}

torch::Tensor EmbeddingStore::embedding(std::int64_t slice) const {
  const auto& shape = impl_->metadata.embedding_shape;
  auto out = torch::empty({shape[0], shape[1], shape[2]}, torch::kFloat);
  read_embedding(slice, out);
  return out;
}

void EmbeddingStore::gather(const std::vector<std::int64_t>& slice_ids, torch::Tensor batch) const {
  if (batch.dim() != 4 || batch.size(0) != static_cast<std::int64_t>(slice_ids.size())) {
    throw Error("gather: the batch tensor must be (B, C, H, W) with B = " +
                std::to_string(slice_ids.size()) + ", got " + c10::str(batch.sizes()));
  }
  for (std::size_t i = 0; i < slice_ids.size(); ++i) {
    read_embedding(slice_ids[i], batch[static_cast<std::int64_t>(i)]);
  }
}

torch::Tensor EmbeddingStore::label_map(std::int64_t slice) const {
  const Impl& s = *impl_;
  const Location& at = s.locate(slice);
  return read_shard_label_map(s.layout.shards() / s.records[at.shard].file, at.row);
}

void EmbeddingStore::check_compatible(const std::string& encoder_fingerprint,
                                      const model::SamConfig& config, bool allow_mismatch) const {
  const StoreMetadata& m = impl_->metadata;
  std::vector<std::string> differences;
  if (encoder_fingerprint != m.encoder_fingerprint) {
    differences.push_back("image encoder fingerprint: the store was made with " +
                          m.encoder_fingerprint + " (" + m.checkpoint_file +
                          "), the checkpoint has " + encoder_fingerprint);
  }
  if (json::parse(config.to_json()) != json::parse(m.model_json)) {
    differences.push_back("architecture: the store's is " + json::parse(m.model_json).dump() +
                          ", the model's is " + json::parse(config.to_json()).dump());
  }
  if (differences.empty()) return;
  std::string text = root().string() + ": the store does not fit this model:";
  for (const auto& d : differences) text += "\n  " + d;
  if (!allow_mismatch) {
    throw Error(text +
                "\n(the decoder would see another encoder's embeddings; --allow-mismatch "
                "uses the store anyway)");
  }
  spdlog::warn("{} (used anyway: --allow-mismatch)", text);
}

VerifyReport EmbeddingStore::verify() const {
  const Impl& s = *impl_;
  VerifyReport report;
  report.problems = s.duplicates;
  for (std::size_t r = 0; r < s.records.size(); ++r) {
    const ShardRecord& record = s.records[r];
    const fs::path path = s.layout.shards() / record.file;
    ++report.shards;
    try {
      const std::string digest = sha256_file(path);
      if (digest != record.sha256) {
        report.problems.push_back(path.string() + ": sha256 " + digest +
                                  " differs from its record's " + record.sha256 +
                                  " (the file is damaged)");
        continue;
      }
      const auto shard = s.shard(static_cast<std::int32_t>(r));
      const ShardLayout& l = shard->layout;
      std::vector<char> buffer;
      const std::int64_t channels = l.chw[0];
      for (std::int64_t row = 0; row < l.rows; ++row) {
        shard->read_row(row, buffer, path.string());
        const char* p = buffer.data();
        const float* sc = l.scales.empty() ? nullptr : l.scales.data() + row * channels;
        const float* of = l.offsets.empty() ? nullptr : l.offsets.data() + row * channels;
        if (row_hash(p, l.row_bytes(), sc, of, channels) != l.row_hash[row]) {
          report.problems.push_back(path.string() + ": row " + std::to_string(row) +
                                    " fails its checksum");
        }
        ++report.rows_checked;
      }
      report.bytes_checked += record.bytes;
      const auto& shape = s.metadata.embedding_shape;
      if (l.chw != shape || l.dtype != s.metadata.dtype) {
        report.problems.push_back(path.string() + ": holds " + to_string(l.dtype) + " [" +
                                  std::to_string(l.chw[0]) + ", " + std::to_string(l.chw[1]) +
                                  ", " + std::to_string(l.chw[2]) + "], the store is " +
                                  to_string(s.metadata.dtype));
      }
    } catch (const Error& e) {
      report.problems.push_back(e.what());
    }
  }
  std::map<std::string, bool> recorded;
  for (const auto& record : s.records) recorded[record.file] = true;
  if (fs::is_directory(s.layout.shards())) {
    for (const auto& entry : fs::directory_iterator(s.layout.shards())) {
      const std::string name = entry.path().filename().string();
      if (name.front() == '.') {
        report.problems.push_back(entry.path().string() +
                                  ": a temporary file left by an interrupted run (rerunning that "
                                  "part removes it)");
      } else if (entry.path().extension() == ".h5" && !recorded.count(name)) {
        report.problems.push_back(
            entry.path().string() +
            ": an orphan shard without a record (rerunning its part removes it)");
      }
    }
  }
  const auto missing = static_cast<std::int64_t>(s.slices.size()) - s.embedded;
  if (missing > 0) {
    report.notes.push_back(std::to_string(missing) + " of " + std::to_string(s.slices.size()) +
                           " planned slices are not embedded yet");
  }
  return report;
}

}  // namespace samri::store
