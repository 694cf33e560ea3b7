// samri-eval's model mode on real slices (the Colin27 crop with AAL labels) embedded by the tiny
// reference SAM: its masks equal SamPredictor's on the same stored embedding and box, prompts are
// shared by the models, and foreign encoders are refused.
#include "samri/eval/model_eval.h"

#include <unistd.h>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "samri/core/error.h"
#include "samri/eval/mask_metrics.h"
#include "samri/model/checkpoint.h"
#include "samri/model/predictor.h"
#include "samri/model/sam.h"
#include "samri/store/embedding_store.h"
#include "support/fixtures.h"
#include "support/free_port.h"
#include "support/tiny_colin_store.h"

namespace samri::eval {
namespace {

namespace fs = std::filesystem;
using samri::test::data_path;

std::vector<std::map<std::string, std::string>> read_csv(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  std::istringstream h(line);
  for (std::string f; std::getline(h, f, ',');) header.push_back(f);
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    std::istringstream fields(line + ",");
    std::map<std::string, std::string> row;
    for (const auto& name : header) std::getline(fields, row[name], ',');
    rows.push_back(row);
  }
  return rows;
}

class ModelEval : public ::testing::Test {
 protected:
  static fs::path root_;

  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("samri_test_eval_suite_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    samri::test::make_tiny_colin_store(root_.string(), "test");
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  void SetUp() override { dir_ = samri::test::temp_dir(); }

  ModelEvalOptions options() const {
    ModelEvalOptions o;
    o.models = {{"tiny", data_path("sam_tiny/sam_tiny.pth")}};
    o.test = {(root_ / "store").string()};
    o.settings.output = fs::path(dir_) / "out";
    o.settings.threads = 2;
    o.batch_size = 5;
    return o;
  }

  std::string dir_;
};

fs::path ModelEval::root_;

TEST_F(ModelEval, MasksEqualSamPredictorsOnTheStoredEmbeddingAndBox) {
  const EvalSummary summary = run_model_eval(options());
  const store::EmbeddingStore st((root_ / "store").string());
  ASSERT_EQ(summary.cases, static_cast<std::int64_t>(st.samples().size()));
  const auto rows = read_csv(fs::path(dir_) / "out" / "cases.csv");
  ASSERT_EQ(rows.size(), st.samples().size());

  model::Sam sam(samri::test::tiny_config());
  model::load_state_dict(*sam, samri::test::tiny_weights(), "tiny");
  model::SamPredictor predictor(sam);
  int checked = 0;
  for (std::size_t i = 0; i < rows.size(); i += 7) {  // samples keep the store's order
    const store::SampleEntry& e = st.samples()[i];
    const store::SliceEntry& slice = st.slices()[static_cast<std::size_t>(e.slice)];
    ASSERT_EQ(rows[i].at("image"), slice.name);
    ASSERT_EQ(rows[i].at("label"), std::to_string(e.label));
    predictor.set_embedding(st.embedding(e.slice).unsqueeze(0),
                            {static_cast<int>(slice.height), static_cast<int>(slice.width)});
    model::Prompt prompt;
    prompt.box = std::array<float, 4>{static_cast<float>(e.box[0]), static_cast<float>(e.box[1]),
                                      static_cast<float>(e.box[2]), static_cast<float>(e.box[3])};
    const model::Prediction prediction = predictor.predict(prompt, false);
    const torch::Tensor mask = prediction.logits[0] > 0;
    const torch::Tensor reference = st.label_map(e.slice) == static_cast<int>(e.label);
    EXPECT_NEAR(std::stod(rows[i].at("predicted_iou")), prediction.iou[0].item<double>(), 1e-5)
        << slice.name;
    auto to_mask = [](const torch::Tensor& t) {
      const torch::Tensor b = t.to(torch::kUInt8).contiguous();
      return Mask(b.data_ptr<std::uint8_t>(), b.data_ptr<std::uint8_t>() + b.numel());
    };
    const MaskScores s =
        score_masks(to_mask(mask), to_mask(reference), Grid::pixels({slice.height, slice.width}));
    EXPECT_NEAR(std::stod(rows[i].at("dice")), s.dice, 1e-12) << slice.name;
    EXPECT_EQ(std::stoll(rows[i].at("prediction_pixels")), s.prediction_pixels) << slice.name;
    EXPECT_EQ(std::stoll(rows[i].at("pixels")), e.pixels) << slice.name;
    EXPECT_EQ(rows[i].at("box_x0"), std::to_string(e.box[0]));
    ++checked;
  }
  EXPECT_GT(checked, 5);
  // The flags' check: Spearman's rho of predicted IoU against Dice, in summary.json.
  std::ifstream in(fs::path(dir_) / "out" / "summary.json");
  const auto agreement = nlohmann::json::parse(in).at("predicted_iou_vs_dice");
  ASSERT_GE(agreement.size(), 1u);
  std::size_t counted = 0;
  for (const auto& a : agreement) {
    EXPECT_EQ(a["method"], "tiny");
    counted += a["cases"].get<std::size_t>();
  }
  EXPECT_EQ(counted, rows.size());
  EXPECT_TRUE(fs::exists(fs::path(dir_) / "out" / "tables" / "predicted_iou.md"));
}

TEST_F(ModelEval, EveryModelGetsTheSamePromptsAndPointsLieOnTheObject) {
  ModelEvalOptions o = options();
  o.models.emplace_back("again", data_path("sam_tiny/sam_tiny.pth"));
  o.prompt = "both";
  run_model_eval(o);
  const auto rows = read_csv(fs::path(dir_) / "out" / "cases.csv");
  const store::EmbeddingStore st((root_ / "store").string());
  std::map<std::string, std::map<std::string, std::string>> first;
  int points = 0;
  for (const auto& r : rows) {
    const std::string key = r.at("image") + "|" + r.at("label") + "|" + r.at("prompt");
    auto [it, fresh] = first.try_emplace(key, r);
    if (!fresh) {
      EXPECT_EQ(it->second.at("point_x"), r.at("point_x")) << key;
      EXPECT_EQ(it->second.at("dice"), r.at("dice")) << key;
    }
    if (r.at("prompt") == "box_point" && r.at("model") == "tiny") {
      ASSERT_FALSE(r.at("point_x").empty());
      // The point is a pixel of the object in the stored label map.
      for (const auto& e : st.samples()) {
        const auto& slice = st.slices()[static_cast<std::size_t>(e.slice)];
        if (slice.name != r.at("image") || std::to_string(e.label) != r.at("label")) continue;
        const auto x = std::stoll(r.at("point_x")), y = std::stoll(r.at("point_y"));
        EXPECT_EQ(st.label_map(e.slice)[y][x].item<int>(), e.label) << key;
        ++points;
      }
    }
  }
  EXPECT_EQ(rows.size(), 4 * st.samples().size());
  EXPECT_EQ(points, static_cast<int>(st.samples().size()));
}

TEST_F(ModelEval, AModelWithAnotherEncoderIsRefusedUnlessAllowed) {
  model::StateDict other;
  for (const auto& [key, value] : samri::test::tiny_weights().items()) {
    other.insert(key, key.rfind("image_encoder.", 0) == 0 ? value + 0.5 : value);
  }
  const std::string foreign = dir_ + "/foreign.pth";
  model::write_checkpoint(foreign, other);
  ModelEvalOptions o = options();
  o.models = {{"foreign", foreign}};
  EXPECT_THROW(run_model_eval(o), Error);
  EXPECT_FALSE(fs::exists(o.settings.output));
  o.allow_mismatch = true;
  EXPECT_GT(run_model_eval(o).cases, 0);
}

std::string file_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs `body(rank, options)` as each of `world` ranks of `o` in threads of this process (plain
// run_model_eval by default). Every rank's summary, in rank order; a rank's exception is rethrown.
using RankBody = std::function<EvalSummary(int, ModelEvalOptions)>;
std::vector<EvalSummary> run_ranks(
    int world, const ModelEvalOptions& o,
    const RankBody& body = [](int, ModelEvalOptions mine) { return run_model_eval(mine); }) {
  const int port = samri::test::free_port();
  std::vector<std::future<EvalSummary>> ranks;
  for (int r = 0; r < world; ++r) {
    ModelEvalOptions mine = o;
    mine.launch.rank = r;
    mine.launch.world = world;
    mine.launch.master_addr = "127.0.0.1";
    mine.launch.master_port = port;
    mine.dist_timeout_s = 30;
    ranks.push_back(std::async(std::launch::async, body, r, mine));
  }
  std::vector<EvalSummary> out;
  for (auto& f : ranks) out.push_back(f.get());
  return out;
}

TEST_F(ModelEval, ThreeRanksWriteTheReportOfOneProcess) {
  ModelEvalOptions o = options();
  o.models.emplace_back("again", data_path("sam_tiny/sam_tiny.pth"));
  o.prompt = "both";
  const fs::path one = fs::path(dir_) / "one", three = fs::path(dir_) / "three";
  o.settings.output = one;
  const EvalSummary single = run_model_eval(o);
  o.settings.output = three;
  const std::vector<EvalSummary> ranks = run_ranks(3, o);
  EXPECT_EQ(ranks[0].cases, single.cases);
  EXPECT_EQ(ranks[1].cases, 0);
  ASSERT_GT(single.cases, 3 * o.batch_size);  // every rank had batches to score
  for (const char* file : {"cases.csv", "summary.json", "tables/tables.md"}) {
    const std::string expected = file_text(one / file);
    EXPECT_FALSE(expected.empty()) << file;
    EXPECT_EQ(file_text(three / file), expected) << file;
  }
}

TEST_F(ModelEval, RanksWithDifferentOptionsAreRefusedOnEveryRank) {
  const ModelEvalOptions o = options();
  std::atomic<int> refused{0};
  run_ranks(2, o, [&](int rank, ModelEvalOptions mine) {
    if (rank == 1) mine.seed = 7;
    try {
      return run_model_eval(mine);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("rank 1 was started with another evaluation"),
                std::string::npos)
          << e.what();
      ++refused;
      return EvalSummary{};
    }
  });
  EXPECT_EQ(refused, 2);
  EXPECT_FALSE(fs::exists(o.settings.output / "cases.csv"));
}

TEST_F(ModelEval, NoSampleOfTheChosenSplitsIsAnError) {
  ModelEvalOptions o = options();
  o.splits = {"train"};
  EXPECT_THROW(run_model_eval(o), Error);
  o.splits = {"test"};
  EXPECT_GT(run_model_eval(o).cases, 0);
}

}  // namespace
}  // namespace samri::eval
