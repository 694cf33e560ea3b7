// samri-train end to end on real slices (Colin27, a 140x170x4 crop with its AAL labels) embedded
// by the tiny reference SAM: checkpoints, learning, resume, and refusing bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <string>

#include <unistd.h>
#include <nlohmann/json.hpp>

#include "samri/core/error.h"
#include "samri/core/stop_request.h"
#include "samri/data/preprocess.h"
#include "samri/embed/embed.h"
#include "samri/model/checkpoint.h"
#include "samri/model/runtime.h"
#include "samri/store/embedding_store.h"
#include "samri/train/decoder_trainer.h"
#include "samri/train/sample_source.h"
#include "samri/train/train_options.h"
#include "samri/train/validation.h"
#include "support/fixtures.h"
#include "support/free_port.h"

namespace fs = std::filesystem;
using samri::test::data_path;
using samri::train::TrainOptions;

namespace {

class TrainRun : public ::testing::Test {
 protected:
  static fs::path root_;

  // Two preprocess folders (a training patient and a validation patient, the same volume) in
  // one store, and the validation folder alone as a second store (zero-shot validation).
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("samri_test_train_suite_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    for (const std::string split : {"train", "val"}) {
      samri::data::PreprocessOptions p;
      p.input_dir.clear();
      std::ofstream(root_ / (split + ".csv"))
          << "image,label,patient\n"
          << data_path("infer/ch2_crop.nii.gz") << "," << data_path("infer/aal_crop.nii.gz")
          << ",colin_" << split << "\n";
      p.list_file = (root_ / (split + ".csv")).string();
      p.dataset = "colin_" + split;
      p.output = (root_ / ("slices_" + split)).string();
      p.peripheral_fraction = 0;
      p.single_patient_split = split;
      samri::data::run_preprocess(p);
    }
    embed({"slices_train", "slices_val"}, "store", tiny_checkpoint());
    embed({"slices_val"}, "store_zeroshot", tiny_checkpoint());
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  static std::string tiny_checkpoint() { return data_path("sam_tiny/sam_tiny.pth"); }

  static void embed(const std::vector<std::string>& folders, const std::string& name,
                    const std::string& checkpoint) {
    samri::embed::EmbedOptions e;
    e.checkpoint = checkpoint;
    e.model = data_path("sam_tiny/sam_tiny.json");
    for (const auto& f : folders) e.data.push_back((root_ / f).string());
    e.output = (root_ / name).string();
    e.store_dtype = "fp32";
    e.threads = 2;
    e.allow_mismatch = true;
    samri::embed::run_embed(e);
  }

  TrainOptions options(const std::string& run) const {
    TrainOptions o;
    o.checkpoint = tiny_checkpoint();
    o.train = {(root_ / "store").string()};
    o.output = (fs::path(dir_) / run).string();
    o.config.batch_size = 8;
    o.config.samples_per_dataset = 16;
    o.config.epochs = 2;
    o.config.lr = 1e-3;
    o.config.threads = 2;
    o.config.log_every_steps = 1;
    return o;
  }

