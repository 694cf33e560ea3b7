#include "samri/eval/model_eval.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <iterator>
#include <memory>
#include <regex>
#include <thread>

#include <spdlog/spdlog.h>

#include "samri/core/blas_kernels.h"
#include "samri/core/error.h"
#include "samri/core/progress.h"
#include "samri/core/sha256.h"
#include "samri/dist/communicator.h"
#include "samri/model/checkpoint.h"
#include "samri/model/encoder_fingerprint.h"
#include "samri/model/predictor.h"
#include "samri/model/runtime.h"
#include "samri/model/sam.h"
#include "samri/store/embedding_store.h"
#include "samri/train/sam_decoder.h"
#include "samri/train/sample_source.h"

namespace samri::eval {

namespace {

using StorePtr = std::shared_ptr<const store::EmbeddingStore>;
using Clock = std::chrono::steady_clock;

struct Model {
  std::string name;
  train::SamDecoder decoder{nullptr};
  torch::Dtype dtype = torch::kFloat32;
};

Model load_model(const std::string& name, const std::string& checkpoint,
                 const std::vector<StorePtr>& stores, const ModelEvalOptions& o,
                 torch::Device device) {
  const model::StateDict weights = model::read_checkpoint(checkpoint);
  const std::string fingerprint = model::encoder_fingerprint(weights);
  for (const auto& s : stores) {
    try {
      s->check_compatible(fingerprint, s->config(), o.allow_mismatch);
    } catch (const Error& e) {
      throw Error("--model " + name + "=" + checkpoint + ": " + e.what());
    }
  }
  Model m{name, train::SamDecoder(stores.front()->config()), torch::kFloat32};
  train::load_decoder_weights(*m.decoder, weights, checkpoint);
  m.dtype = model::dtype_of(model::parse_precision(o.precision, device));
  m.decoder->to(device);
  m.decoder->mask_decoder->to(device, m.dtype);
  m.decoder->eval();
  return m;
}

std::vector<StorePtr> open_test_stores(const ModelEvalOptions& o) {
  if (o.test.empty()) throw Error("--test: at least one embedding store is needed");
  std::vector<StorePtr> stores;
  for (const auto& root : o.test) stores.push_back(std::make_shared<store::EmbeddingStore>(root));
  const auto& first = stores.front()->metadata();
  for (const auto& s : stores) {
    if (s->metadata().encoder_fingerprint != first.encoder_fingerprint ||
        s->metadata().model_json != first.model_json) {
      throw Error(s->root().string() + ": made with another encoder or architecture than " +
                  stores.front()->root().string() + "; the test stores of one run must match");
    }
  }
  return stores;
}

// The slice index preprocess writes into slice file names ("..._s0042.nii.gz"); -1 without one.
std::int64_t slice_index_of(const std::string& name) {
  static const std::regex pattern(R"(_s(\d+)\.[A-Za-z.]+$)");
  std::smatch m;
  return std::regex_search(name, m, pattern) ? std::stoll(m[1].str()) : -1;
}

CaseRecord case_of(const train::SampleSource& source, std::int64_t sample) {
  const store::SampleEntry& e = source.entry(sample);
  const store::SliceEntry& slice =
      source.store_of(sample).slices()[static_cast<std::size_t>(e.slice)];
  CaseRecord c;
  c.dataset = e.dataset;
  c.patient = e.patient;
  c.image = slice.name;
  c.slice = slice_index_of(slice.name);
  c.label = e.label;
  c.label_name = e.label_name.value_or("");
  for (int k = 0; k < 4; ++k) c.box[k] = static_cast<double>(e.box[k]);
  return c;
}

Mask to_mask(const torch::Tensor& t) {
  const torch::Tensor b = t.to(torch::kUInt8).contiguous();
  return Mask(b.data_ptr<std::uint8_t>(), b.data_ptr<std::uint8_t>() + b.numel());
}

// Runs `fn(i)` for i in [0, n) on `workers` threads.
void parallel_for(std::int64_t n, int workers, const std::function<void(std::int64_t)>& fn) {
  std::atomic<std::int64_t> next{0};
  std::exception_ptr failure;
  std::mutex lock;
  auto work = [&] {
    for (std::int64_t i; (i = next++) < n;) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> g(lock);
        if (!failure) failure = std::current_exception();
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < std::min<std::int64_t>(workers, n); ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  if (failure) std::rethrow_exception(failure);
}

struct Timing {
  double decode = 0, metrics = 0;
};

class ModelEvaluation {
 public:
  explicit ModelEvaluation(const ModelEvalOptions& o)
      : o_(o), device_(model::parse_device(o.device)) {}

  EvalSummary run() {
    ReportOptions report =
        o_.settings.report_options({{"units", "pixels"},
                                    {"mode", "2-D per slice, at the slice's original size"},
                                    {"surface", "4-connected erosion"},
                                    {"prompts",
                                     "tightest box, no jitter; point: "
                                     "uniform object pixel per case"}});
    report.columns.predicted_iou = true;
    connect();
    torch::set_num_threads(o_.settings.worker_count());
    if (run_openblas_on_calling_thread()) spdlog::debug("OpenBLAS runs on the calling thread");
    stores_ = open_test_stores(o_);
    open_source();
    comm_->check_same("evaluation (models, stores, prompts, splits, seed, batch size)", identity());
    for (const auto& [name, checkpoint] : o_.models) {
      models_.push_back(load_model(name, checkpoint, stores_, o_, device_));
    }
    if (models_.empty()) throw Error("--model: at least one NAME=CHECKPOINT is needed");
    std::vector<CaseRecord> cases = gather(score());
    if (!comm_->is_root()) {
      spdlog::info("rank {}: my cases went to rank 0, which writes the report", comm_->rank());
      return {0, static_cast<std::int64_t>(models_.size()), o_.settings.output};
    }
    report.provenance["models"] = models_json();
    report.provenance["stores"] = stores_json();
    write_report(o_.settings.output, cases, report);
    const double total = timing_.decode + timing_.metrics;
    spdlog::info(
        "{} cases in {:.1f}s ({:.1f} cases/s): decoding {:.0f}%, metrics {:.0f}%; "
        "report in {}",
        cases.size(), total, static_cast<double>(cases.size()) / total,
        100 * timing_.decode / total, 100 * timing_.metrics / total, o_.settings.output.string());
    return {static_cast<std::int64_t>(cases.size()), static_cast<std::int64_t>(models_.size()),
            o_.settings.output};
  }

 private:
  nlohmann::json models_json() const {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [name, checkpoint] : o_.models) {
      out.push_back({{"name", name},
                     {"checkpoint", checkpoint},
                     {"sha256", sha256_file(checkpoint)},
                     {"precision", o_.precision},
                     {"device", o_.device}});
    }
    return out;
  }

  nlohmann::json stores_json() const {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : stores_) {
      const auto& m = s->metadata();
      nlohmann::json manifests = nlohmann::json::array();
      for (const auto& source : m.sources) manifests.push_back(source.manifest_sha256);
      out.push_back({{"root", s->root().string()},
                     {"encoder_fingerprint", m.encoder_fingerprint},
                     {"checkpoint_sha256", m.checkpoint_sha256},
                     {"manifest_sha256", manifests}});
    }
    return out;
  }

