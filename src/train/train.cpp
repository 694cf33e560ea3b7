#include <chrono>
#include <cmath>
#include <future>
#include <memory>
#include <sstream>

#include <spdlog/spdlog.h>

#include "samri/core/atomic_file.h"
#include "samri/core/blas_kernels.h"
#include "samri/core/error.h"
#include "samri/core/progress.h"
#include "samri/core/sha256.h"
#include "samri/core/stop_request.h"
#include "samri/dist/communicator.h"
#include "samri/model/checkpoint.h"
#include "samri/model/encoder_fingerprint.h"
#include "samri/model/runtime.h"
#include "samri/train/online_embedder.h"
#include "samri/train/run_directory.h"
#include "samri/train/train_options.h"
#include "samri/train/validation.h"

namespace samri::train {

namespace fs = std::filesystem;

namespace {

constexpr const char* kStateFile = "train_state.pt";
constexpr int kIdentityVersion = 1;

using StorePtr = std::shared_ptr<const store::EmbeddingStore>;

// The config values that do not change what a run computes (so a resume may change them).
bool runtime_only(const std::string& key) {
  for (const char* k :
       {"threads", "max_steps", "device", "val_every_steps", "val_max_samples", "save_every_epochs",
        "state_every_steps", "log_every_steps", "samples_per_pass"}) {
    if (key == k) return true;
  }
  return false;
}

std::vector<StorePtr> open_stores(const std::vector<std::string>& roots) {
  std::vector<StorePtr> out;
  for (const auto& root : roots) out.push_back(std::make_shared<store::EmbeddingStore>(root));
  return out;
}

// Every store must come from the same encoder and architecture as the first training store, and
// the base checkpoint's encoder must be theirs.
void check_stores(const std::vector<StorePtr>& stores, const std::string& fingerprint,
                  const std::string& checkpoint, bool allow_mismatch) {
  const auto& first = stores.front()->metadata();
  for (const auto& s : stores) {
    const auto& m = s->metadata();
    if (m.encoder_fingerprint != first.encoder_fingerprint || m.model_json != first.model_json) {
      throw Error(s->root().string() + ": made with another encoder or architecture than " +
                  stores.front()->root().string() + " (encoder " + m.encoder_fingerprint + " vs " +
                  first.encoder_fingerprint + "); stores of one run must match");
    }
  }
  try {
    stores.front()->check_compatible(fingerprint, stores.front()->config(), allow_mismatch);
  } catch (const Error& e) {
    throw Error(checkpoint + ": " + e.what());
  }
}

PromptRules prompt_rules(const TrainConfig& c, double scale, bool jitter) {
  PromptRules r;
  r.box_jitter = jitter ? c.box_jitter * scale : 0;
  r.box_jitter_min_extent = c.box_jitter_min_extent * scale;
  r.with_point = c.prompt == "box_point";
  r.point_rule = c.point_rule;
  return r;
}

double learning_rate(const TrainConfig& c, std::int64_t step, std::int64_t total) {
  if (c.warmup_steps > 0 && step < c.warmup_steps) {
    return c.lr * static_cast<double>(step + 1) / static_cast<double>(c.warmup_steps);
  }
  if (c.schedule != "cosine") return c.lr;
  const double span = static_cast<double>(std::max<std::int64_t>(1, total - c.warmup_steps));
  const double progress = static_cast<double>(step - c.warmup_steps) / span;
  return c.min_lr + (c.lr - c.min_lr) * 0.5 * (1 + std::cos(M_PI * progress));
}

nlohmann::json run_identity(const TrainOptions& o, const std::string& checkpoint_sha256,
                            const std::vector<StorePtr>& train, const std::vector<StorePtr>& val,
                            const std::vector<StorePtr>& zeroshot) {
  auto describe = [](const std::vector<StorePtr>& stores) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : stores) {
      out.push_back({{"store", fs::absolute(s->root()).lexically_normal().string()},
                     {"encoder", s->metadata().encoder_fingerprint},
                     {"slices", s->metadata().slices},
                     {"samples", s->metadata().samples}});
    }
    return out;
  };
  nlohmann::json config = o.config.to_json();
  for (auto it = config.begin(); it != config.end();) {
    it = runtime_only(it.key()) ? config.erase(it) : std::next(it);
  }
  return {{"version", kIdentityVersion},
          {"checkpoint_sha256", checkpoint_sha256},
          {"train", describe(train)},
          {"val", describe(val)},
          {"zeroshot_val", describe(zeroshot)},
          {"world", o.launch.world},
          {"config", config}};
}

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Where a logging window's time went: waiting for batches (what the prefetch did not hide),
// forward and backward, and the optimiser step.
struct StepTimes {
  double data = 0, compute = 0, optimizer = 0;
};