  void SetUp() override {
    dir_ = samri::test::temp_dir();
    samri::clear_stop_request();
  }
  std::string dir_;
};

fs::path TrainRun::root_;

std::string error_of(const TrainOptions& o) {
  try {
    samri::train::run_train(o);
  } catch (const samri::Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::vector<nlohmann::json> metric_lines(const fs::path& run, const std::string& kind) {
  std::ifstream in(run / "metrics.jsonl");
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j["kind"] == kind) out.push_back(j);
  }
  return out;
}

bool same_tensor(const torch::Tensor& a, const torch::Tensor& b) {
  return a.sizes() == b.sizes() && torch::equal(a.to(torch::kFloat32), b.to(torch::kFloat32));
}

TEST_F(TrainRun, WritesFullSamCheckpointsWithTheBaseEncoderAndATrainedDecoder) {
  auto o = options("run");
  o.zeroshot_val = {(root_ / "store_zeroshot").string()};
  const auto summary = samri::train::run_train(o);
  EXPECT_EQ(summary.steps, 4);  // 2 epochs of 16 samples, batch 8
  EXPECT_TRUE(summary.best_seen_dice.has_value());
  EXPECT_TRUE(summary.best_zeroshot_dice.has_value());
  const fs::path run = o.output;
  for (const char* f :
       {"last.pth", "best_seen.pth", "best_zeroshot.pth", "train_state.pt", "metrics.jsonl",
        "metrics.csv", "config.json", "model.json", "stores.json", "run.json"}) {
    EXPECT_TRUE(fs::exists(run / f)) << f;
  }
  EXPECT_EQ(metric_lines(run, "step").size(), 4u);
  EXPECT_EQ(metric_lines(run, "val").size(), 4u);  // seen and zero-shot, each epoch

  const auto base = samri::model::read_checkpoint(tiny_checkpoint());
  const auto last = samri::model::read_checkpoint((run / "last.pth").string());
  ASSERT_EQ(last.size(), base.size());
  int changed = 0;
  for (std::size_t i = 0; i < base.size(); ++i) {
    const auto& [key, value] = base.items()[i];
    EXPECT_EQ(last.items()[i].first, key);
    const bool same = same_tensor(last.at(key), value);
    if (key.rfind("mask_decoder.", 0) == 0) {
      changed += same ? 0 : 1;
    } else {
      EXPECT_TRUE(same) << key;
    }
  }
  EXPECT_GT(changed, 10);
  // samri-infer loads it with the run's model.json.
  const auto config = samri::model::SamConfig::from_json_file((run / "model.json").string());
  EXPECT_NO_THROW(samri::model::load_sam((run / "last.pth").string(), config, torch::kCPU));
}

TEST_F(TrainRun, LearnsSixteenSamplesToDiceAboveNinety) {
  // The check: the tiny reference model, 16 Colin27 samples, lr 1e-3, 500 steps.
  samri::train::SampleSource all("train");
  all.add(std::make_shared<samri::store::EmbeddingStore>((root_ / "store").string()),
          [](const auto& s) { return s.split == "train"; });
  // Objects of at least 200 pixels (about 8 pixels in the tiny model's 32x32 low-res frame):
  // smaller ones are a pixel or none there.
  std::vector<std::int64_t> visible, ids;
  for (std::int64_t i = 0; i < all.size(); ++i) {
    if (all.entry(i).pixels >= 200) visible.push_back(i);
  }
  ASSERT_GE(visible.size(), 16u);
  for (std::size_t i = 0; i < 16; ++i) ids.push_back(visible[i * visible.size() / 16]);
  samri::train::TrainConfig c;
  c.lr = 1e-3;
  samri::train::DecoderTrainer trainer(samri::test::tiny_config(), samri::test::tiny_weights(),
                                       tiny_checkpoint(), c, torch::kCPU);
  samri::train::PromptRules jitter, exact;
  jitter.box_jitter = 20 * 128 / 1024.0;
  const auto batch_at = [&](std::int64_t step, const samri::train::PromptRules& rules) {
    return all.batch(ids, ids, step, 0, rules);
  };
  const samri::train::LossWeights w;
  auto dice = [&] {
    const auto b = batch_at(-1, exact);
    return samri::train::hard_dice(trainer.predict(b), b.targets).mean().item<double>();
  };
  const double before = dice();
  for (std::int64_t step = 0; step < 500; ++step) {
    trainer.accumulate(batch_at(step, jitter), 1.0);
    trainer.step(c.lr);
  }
  const double after = dice();
  EXPECT_LT(before, 0.5);
  EXPECT_GT(after, 0.9) << "Dice before " << before;
}

TEST_F(TrainRun, AResumedRunRepeatsTheUninterruptedLossesBitForBit) {
  auto whole = options("whole");
  whole.config.deterministic = true;
  whole.config.epochs = 3;
  whole.config.state_every_steps = 2;
  samri::train::run_train(whole);

  // Stop at step 2 (its state saved), then resume to the end.
  auto again = whole;
  again.output = (fs::path(dir_) / "again").string();
  again.config.max_steps = 2;
  samri::train::run_train(again);
  again.config.max_steps = 0;
  again.resume = "yes";
  const auto summary = samri::train::run_train(again);
  EXPECT_EQ(summary.first_step, 2);
  EXPECT_EQ(summary.steps, 6);

  const auto a = metric_lines(whole.output, "step");
  const auto b = metric_lines(again.output, "step");
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), 6u);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["step"], b[i]["step"]);
    EXPECT_EQ(a[i]["loss"].get<double>(), b[i]["loss"].get<double>()) << "step " << i + 1;
  }
  EXPECT_TRUE(same_tensor(
      samri::model::read_checkpoint(whole.output + "/last.pth").at("mask_decoder.iou_token.weight"),
      samri::model::read_checkpoint(again.output + "/last.pth")
          .at("mask_decoder.iou_token.weight")));
}

