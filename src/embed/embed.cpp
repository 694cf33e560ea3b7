#include "samri/embed/embed.h"

#include <chrono>
#include <ctime>
#include <exception>
#include <future>
#include <thread>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "samri/core/blas_kernels.h"
#include "samri/core/blocking_queue.h"
#include "samri/core/error.h"
#include "samri/core/progress.h"
#include "samri/core/sha256.h"
#include "samri/core/stop_request.h"
#include "samri/embed/embed_plan.h"
#include "samri/embed/slice_encoder.h"
#include "samri/infer/sam_input.h"
#include "samri/io/image_reader.h"
#include "samri/io/slicing.h"
#include "samri/model/image_preprocessing.h"
#include "samri/model/runtime.h"
#include "samri/store/store_writer.h"

namespace samri::embed {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A slice read and prepared for the encoder.
struct ReadSlice {
  std::int64_t id = 0;
  torch::Tensor input;      // (1, 3, S, S) float32, normalised and padded
  torch::Tensor label_map;  // (H, W) int32, SAM's view
};

// A batch the encoder has done.
struct EncodedBatch {
  std::vector<std::int64_t> ids;
  torch::Tensor embeddings;  // (B, C, H, W) float32, CPU
  std::vector<torch::Tensor> label_maps;
};

ReadSlice read_slice(const EmbedPlan& plan, std::int64_t id, const model::SamConfig& config) {
  const store::SliceEntry& slice = plan.slices[id];
  const SliceFiles& files = plan.files[id];
  const io::Image image = io::read_image(files.image);
  const torch::Tensor view = io::sam_view_2d(image);
  if (view.size(0) != slice.height || view.size(1) != slice.width) {
    throw Error(files.image.string() + ": is " + std::to_string(view.size(0)) + "x" +
                std::to_string(view.size(1)) + ", its manifest says " +
                std::to_string(slice.height) + "x" + std::to_string(slice.width));
  }
  const io::Image labels = io::read_label_map(files.labels);
  const torch::Tensor label_view = io::sam_view_2d(labels);
  if (label_view.sizes() != view.sizes()) {
    throw Error(files.labels.string() + ": its size differs from its image " +
                files.image.string());
  }
  const auto input =
      model::prepare_encoder_input(infer::sam_input_image(view), config.image_encoder.img_size,
                                   config.pixel_mean, config.pixel_std);
  return {id, input.tensor, label_view.to(torch::kInt).contiguous()};
}

store::StoreMetadata make_metadata(const EmbedOptions& o, const EmbedPlan& plan,
                                   const model::SamConfig& config, const EncoderInfo& encoder,
                                   store::StoreDtype dtype,
                                   const std::vector<std::string>& splits) {
  store::StoreMetadata m;
  m.checkpoint_file = fs::path(o.checkpoint).filename().string();
  m.checkpoint_sha256 = encoder.checkpoint_sha256;
  m.encoder_fingerprint = encoder.fingerprint;
  m.model_json = config.to_json();
  m.model_name = config.name;
  m.image_size = config.image_encoder.img_size;
  m.embedding_shape = {config.image_encoder.out_chans,
                       config.prompt_encoder.image_embedding_size[0],
                       config.prompt_encoder.image_embedding_size[1]};
  m.precision = o.precision;
  m.dtype = dtype;
  m.splits = splits;
  m.sources = plan.sources;
  m.slices = static_cast<std::int64_t>(plan.slices.size());
  m.samples = static_cast<std::int64_t>(plan.samples.size());
  m.shard_size = o.shard_size;
  return m;
}

void check_options(const EmbedOptions& o) {
  if (o.checkpoint.empty()) throw Error("--checkpoint is required");
  if (o.output.empty()) throw Error("--output is required");
  if (o.batch_size < 1) throw Error("--batch-size must be at least 1");
  if (o.shard_size < 1) throw Error("--shard-size must be at least 1");
  if (o.prefetch < 1) throw Error("--prefetch must be at least 1");
  for (const auto& s : o.splits) {
    if (s != "train" && s != "val" && s != "test") {
      throw Error("--splits: unknown split '" + s + "' (expected train, val, test)");
    }
  }
}

// The writer thread's state: slices gather into a shard until it is full, the commit interval
// has passed, or the run ends.
class ShardAssembler {
 public:
  ShardAssembler(store::StoreWriter& writer, store::StoreDtype dtype, const EmbedPlan& plan,
                 const EmbedOptions& options)
      : writer_(writer), dtype_(dtype), plan_(plan), options_(options) {}