struct Best {
  std::optional<double> seen, zeroshot;
};

void save_state(const RunDirectory& run, const DecoderTrainer& trainer, std::int64_t step,
                const Best& best) {
  torch::serialize::OutputArchive archive;
  archive.write("step", torch::tensor(step, torch::kInt64));
  archive.write("best_seen", torch::tensor(best.seen.value_or(-1.0), torch::kFloat64));
  archive.write("best_zeroshot", torch::tensor(best.zeroshot.value_or(-1.0), torch::kFloat64));
  trainer.save(archive);
  write_atomically(run.file(kStateFile),
                   [&](const fs::path& tmp) { archive.save_to(tmp.string()); });
}

std::int64_t load_state(const RunDirectory& run, DecoderTrainer& trainer, Best& best) {
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(run.file(kStateFile).string());
    torch::Tensor step, seen, zeroshot;
    archive.read("step", step);
    archive.read("best_seen", seen);
    archive.read("best_zeroshot", zeroshot);
    trainer.load(archive);
    if (seen.item<double>() >= 0) best.seen = seen.item<double>();
    if (zeroshot.item<double>() >= 0) best.zeroshot = zeroshot.item<double>();
    return step.item<std::int64_t>();
  } catch (const c10::Error& e) {
    throw Error(run.file(kStateFile).string() +
                ": cannot read the training state: " + e.what_without_backtrace());
  }
}

void save_checkpoint(const RunDirectory& run, const std::string& name, const model::StateDict& base,
                     const DecoderTrainer& trainer) {
  model::write_checkpoint(run.file(name).string(), with_trained_decoder(base, trainer.master()));
}

// A run started by an older samri-train lacks the config keys added since; it is the same run
// when the new keys keep their defaults, which is what that version did.
nlohmann::json with_later_keys(nlohmann::json existing, const nlohmann::json& wanted) {
  if (!existing.contains("config") || !wanted.contains("config")) return existing;
  const nlohmann::json defaults = TrainConfig{}.to_json();
  for (const auto& item : wanted["config"].items()) {
    if (!existing["config"].contains(item.key()) && defaults.contains(item.key())) {
      existing["config"][item.key()] = defaults[item.key()];
    }
  }
  return existing;
}

// The run directory's state at start: a fresh run, or the step to continue from.
bool prepare_run(const TrainOptions& o, const RunDirectory& run, const nlohmann::json& identity) {
  if (!run.holds_run()) {
    if (o.resume == "yes") {
      throw Error(o.output +
                  ": --resume, but the folder holds no run (no run.json); "
                  "use --resume auto to start one when there is none");
    }
    return false;
  }
  if (o.force) {
    spdlog::warn("{}: --force: removing the run it holds", o.output);
    run.clear();
    return false;
  }
  if (o.resume.empty()) {
    throw Error(o.output +
                ": holds a run already (run.json); use --resume to continue it, "
                "or --force to start over");
  }
  const std::string diff =
      identity_differences(with_later_keys(run.identity(), identity), identity);
  if (!diff.empty()) {
    throw Error(o.output + ": holds a different run, not continued (" + diff +
                "); use another --output, or --force to start over");
  }
  return fs::exists(run.file(kStateFile));
}

class Training {
 public:
  explicit Training(const TrainOptions& o) : o_(o), c_(o.config), run_(o.output) {}
  TrainSummary run();

 private:
  void open();
  void validate_all(std::int64_t step, std::int64_t epoch);
  LossTerms train_step(const std::vector<std::int64_t>& order, std::int64_t step,
                       std::int64_t epoch);
  void save_all(std::int64_t step);
  void connect();
  std::int64_t start_or_resume(const nlohmann::json& identity);
  void metric(const nlohmann::json& line) const;
  LossTerms reduce(LossTerms local);