  void open_source() {
    source_ = std::make_unique<train::SampleSource>("test");
    std::int64_t missing = 0;
    for (const auto& s : stores_) {
      missing += source_->add(s, [&](const store::SampleEntry& e) {
        return o_.splits.empty() ||
               std::find(o_.splits.begin(), o_.splits.end(), e.split) != o_.splits.end();
      });
    }
    if (missing > 0) spdlog::warn("{} samples left out: their slices are not embedded", missing);
    if (source_->empty()) throw Error("--test: no samples to score (check --splits)");
  }

  std::vector<std::string> prompt_kinds() const {
    if (o_.prompt == "both") return {"box", "box_point"};
    if (o_.prompt != "box" && o_.prompt != "box_point") {
      throw Error("--prompt '" + o_.prompt + "': expected box, box_point or both");
    }
    return {o_.prompt};
  }

  void connect() {
    const dist::LaunchEnv& launch = o_.launch;
    if (launch.world > 1 && device_.is_cuda() && !device_.has_index()) {
      const int visible = static_cast<int>(torch::cuda::device_count());
      device_ = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(
                                                visible > 0 ? launch.local_rank % visible : 0));
    }
    comm_ = std::make_unique<dist::Communicator>(launch, o_.backend,
                                                 std::chrono::seconds(o_.dist_timeout_s), device_);
    if (launch.world > 1) {
      spdlog::info("data-parallel: rank {} of {} (from {}), {} over {}:{}, device {}", launch.rank,
                   launch.world, launch.source, comm_->backend(), launch.master_addr,
                   launch.master_port, device_.str());
    }
  }