  void add(EncodedBatch batch) {
    for (std::size_t i = 0; i < batch.ids.size(); ++i) {
      ids_.push_back(batch.ids[i]);
      rows_.push_back(batch.embeddings[static_cast<std::int64_t>(i)]);
      labels_.push_back(std::move(batch.label_maps[i]));
      if (static_cast<int>(ids_.size()) >= options_.shard_size) flush();
    }
    if (!ids_.empty() && seconds_since(opened_) >= options_.commit_seconds) flush();
  }

  void flush() {
    if (ids_.empty()) return;
    store::ShardContents c;
    c.dtype = dtype_;
    c.embeddings = store::encode_embeddings(torch::stack(rows_), dtype_);
    c.slice_ids = ids_;
    for (auto id : ids_) c.slice_names.push_back(plan_.slices[id].name);
    c.label_maps = labels_;
    const auto record = writer_.commit(c);
    ++shards_;
    bytes_ += record.bytes;
    committed_ += static_cast<std::int64_t>(ids_.size());
    spdlog::debug("committed {} ({} slices, {} bytes)", record.file, record.rows, record.bytes);
    ids_.clear();
    rows_.clear();
    labels_.clear();
    opened_ = Clock::now();
  }

  std::int64_t shards() const { return shards_; }
  std::int64_t bytes() const { return bytes_; }
  std::int64_t committed() const { return committed_; }

 private:
  store::StoreWriter& writer_;
  store::StoreDtype dtype_;
  const EmbedPlan& plan_;
  const EmbedOptions& options_;
  std::vector<std::int64_t> ids_;
  std::vector<torch::Tensor> rows_;
  std::vector<torch::Tensor> labels_;
  Clock::time_point opened_ = Clock::now();
  std::int64_t shards_ = 0, bytes_ = 0, committed_ = 0;
};

template <typename T>
struct CloseOnExit {
  BlockingQueue<T>& queue;
  explicit CloseOnExit(BlockingQueue<T>& q) : queue(q) {}
  ~CloseOnExit() { queue.close(); }
};

// Runs a pipeline stage on its own thread; the first exception is kept for the caller.
class Stage {
 public:
  template <typename F>
  explicit Stage(F body)
      : thread_([this, body] {
          try {
            body();
          } catch (...) {
            error_ = std::current_exception();
          }
        }) {}
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  std::exception_ptr error() const { return error_; }
  ~Stage() { join(); }

 private:
  std::exception_ptr error_;
  std::thread thread_;
};

nlohmann::json summary_json(const EmbedSummary& s, const EmbedOptions& o) {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return {{"part", o.shard},
          {"finished_at", when},
          {"part_slices", s.part_slices},
          {"already_embedded", s.already_embedded},
          {"encoded", s.encoded},
          {"remaining", s.remaining},
          {"shards_written", s.shards_written},
          {"bytes_written", s.bytes_written},
          {"seconds", s.seconds},
          {"encode_seconds", s.encode_seconds},
          {"slices_per_second", s.seconds > 0 ? double(s.encoded) / s.seconds : 0.0},
          {"stopped_by_signal", s.stopped_by_signal},
          {"device", o.device},
          {"precision", o.precision},
          {"batch_size", o.batch_size},
          {"threads", o.threads}};
}

}  // namespace