TEST_F(TrainRun, AStopSignalSavesTheStepAndResumeAutoContinues) {
  auto o = options("stopped");
  o.config.epochs = 3;
  samri::request_stop(SIGTERM);
  const auto first = samri::train::run_train(o);
  EXPECT_TRUE(first.stopped_by_signal);
  EXPECT_EQ(first.steps, 1);
  EXPECT_TRUE(fs::exists(fs::path(o.output) / "last.pth"));
  samri::clear_stop_request();
  o.resume = "auto";
  const auto second = samri::train::run_train(o);
  EXPECT_EQ(second.first_step, 1);
  EXPECT_EQ(second.steps, 6);
  // A run killed before its first resume point starts again, without the killed run's lines.
  auto early = options("early");
  early.config.max_steps = 2;
  samri::train::run_train(early);
  fs::remove(fs::path(early.output) / "train_state.pt");
  early.resume = "auto";
  EXPECT_EQ(samri::train::run_train(early).first_step, 0);
  EXPECT_EQ(metric_lines(early.output, "step").size(), 2u);
  // auto in an empty folder starts.
  auto fresh = options("fresh");
  fresh.resume = "auto";
  fresh.config.max_steps = 1;
  EXPECT_EQ(samri::train::run_train(fresh).first_step, 0);
}

TEST_F(TrainRun, ARunDirectoryHoldingARunIsRefusedUnlessResumeOrForce) {
  auto o = options("run");
  o.config.max_steps = 1;
  samri::train::run_train(o);
  EXPECT_NE(error_of(o).find("holds a run already"), std::string::npos);
  auto other = o;
  other.resume = "yes";
  other.config.lr = 5e-4;
  const std::string e = error_of(other);
  EXPECT_NE(e.find("holds a different run"), std::string::npos) << e;
  EXPECT_NE(e.find("/config/lr"), std::string::npos) << e;
  other.resume.clear();
  other.force = true;
  EXPECT_EQ(samri::train::run_train(other).first_step, 0);
  auto missing = options("nothing_here");
  missing.resume = "yes";
  EXPECT_NE(error_of(missing).find("holds no run"), std::string::npos);
}

TEST_F(TrainRun, ARunStartedBeforeAConfigKeyExistedContinuesWhileTheKeyKeepsItsDefault) {
  auto o = options("older");
  o.config.max_steps = 1;
  samri::train::run_train(o);
  const fs::path run_json = fs::path(o.output) / "run.json";
  nlohmann::json identity = nlohmann::json::parse(std::ifstream(run_json));
  ASSERT_TRUE(identity["config"].contains("iou_weight"));
  identity["config"].erase("iou_weight");  // as written before iou_weight existed
  std::ofstream(run_json) << identity.dump(2);
  auto later = o;
  later.resume = "yes";
  later.config.iou_weight = 0.5;
  const std::string e = error_of(later);
  EXPECT_NE(e.find("/config/iou_weight: 0.0 in the run vs 0.5 now"), std::string::npos) << e;
  later.config.iou_weight = 0;
  later.config.max_steps = 2;
  later.config.samples_per_pass = 1;  // memory only: not part of the run's identity
  EXPECT_EQ(samri::train::run_train(later).first_step, 1);
}

TEST_F(TrainRun, BadInputIsRefusedNamingTheProblem) {
  auto o = options("bad");
  o.train = {(root_ / "no_store").string()};
  EXPECT_NE(error_of(o).find("no_store"), std::string::npos);

  // A store of split-val slices only: no training samples.
  o = options("bad");
  o.train = {(root_ / "store_zeroshot").string()};
  EXPECT_NE(error_of(o).find("no training samples"), std::string::npos);
  EXPECT_FALSE(fs::exists(fs::path(o.output) / "run.json"));

  // A base checkpoint whose decoder is of another architecture.
  auto weights = samri::model::read_checkpoint(tiny_checkpoint());
  samri::model::StateDict cut;
  for (const auto& [key, value] : weights.items()) {
    cut.insert(key, key == "mask_decoder.iou_token.weight" ? torch::zeros({1, 16}) : value);
  }
  const std::string other = dir_ + "/other_arch.pth";
  samri::model::write_checkpoint(other, cut);
  o = options("bad");
  o.checkpoint = other;
  const std::string e = error_of(o);
  EXPECT_NE(e.find("mask_decoder.iou_token.weight"), std::string::npos) << e;
  EXPECT_NE(e.find(other), std::string::npos) << e;

  // A checkpoint whose encoder is not the stores'.
  samri::model::StateDict moved;
  for (const auto& [key, value] : weights.items()) {
    moved.insert(key, key == "image_encoder.pos_embed" ? value + 1 : value);
  }
  const std::string encoder = dir_ + "/other_encoder.pth";
  samri::model::write_checkpoint(encoder, moved);
  o = options("bad");
  o.checkpoint = encoder;
  EXPECT_NE(error_of(o).find("encoder"), std::string::npos);
}