  const TrainOptions& o_;
  TrainConfig c_;
  RunDirectory run_;
  model::StateDict base_;
  std::vector<StorePtr> train_stores_, val_stores_, zeroshot_stores_;
  std::unique_ptr<SampleSource> train_, seen_, zeroshot_;
  std::unique_ptr<DecoderTrainer> trainer_;
  std::unique_ptr<EpochSampler> sampler_;
  std::shared_ptr<OnlineEmbedder> online_;
  PromptRules train_rules_, val_rules_;
  Best best_;
  StepTimes times_;
  std::int64_t steps_per_epoch_ = 0, total_steps_ = 0;
  std::unique_ptr<dist::Communicator> comm_;
  bool stop_agreed_ = false;  // data-parallel: some rank was asked to stop in this step
  double all_reduce_s_ = 0;
};

// Rank 0 alone checks and prepares the run directory; the others learn its decision (or its
// refusal) through the store, so that no rank starts a run that rank 0 refused.
std::int64_t Training::start_or_resume(const nlohmann::json& identity) {
  std::string decision;
  if (comm_->is_root()) {
    try {
      if (prepare_run(o_, run_, identity)) {
        decision = "resume";
      } else {
        decision = "fresh";
        if (!run_.holds_run()) {
          nlohmann::json stores = nlohmann::json::array();
          for (const auto& s : train_stores_)
            stores.push_back(nlohmann::json::parse(s->metadata().to_json()));
          run_.start(identity, c_.to_json(), train_stores_.front()->metadata().model_json, stores);
        } else {
          // This run, killed before its first resume point: it starts again from step 0.
          run_.truncate_metrics(0);
        }
      }
    } catch (const Error& e) {
      comm_->broadcast(std::string("error:") + e.what());
      throw;
    }
  }
  decision = comm_->broadcast(decision);
  if (decision.rfind("error:", 0) == 0)
    throw Error("rank 0 refused the run: " + decision.substr(6));
  if (decision != "resume") return 0;
  const std::int64_t step = load_state(run_, *trainer_, best_);
  if (comm_->is_root()) run_.truncate_metrics(step);
  spdlog::info("{}: resuming at step {} of {}", o_.output, step, total_steps_);
  return step;
}

void Training::metric(const nlohmann::json& line) const {
  if (comm_->is_root()) run_.append_metric(line);
}

void Training::connect() {
  const dist::LaunchEnv& launch = o_.launch;
  if (launch.world == 1 && o_.backend != "auto") {
    throw Error("--backend " + o_.backend +
                ": a world of one process has nothing to reduce; start the ranks with srun, "
                "torchrun's variables (RANK, WORLD_SIZE, ...) or --rank/--world-size");
  }
  if (launch.world > 1 && c_.batch_size % launch.world != 0) {
    throw Error("--batch-size " + std::to_string(c_.batch_size) + " does not divide over " +
                std::to_string(launch.world) +
                " ranks: it is the global batch, of which each rank takes an equal part");
  }
  if (launch.world > 1 && c_.device == "cuda") {
    // A process sees either all GPUs of its node or, bound by SLURM (--gpus-per-task, gpu-bind),
    // only its own: the local rank modulo what is visible is its GPU in both cases.
    const int visible = static_cast<int>(torch::cuda::device_count());
    c_.device = "cuda:" + std::to_string(visible > 0 ? launch.local_rank % visible : 0);
  }
  comm_ = std::make_unique<dist::Communicator>(
      launch, o_.backend, std::chrono::seconds(o_.dist_timeout_s), model::parse_device(c_.device));
  if (launch.world > 1) {
    spdlog::info("data-parallel: rank {} of {} (from {}), {} over {}:{}, device {}", launch.rank,
                 launch.world, launch.source, comm_->backend(), launch.master_addr,
                 launch.master_port, c_.device);
  }
}

// Data-parallel: the global batch's gradient, loss terms and stop flag, summed over the ranks.
LossTerms Training::reduce(LossTerms local) {
  if (comm_->world() == 1) return local;
  const auto start = Clock::now();
  const std::vector<double> sums = trainer_->all_reduce_gradients(
      *comm_, {local.loss.item<double>(), local.focal.item<double>(), local.dice.item<double>(),
               local.iou.item<double>(), stop_requested() ? 1.0 : 0.0});
  all_reduce_s_ += seconds_between(start, Clock::now());
  stop_agreed_ = sums[4] > 0;
  return {torch::tensor(sums[0], torch::kFloat64), torch::tensor(sums[1], torch::kFloat64),
          torch::tensor(sums[2], torch::kFloat64), torch::tensor(sums[3], torch::kFloat64)};
}