EmbedSummary run_embed(const EmbedOptions& o) {
  const auto start = Clock::now();
  check_options(o);
  const auto [part_index, part_count] = parse_shard_spec(o.shard);
  const store::StoreDtype dtype = store::parse_store_dtype(o.store_dtype);
  const model::SamConfig config = model::SamConfig::from_name_or_file(o.model);
  const torch::Device device = model::parse_device(o.device);
  const model::Precision precision = model::parse_precision(o.precision, device);
  if (o.threads > 0) torch::set_num_threads(o.threads);
  if (const auto change = upgrade_openblas_kernels()) spdlog::info("{}", describe(*change));

  const EmbedPlan plan = make_plan(o.data, o.splits);
  std::vector<std::string> splits = o.splits;
  if (splits.empty()) splits = {"train", "val", "test"};
  SliceEncoder encoder(o.checkpoint, config, device, precision);
  store::StoreWriter writer(o.output, make_metadata(o, plan, config, encoder.info(), dtype, splits),
                            plan.slices, plan.samples, {part_index, part_count, o.allow_mismatch});

  EmbedSummary summary;
  summary.planned = static_cast<std::int64_t>(plan.slices.size());
  std::vector<std::int64_t> pending;
  for (auto id : part_slices(summary.planned, part_index, part_count)) {
    ++summary.part_slices;
    if (writer.embedded().count(id)) {
      ++summary.already_embedded;
    } else {
      pending.push_back(id);
    }
  }
  spdlog::info("part {}: {} slices, {} already embedded, {} to encode ({} {}, store {})", o.shard,
               summary.part_slices, summary.already_embedded, pending.size(), o.device, o.precision,
               o.store_dtype);

  BlockingQueue<ReadSlice> to_encode(static_cast<std::size_t>(o.prefetch));
  BlockingQueue<EncodedBatch> to_write(2);
  ShardAssembler assembler(writer, dtype, plan, o);
  // Each stage closes its output when it ends, however it ends, so that no other stage waits on
  // it forever.
  Stage reader([&] {
    CloseOnExit<ReadSlice> close(to_encode);
    for (auto id : pending) {
      if (stop_requested() || !to_encode.push(read_slice(plan, id, config))) break;
    }
  });
  Stage shard_writer([&] {
    CloseOnExit<EncodedBatch> close(to_write);
    while (auto batch = to_write.pop()) assembler.add(std::move(*batch));
    assembler.flush();
  });

  Progress progress("embed", pending.size());
  const auto encode_start = Clock::now();
  std::exception_ptr encode_error;
  try {
    bool more = true;
    while (more && !stop_requested()) {
      EncodedBatch batch;
      std::vector<torch::Tensor> inputs;
      while (static_cast<int>(inputs.size()) < o.batch_size) {
        auto item = to_encode.pop();
        if (!item) {
          more = false;
          break;
        }
        batch.ids.push_back(item->id);
        inputs.push_back(item->input);
        batch.label_maps.push_back(item->label_map);
      }
      if (inputs.empty()) break;
      const auto batch_start = Clock::now();
      batch.embeddings = encoder.encode(torch::cat(inputs));
      spdlog::debug("encoded {} slice(s) in {:.2f} s", inputs.size(), seconds_since(batch_start));
      summary.encoded += static_cast<std::int64_t>(inputs.size());
      progress.advance(inputs.size());
      if (!to_write.push(std::move(batch))) break;
    }
  } catch (...) {
    encode_error = std::current_exception();
  }
  // Whatever happened, commit what was encoded: a rerun then has less to do.
  to_encode.close();
  to_write.close();
  reader.join();
  shard_writer.join();
  if (encode_error) std::rethrow_exception(encode_error);
  if (shard_writer.error()) std::rethrow_exception(shard_writer.error());
  if (reader.error()) std::rethrow_exception(reader.error());

  summary.stopped_by_signal = stop_requested();
  summary.encode_seconds = seconds_since(encode_start);
  summary.seconds = seconds_since(start);
  summary.shards_written = assembler.shards();
  summary.bytes_written = assembler.bytes();
  summary.remaining = static_cast<std::int64_t>(pending.size()) - assembler.committed();
  summary.complete = static_cast<std::int64_t>(writer.embedded().size()) == summary.planned;
  progress.finish();
  writer.write_run_summary(summary_json(summary, o).dump(1) + "\n");
  spdlog::info("part {}: encoded {} slices in {} ({:.2f} slices/s), {} shards, {:.1f} MB written",
               o.shard, summary.encoded, Progress::format_duration(summary.seconds),
               summary.seconds > 0 ? double(summary.encoded) / summary.seconds : 0.0,
               summary.shards_written, double(summary.bytes_written) / 1e6);
  if (summary.stopped_by_signal) {
    spdlog::warn(
        "stopped by signal {} with {} slices of this part left; rerun the same command "
        "to continue",
        stop_signal(), summary.remaining);
  }
  return summary;
}

}  // namespace samri::embed