  // What every rank must agree on to split one evaluation.
  std::string identity() const {
    nlohmann::json j = {{"models", o_.models},       {"test", o_.test},
                        {"prompt", o_.prompt},       {"splits", o_.splits},
                        {"seed", o_.seed},           {"batch_size", o_.batch_size},
                        {"precision", o_.precision}, {"samples", source_->size()}};
    return j.dump();
  }

  // This rank's batches of cases, each under its index: rank r takes batches r, r + N, ...
  using Batches = std::vector<std::pair<std::int64_t, std::vector<CaseRecord>>>;

  Batches score() {
    const std::vector<std::string> kinds = prompt_kinds();
    const std::int64_t n = source_->size();
    const std::int64_t batches = (n + o_.batch_size - 1) / o_.batch_size;
    std::int64_t mine = 0;
    for (std::int64_t b = comm_->rank(); b < batches; b += comm_->world()) {
      mine += std::min(n, (b + 1) * o_.batch_size) - b * o_.batch_size;
    }
    Progress progress("evaluated samples", static_cast<std::size_t>(mine));
    Batches out;
    for (std::int64_t b = comm_->rank(); b < batches; b += comm_->world()) {
      std::vector<std::int64_t> ids;
      for (std::int64_t i = b * o_.batch_size; i < std::min(n, (b + 1) * o_.batch_size); ++i) {
        ids.push_back(i);
      }
      out.emplace_back(b, std::vector<CaseRecord>{});
      for (const auto& kind : kinds) score_batch(ids, kind, out.back().second);
      progress.advance(ids.size());
    }
    progress.finish();
    return out;
  }