void Training::open() {
  if (o_.train.empty()) throw Error("--train: at least one embedding store is needed");
  if (o_.output.empty()) throw Error("--output: the run directory is needed");
  if (!fs::is_regular_file(o_.checkpoint))
    throw Error(o_.checkpoint + ": checkpoint file not found");
  train_stores_ = open_stores(o_.train);
  val_stores_ = open_stores(o_.val);
  zeroshot_stores_ = open_stores(o_.zeroshot_val);
  base_ = model::read_checkpoint(o_.checkpoint);
  std::vector<StorePtr> all = train_stores_;
  all.insert(all.end(), val_stores_.begin(), val_stores_.end());
  all.insert(all.end(), zeroshot_stores_.begin(), zeroshot_stores_.end());
  check_stores(all, model::encoder_fingerprint(base_), o_.checkpoint, o_.allow_mismatch);

  train_ = std::make_unique<SampleSource>("train");
  seen_ = std::make_unique<SampleSource>("seen");
  zeroshot_ = std::make_unique<SampleSource>("zeroshot");
  std::int64_t missing = 0;
  for (const auto& s : train_stores_) {
    missing += train_->add(s, [](const auto& e) { return e.split == "train"; });
    missing += seen_->add(s, [](const auto& e) { return e.split == "val"; });
  }
  for (const auto& s : val_stores_) missing += seen_->add(s, [](const auto&) { return true; });
  for (const auto& s : zeroshot_stores_)
    missing += zeroshot_->add(s, [](const auto&) { return true; });
  if (missing > 0) spdlog::warn("{} samples left out: their slices are not embedded yet", missing);
  if (train_->empty()) {
    throw Error("no training samples: the --train stores hold no sample of split 'train'");
  }

  const model::SamConfig architecture = train_stores_.front()->config();
  if (o_.embed_online) {
    // Table S6's comparison: the encoder on the slice images at every step, as the store's was.
    online_ = std::make_shared<OnlineEmbedder>(o_.checkpoint, architecture,
                                               model::parse_device(c_.device),
                                               train_stores_.front()->metadata().precision);
    for (auto* source : {train_.get(), seen_.get(), zeroshot_.get()}) {
      source->set_embedder(
          [online = online_](const store::EmbeddingStore& st, std::int64_t slice,
                             torch::Tensor out) { online->embed(st, slice, out); });
    }
    spdlog::info("--embed-online: the image encoder runs on every sample's slice at every step");
  }
  trainer_ = std::make_unique<DecoderTrainer>(architecture, base_, o_.checkpoint, c_,
                                              model::parse_device(c_.device));
  sampler_ =
      std::make_unique<EpochSampler>(train_->datasets(), c_.samples_per_dataset,
                                     c_.keep_large_datasets, static_cast<std::uint64_t>(c_.seed));
  steps_per_epoch_ = sampler_->steps_per_epoch(c_.batch_size);
  total_steps_ = steps_per_epoch_ * c_.epochs;
  if (c_.max_steps > 0) total_steps_ = std::min(total_steps_, c_.max_steps);
  const double scale = architecture.image_encoder.img_size / 1024.0;
  train_rules_ = prompt_rules(c_, scale, true);
  val_rules_ = prompt_rules(c_, scale, false);
}