TEST_F(TrainRun, StoresOfDifferentEncodersAreNotMixed) {
  auto weights = samri::model::read_checkpoint(tiny_checkpoint());
  samri::model::StateDict moved;
  for (const auto& [key, value] : weights.items()) {
    moved.insert(key, key == "image_encoder.pos_embed" ? value + 1 : value);
  }
  const std::string encoder =
      (root_ / ("other_encoder_" + std::to_string(::getpid()) + ".pth")).string();
  samri::model::write_checkpoint(encoder, moved);
  embed({"slices_val"}, "store_other_encoder", encoder);
  auto o = options("mixed");
  o.val = {(root_ / "store_other_encoder").string()};
  const std::string e = error_of(o);
  EXPECT_NE(e.find("store_other_encoder"), std::string::npos) << e;
  EXPECT_NE(e.find("another encoder"), std::string::npos) << e;
}

TEST_F(TrainRun, ANonFiniteLossStopsNamingTheStepAndSamplesAndKeepsLastGood) {
  auto weights = samri::model::read_checkpoint(tiny_checkpoint());
  samri::model::StateDict broken;
  for (const auto& [key, value] : weights.items()) {
    broken.insert(key, key == "mask_decoder.iou_token.weight" ? value * NAN : value);
  }
  const std::string nan_checkpoint = dir_ + "/nan.pth";
  samri::model::write_checkpoint(nan_checkpoint, broken);
  auto o = options("nan");
  o.checkpoint = nan_checkpoint;
  const std::string e = error_of(o);
  EXPECT_NE(e.find("step 1: the loss is nan"), std::string::npos) << e;
  EXPECT_NE(e.find("label"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(fs::path(o.output) / "last.pth"));
}

TEST_F(TrainRun, EmbedOnlineRunsTheEncoderAndMatchesTheStoredRun) {
  auto stored = options("stored");
  stored.config.max_steps = 2;
  samri::train::run_train(stored);
  auto online = options("online");
  online.config.max_steps = 2;
  online.embed_online = true;
  samri::train::run_train(online);
  const auto a = metric_lines(stored.output, "step");
  const auto b = metric_lines(online.output, "step");
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_NEAR(b[i]["loss"].get<double>(), a[i]["loss"].get<double>(),
                1e-5 * a[i]["loss"].get<double>());
  }
}

}  // namespace