  // Rank 0: every rank's cases in batch order, as one process would have them; others: none.
  std::vector<CaseRecord> gather(Batches mine) const {
    if (comm_->world() > 1) {
      nlohmann::json sent = nlohmann::json::array();
      for (const auto& [b, cases] : mine) {
        nlohmann::json rows = nlohmann::json::array();
        for (const auto& c : cases) rows.push_back(case_to_json(c));
        sent.push_back({b, std::move(rows)});
      }
      mine.clear();
      for (const std::string& text : comm_->gather(sent.dump())) {
        for (const auto& batch : nlohmann::json::parse(text)) {
          std::vector<CaseRecord> cases;
          for (const auto& row : batch.at(1)) cases.push_back(case_from_json(row));
          mine.emplace_back(batch.at(0).get<std::int64_t>(), std::move(cases));
        }
      }
      std::sort(mine.begin(), mine.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
    }
    std::vector<CaseRecord> cases;
    for (auto& batch : mine) {
      std::move(batch.second.begin(), batch.second.end(), std::back_inserter(cases));
    }
    return cases;
  }

  void score_batch(const std::vector<std::int64_t>& ids, const std::string& kind,
                   std::vector<CaseRecord>& out) {
    train::PromptRules rules;
    rules.with_point = kind == "box_point";
    const train::TrainBatch batch = source_->batch(ids, ids, 0, o_.seed, rules);
    for (Model& m : models_) {
      const auto start = Clock::now();
      torch::Tensor logits, iou;
      {
        torch::NoGradGuard no_grad;
        const torch::Tensor points =
            batch.points.defined() ? batch.points.to(device_) : batch.points;
        std::tie(logits, iou) = m.decoder->forward_with_iou(batch.embeddings.to(device_, m.dtype),
                                                            batch.boxes.to(device_), points);
        logits = logits.to(torch::kCPU, torch::kFloat32);
        iou = iou.to(torch::kCPU, torch::kDouble);
      }
      const auto decoded = Clock::now();
      timing_.decode += std::chrono::duration<double>(decoded - start).count();
      const std::size_t first = out.size();
      out.resize(first + ids.size());
      parallel_for(
          static_cast<std::int64_t>(ids.size()), o_.settings.worker_count(), [&](std::int64_t i) {
            CaseRecord& c = out[first + static_cast<std::size_t>(i)];
            c = score_case(ids[static_cast<std::size_t>(i)], logits[i], batch, i, kind, m.name);
            c.predicted_iou = iou[i][0].item<double>();
          });
      timing_.metrics += std::chrono::duration<double>(Clock::now() - decoded).count();
    }
  }

  CaseRecord score_case(std::int64_t sample, const torch::Tensor& low_res,
                        const train::TrainBatch& batch, std::int64_t i, const std::string& kind,
                        const std::string& model) const {
    torch::NoGradGuard no_grad;
    const store::EmbeddingStore& st = source_->store_of(sample);
    const store::SampleEntry& e = source_->entry(sample);
    const store::SliceEntry& slice = st.slices()[static_cast<std::size_t>(e.slice)];
    const auto frame = train::InputFrame::of(slice.height, slice.width, st.metadata().image_size);
    const torch::Tensor logits = model::postprocess_mask_logits(
        low_res.unsqueeze(0), static_cast<int>(frame.img_size),
        {static_cast<int>(frame.resized_height), static_cast<int>(frame.resized_width)},
        {static_cast<int>(slice.height), static_cast<int>(slice.width)});
    const torch::Tensor reference = st.label_map(e.slice) == static_cast<int>(e.label);
    CaseRecord c = case_of(*source_, sample);
    c.prompt = kind;
    c.model = model;
    const Grid grid = Grid::pixels({slice.height, slice.width});
    MetricOptions metric;
    metric.nsd_tolerance = o_.settings.nsd_tolerance;
    if (o_.settings.empty_as_diagonal()) metric.empty_distance = grid_diagonal(grid);
    c.scores = score_masks(to_mask(logits[0][0] > 0), to_mask(reference), grid, metric);
    c.pixels = c.scores.reference_pixels;
    c.area_fraction = static_cast<double>(c.pixels) / static_cast<double>(grid.count());
    if (batch.points.defined()) {
      // Back from the input frame to original pixels (the drawn pixel, so round).
      c.point = {
          std::round(batch.points[i][0][0].item<double>() * static_cast<double>(slice.width) /
                     static_cast<double>(frame.resized_width)),
          std::round(batch.points[i][0][1].item<double>() * static_cast<double>(slice.height) /
                     static_cast<double>(frame.resized_height))};
    }
    return c;
  }

  const ModelEvalOptions& o_;
  torch::Device device_;
  std::unique_ptr<dist::Communicator> comm_;
  std::vector<StorePtr> stores_;
  std::unique_ptr<train::SampleSource> source_;
  std::vector<Model> models_;
  Timing timing_;
};

}  // namespace

EvalSummary run_model_eval(const ModelEvalOptions& options) {
  return ModelEvaluation(options).run();
}

}  // namespace samri::eval