LossTerms Training::train_step(const std::vector<std::int64_t>& order, std::int64_t step,
                               std::int64_t epoch) {
  const std::int64_t in_epoch = step % steps_per_epoch_;
  const std::vector<std::int64_t> positions =
      sampler_->rank_positions(in_epoch, c_.batch_size, o_.launch.rank, o_.launch.world);
  const std::int64_t global =
      std::min(c_.batch_size, sampler_->epoch_size() - in_epoch * c_.batch_size);
  const auto per_process = static_cast<std::int64_t>(positions.size());
  const std::int64_t micro =
      c_.micro_batch > 0 ? std::min(c_.micro_batch, per_process) : per_process;
  // Loaded as the trainer computes: in passes, each the same gradient as its micro-batch's share,
  // so that only a pass's embeddings (and the next one's, prefetched) are in memory.
  const std::int64_t pass = trainer_->samples_per_pass();
  const std::int64_t unit = pass > 0 ? std::min(micro, pass) : micro;
  const auto seed = static_cast<std::uint64_t>(c_.seed);

  auto load = [&](std::int64_t begin) {
    const std::int64_t end = std::min(per_process, begin + unit);
    std::vector<std::int64_t> keys(positions.begin() + begin, positions.begin() + end), samples;
    for (const auto p : keys) samples.push_back(order[static_cast<std::size_t>(p)]);
    return train_->batch(samples, keys, epoch, seed, train_rules_);
  };
  LossTerms sum = LossTerms::zeros();
  std::future<TrainBatch> next = std::async(std::launch::async, load, 0);
  std::vector<std::int64_t> seen_samples;
  for (std::int64_t begin = 0; begin < per_process; begin += unit) {
    const auto wait_start = Clock::now();
    TrainBatch batch = next.get();
    const auto compute_start = Clock::now();
    times_.data += seconds_between(wait_start, compute_start);
    if (begin + unit < per_process) next = std::async(std::launch::async, load, begin + unit);
    const double weight = static_cast<double>(batch.size()) / static_cast<double>(global);
    const LossTerms t = trainer_->accumulate(batch, weight);
    times_.compute += seconds_between(compute_start, Clock::now());
    sum.add_weighted(t, weight);
    seen_samples.insert(seen_samples.end(), batch.samples.begin(), batch.samples.end());
  }
  sum = reduce(sum);
  auto refuse = [&](const std::string& what) {
    std::ostringstream ids;
    for (std::size_t i = 0; i < seen_samples.size() && i < 8; ++i) {
      ids << (i ? ", " : "") << train_->describe(seen_samples[i]);
    }
    throw Error("step " + std::to_string(step + 1) + ": " + what + " (samples: " + ids.str() +
                (seen_samples.size() > 8 ? ", ..." : "") + "); " + run_.file("last.pth").string() +
                " keeps the last good weights");
  };
  if (!std::isfinite(sum.loss.item<double>())) {
    refuse("the loss is " + std::to_string(sum.loss.item<double>()));
  }
  if (!trainer_->scales_loss()) {
    const std::string bad = trainer_->first_non_finite_gradient();
    if (!bad.empty()) refuse("the gradient of mask_decoder." + bad + " is not finite");
  }
  const auto step_start = Clock::now();
  trainer_->step(learning_rate(c_, step, steps_per_epoch_ * c_.epochs));
  times_.optimizer += seconds_between(step_start, Clock::now());
  return sum;
}

void Training::validate_all(std::int64_t step, std::int64_t epoch) {
  const LossWeights w{c_.focal_weight, c_.dice_weight, c_.focal_gamma, c_.focal_alpha,
                      c_.dice_smooth};
  const std::int64_t batch =
      c_.micro_batch > 0 ? c_.micro_batch : std::min<std::int64_t>(c_.batch_size, 64);
  struct Set {
    const SampleSource* source;
    std::optional<double>* best;
    const char* file;
  };
  for (const Set set : {Set{seen_.get(), &best_.seen, "best_seen.pth"},
                        Set{zeroshot_.get(), &best_.zeroshot, "best_zeroshot.pth"}}) {
    if (set.source->empty()) continue;
    const ValidationResult r =
        validate(*trainer_, *set.source, val_rules_, static_cast<std::uint64_t>(c_.seed), batch,
                 c_.val_max_samples, w, *comm_);
    spdlog::info("step {} validation {}: loss {:.4f}, Dice {:.4f} ({} samples)", step,
                 set.source->name(), r.loss, r.dice, r.samples);
    metric({{"kind", "val"},
            {"step", step},
            {"epoch", epoch},
            {"set", set.source->name()},
            {"loss", r.loss},
            {"dice", r.dice},
            {"samples", r.samples}});
    if (!set.best->has_value() || r.dice > **set.best) {
      *set.best = r.dice;
      if (comm_->is_root()) save_checkpoint(run_, set.file, base_, *trainer_);
    }
  }
}

void Training::save_all(std::int64_t step) {
  if (!comm_->is_root()) return;
  save_checkpoint(run_, "last.pth", base_, *trainer_);
  save_state(run_, *trainer_, step, best_);
}