namespace {

// Data-parallel runs as threads of this process, each rank with its own c10d process group.
std::vector<samri::train::TrainSummary> run_ranks(std::vector<TrainOptions> ranks) {
  const int port = samri::test::free_port();
  const int world = static_cast<int>(ranks.size());
  std::vector<std::future<samri::train::TrainSummary>> running;
  for (int r = 0; r < world; ++r) {
    auto& o = ranks[static_cast<std::size_t>(r)];
    o.launch.rank = r;
    o.launch.world = world;
    o.launch.master_port = port;
    o.launch.source = "flags";
    o.dist_timeout_s = 60;
    running.push_back(std::async(std::launch::async, [o] { return samri::train::run_train(o); }));
  }
  std::vector<samri::train::TrainSummary> out;
  for (auto& f : running) out.push_back(f.get());
  return out;
}

bool is_key_bias(const std::string& name) { return name.find("k_proj.bias") != std::string::npos; }

TEST_F(TrainRun, TwoRanksOfBatchFourTrainAsOneRankOfBatchEight) {
  // At the paper's learning rate: AdamW scales each step to about lr whatever the gradient, so a
  // gradient that is mostly rounding noise (summed in another order over two ranks) moves its
  // weight by a fraction of lr either way; at lr 1e-5 that stays below 1e-6.
  auto single = options("single");
  single.config.deterministic = true;
  single.config.lr = 1e-5;
  const auto one = samri::train::run_train(single);
  auto ddp = single;
  ddp.output = (fs::path(dir_) / "ddp").string();
  const auto two = run_ranks({ddp, ddp});
  ASSERT_EQ(one.steps, 4);
  EXPECT_EQ(two[0].steps, 4);
  EXPECT_EQ(two[1].steps, 4);
  EXPECT_EQ(one.all_reduce_bytes, 0);

  // The same losses (rank 0 logs the global batch's), validation and decoder weights. A key
  // projection's bias gets a gradient that is rounding noise only (softmax ignores a constant
  // per query), which AdamW turns into steps of up to lr: those are held to that bound.
  const auto a = metric_lines(single.output, "step"), b = metric_lines(ddp.output, "step");
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_NEAR(a[i]["loss"].get<double>(), b[i]["loss"].get<double>(),
                1e-6 * a[i]["loss"].get<double>())
        << "step " << i + 1;
  }
  const auto va = metric_lines(single.output, "val"), vb = metric_lines(ddp.output, "val");
  ASSERT_EQ(va.size(), vb.size());
  ASSERT_FALSE(va.empty());
  for (std::size_t i = 0; i < va.size(); ++i) {
    EXPECT_EQ(va[i]["samples"], vb[i]["samples"]);
    EXPECT_NEAR(va[i]["dice"].get<double>(), vb[i]["dice"].get<double>(), 1e-6);
  }
  const auto wa = samri::model::read_checkpoint(single.output + "/last.pth");
  const auto wb = samri::model::read_checkpoint(ddp.output + "/last.pth");
  int compared = 0;
  for (const auto& [key, value] : wa.items()) {
    if (key.rfind("mask_decoder.", 0) != 0) continue;
    const double diff = (wb.at(key) - value).abs().max().item<double>();
    if (is_key_bias(key)) {
      EXPECT_LE(diff, 2 * single.config.lr * 4 + 1e-7) << key;
      continue;
    }
    EXPECT_LE(diff, 1e-6 * std::max(1.0, value.abs().max().item<double>())) << key;
    ++compared;
  }
  EXPECT_GT(compared, 50);
  std::int64_t decoder_bytes = 0;  // every float32 gradient of the decoder, once a step
  for (const auto& [key, value] : wa.items()) {
    if (key.rfind("mask_decoder.", 0) == 0) decoder_bytes += value.numel() * 4;
  }
  EXPECT_EQ(two[0].all_reduce_bytes, decoder_bytes);
  EXPECT_FALSE(fs::exists(fs::path(ddp.output) / "logs"));  // logs are the app's, not the library's
}

TEST_F(TrainRun, RanksWithDifferentConfigsOrARefusedRunDirectoryAllStop) {
  auto a = options("mixed");
  auto b = a;
  b.config.lr = 2e-3;
  std::vector<std::string> errors;
  try {
    run_ranks({a, b});
  } catch (const samri::Error& e) {
    errors.push_back(e.what());
  }
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("rank 1 was started with another configuration"), std::string::npos)
      << errors[0];

  // A folder that holds a run: rank 0 refuses it, and rank 1 says so instead of waiting.
  auto first = options("taken");
  first.config.max_steps = 1;
  samri::train::run_train(first);
  auto o = options("taken");
  const int port = samri::test::free_port();
  auto one = o, zero = o;
  zero.launch = {0, 2, 0, "127.0.0.1", port, "flags"};
  one.launch = {1, 2, 0, "127.0.0.1", port, "flags"};
  auto r1 = std::async(std::launch::async, [&] { return error_of(one); });
  const std::string e0 = error_of(zero), e1 = r1.get();
  EXPECT_NE(e0.find("holds a run already"), std::string::npos) << e0;
  EXPECT_NE(e1.find("rank 0 refused the run"), std::string::npos) << e1;
  EXPECT_NE(e1.find("holds a run already"), std::string::npos) << e1;
}

TEST_F(TrainRun, AGlobalBatchThatDoesNotDivideOverTheRanksIsRefused) {
  auto o = options("odd");
  o.config.batch_size = 7;
  o.launch.world = 2;
  EXPECT_NE(error_of(o).find("--batch-size 7 does not divide over 2 ranks"), std::string::npos);
  auto alone = options("alone");
  alone.backend = "gloo";
  EXPECT_NE(error_of(alone).find("a world of one process has nothing to reduce"),
            std::string::npos);
}

}  // namespace