TrainSummary Training::run() {
  c_.validate();
  if (c_.threads > 0) torch::set_num_threads(c_.threads);
  if (run_openblas_on_calling_thread()) spdlog::debug("OpenBLAS runs on the calling thread");
  if (c_.deterministic) at::globalContext().setDeterministicAlgorithms(true, false);
  connect();
  open();

  const std::string sha = sha256_file(o_.checkpoint);
  const nlohmann::json identity =
      run_identity(o_, sha, train_stores_, val_stores_, zeroshot_stores_);
  comm_->check_same("configuration, checkpoint or stores", identity.dump());
  TrainSummary summary;
  summary.total_steps = total_steps_;
  std::int64_t step = start_or_resume(identity);
  summary.first_step = step;
  spdlog::info(
      "training the mask decoder on {} samples ({} datasets, {} per epoch, {} steps of "
      "{} a step), {} seen-val and {} zero-shot samples; {} {}",
      train_->size(), train_->datasets().size(), sampler_->epoch_size(), steps_per_epoch_,
      c_.batch_size, seen_->size(), zeroshot_->size(), c_.device, c_.precision);
  if (seen_->empty() && zeroshot_->empty())
    spdlog::info("no validation samples: validation skipped");

  Progress progress("train steps", static_cast<std::size_t>(total_steps_ - step));
  std::vector<std::int64_t> order;
  std::int64_t order_epoch = -1;
  auto window_start = std::chrono::steady_clock::now();
  std::int64_t window_samples = 0;
  std::int64_t saved_at = -1;
  while (step < total_steps_) {
    const std::int64_t epoch = step / steps_per_epoch_;
    if (epoch != order_epoch) {
      order = sampler_->epoch(epoch);
      order_epoch = epoch;
    }
    const LossTerms t = train_step(order, step, epoch);
    ++step;
    progress.advance();
    window_samples += std::min(
        c_.batch_size, sampler_->epoch_size() - ((step - 1) % steps_per_epoch_) * c_.batch_size);
    summary.last_loss = t.loss.item<double>();
    if (step % c_.log_every_steps == 0 || step == total_steps_) {
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start).count();
      metric({{"kind", "step"},
              {"step", step},
              {"epoch", epoch},
              {"loss", summary.last_loss},
              {"focal", t.focal.item<double>()},
              {"dice_loss", t.dice.item<double>()},
              {"iou_loss", t.iou.item<double>()},
              {"lr", learning_rate(c_, step - 1, steps_per_epoch_ * c_.epochs)},
              {"samples_per_s", seconds > 0 ? window_samples / seconds : 0.0},
              {"data_wait_s", times_.data},
              {"forward_backward_s", times_.compute},
              {"optimizer_s", times_.optimizer},
              {"all_reduce_s", all_reduce_s_}});
      summary.all_reduce_s += all_reduce_s_;
      all_reduce_s_ = 0;
      times_ = StepTimes();
      window_start = std::chrono::steady_clock::now();
      window_samples = 0;
    }
    const bool epoch_end = step % steps_per_epoch_ == 0;
    if ((c_.val_every_steps > 0 && step % c_.val_every_steps == 0) ||
        (c_.val_every_steps == 0 && epoch_end)) {
      const auto val_start = Clock::now();
      validate_all(step, epoch);
      window_start += Clock::now() - val_start;  // samples/s counts training only
    }
    if (epoch_end && c_.save_every_epochs > 0 && (epoch + 1) % c_.save_every_epochs == 0) {
      char name[32];
      std::snprintf(name, sizeof name, "epoch_%04lld.pth", static_cast<long long>(epoch + 1));
      if (comm_->is_root()) save_checkpoint(run_, name, base_, *trainer_);
    }
    if (comm_->world() > 1 ? stop_agreed_ : stop_requested()) {
      spdlog::warn("stop requested (signal {}): saving at step {}", stop_signal(), step);
      summary.stopped_by_signal = true;
      break;
    }
    if (step % c_.state_every_steps == 0 || epoch_end) {
      save_all(step);
      saved_at = step;
    }
  }
  if (saved_at != step) save_all(step);
  progress.finish();
  summary.steps = step;
  summary.best_seen_dice = best_.seen;
  summary.best_zeroshot_dice = best_.zeroshot;
  if (comm_->world() > 1) {
    for (const auto& p : trainer_->master().mask_decoder->parameters()) {
      summary.all_reduce_bytes += p.numel() * static_cast<std::int64_t>(sizeof(float));
    }
    const std::int64_t done = step - summary.first_step;
    spdlog::info("all-reduce ({}): {:.1f} MB of gradients per step, {:.3f} s per step on average",
                 comm_->backend(), static_cast<double>(summary.all_reduce_bytes) / 1e6,
                 done > 0 ? summary.all_reduce_s / static_cast<double>(done) : 0.0);
  }
  return summary;
}

}  // namespace

TrainSummary run_train(const TrainOptions& options) { return Training(options).run(); }

}  // namespace samri::train
