#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "samri/core/error.h"
#include "samri/infer/infer.h"
#include "samri/infer/infer_volume.h"
#include "samri/infer/propagation.h"
#include "samri/infer/sam_input.h"
#include "samri/io/image_reader.h"
#include "samri/io/slicing.h"
#include "samri/model/checkpoint.h"
#include "samri/model/sam.h"
#include "support/fixtures.h"

namespace fs = std::filesystem;
using samri::infer::InferOptions;
using samri::test::data_path;
using samri::test::expected;

namespace {

// The tiny reference model on the golden slice: ch2_slice90_crop.nii.gz holds nibabel's
// vol[20:160, 30:200, 90] of Colin27, exactly the image the reference fixtures were made from.
InferOptions tiny_options(const std::string& out_dir) {
  InferOptions o;
  o.checkpoint = data_path("sam_tiny/sam_tiny.pth");
  o.model = data_path("sam_tiny/sam_tiny.json");
  o.input = data_path("infer/ch2_slice90_crop.nii.gz");
  o.output = out_dir + "/mask.nii.gz";
  o.threads = 2;
  return o;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  return nlohmann::json::parse(in);
}

std::array<float, 4> golden_box() {
  const auto b = expected("box_xyxy");
  return {b[0].item<float>(), b[1].item<float>(), b[2].item<float>(), b[3].item<float>()};
}

TEST(Infer2d, BoxMaskAndLogitsMatchTheReference) {
  const auto dir = samri::test::temp_dir();
  auto o = tiny_options(dir);
  o.box = golden_box();
  o.save_logits = dir + "/logits.nrrd";
  samri::infer::run_infer(o);

  const auto mask = samri::io::read_image(o.output);
  const auto input = samri::io::read_image(o.input);
  EXPECT_EQ(mask.geometry.size, input.geometry.size);
  EXPECT_EQ(mask.geometry.spacing, input.geometry.spacing);
  EXPECT_EQ(mask.geometry.origin, input.geometry.origin);
  const auto want = expected("predict_box_single_logits")[0];  // (140, 170) in SAM's view
  EXPECT_TRUE(torch::equal(samri::io::sam_view_2d(mask).to(torch::kBool), want > 0));
  const auto logits = samri::io::read_image(o.save_logits);
  EXPECT_TRUE(samri::test::all_close_rel(samri::io::sam_view_2d(logits), want));
}

TEST(Infer2d, MultimaskWritesThreeMasksAlongANewAxis) {
  const auto dir = samri::test::temp_dir();
  auto o = tiny_options(dir);
  o.box = golden_box();
  o.points = {{80, 60, 1}};
  o.multimask = true;
  samri::infer::run_infer(o);
  const auto masks = samri::io::read_image(o.output);
  ASSERT_EQ(masks.geometry.size, (std::vector<std::int64_t>{140, 170, 3}));
  const auto want = expected("predict_box_point_multi_logits");  // (3, 140, 170)
  for (int m = 0; m < 3; ++m) {
    // data[m] is the m-th mask in ITK buffer order (j, i): transpose to SAM's (i, j) view.
    EXPECT_TRUE(torch::equal(masks.data[m].t().to(torch::kBool), want[m] > 0)) << "mask " << m;
  }
}

TEST(InferVolume, PromptsFileMatchesTheReferenceOnItsSlice) {
  const auto dir = samri::test::temp_dir();
  auto o = tiny_options(dir);
  o.input = data_path("infer/ch2_crop.nii.gz");  // vol[20:160, 30:200, 88:92]: slice 2 is k=90
  o.prompts_file = dir + "/prompts.json";
  std::ofstream(o.prompts_file)
      << R"({"prompts": [{"slice": 2, "label": 7, "box": [40, 30, 120, 100]}]})";
  samri::infer::run_infer(o);
  const auto seg = samri::io::read_image(o.output);
  const auto input = samri::io::read_image(o.input);
  EXPECT_EQ(seg.geometry.size, input.geometry.size);
  const auto slice = samri::io::extract_slice(seg, 2, 2);
  const auto want = expected("predict_box_single_logits")[0] > 0;
  EXPECT_TRUE(torch::equal(slice == 7, want));
  EXPECT_EQ(((slice != 0) & (slice != 7)).sum().item<int64_t>(), 0);
  for (int s : {0, 1, 3}) {
    EXPECT_EQ(samri::io::extract_slice(seg, 2, s).abs().sum().item<double>(), 0.0) << s;
  }
  // The per-slice report beside the volume: the decoder's IoU and the mask's area.
  const auto report = read_json(dir + "/mask.json");
  ASSERT_EQ(report["objects"].size(), 1u);
  const auto& object = report["objects"][0];
  EXPECT_EQ(object["label"], 7);
  EXPECT_EQ(object["propagated"], false);
  ASSERT_EQ(object["slices"].size(), 1u);
  EXPECT_EQ(object["slices"][0]["slice"], 2);
  EXPECT_EQ(object["slices"][0]["area"], want.sum().item<std::int64_t>());
  EXPECT_NEAR(object["slices"][0]["predicted_iou"].get<double>(),
              expected("predict_box_single_iou")[0].item<double>(), 1e-5);
}

TEST(InferVolume, BoxesFromLabelsSegmentsOnlyTheChosenSlices) {
  const auto dir = samri::test::temp_dir();
  auto o = tiny_options(dir);
  o.input = data_path("infer/ch2_crop.nii.gz");
  o.boxes_from = data_path("infer/aal_crop.nii.gz");
  o.slices = std::make_pair<std::int64_t, std::int64_t>(1, 2);
  samri::infer::run_infer(o);
  const auto seg = samri::io::read_image(o.output);
  const auto labels = samri::io::read_label_map(o.boxes_from);
  const auto found = torch::_unique(samri::io::extract_slice(seg, 2, 1).to(torch::kInt64));
  const auto present = torch::_unique(samri::io::extract_slice(labels, 2, 1));
  EXPECT_GT(std::get<0>(found).numel(), 1);
  for (int64_t i = 0; i < std::get<0>(found).numel(); ++i) {
    const auto v = std::get<0>(found)[i].item<int64_t>();
    EXPECT_TRUE((std::get<0>(present) == v).any().item<bool>()) << "label " << v;
  }
  for (int s : {0, 2, 3}) {
    EXPECT_EQ(samri::io::extract_slice(seg, 2, s).abs().sum().item<double>(), 0.0) << s;
  }
}

// Each bad input is one clear samri::Error, and no output file appears.
void expect_refused(const InferOptions& o, const std::string& fragment) {
  try {
    samri::infer::run_infer(o);
    ADD_FAILURE() << "expected an error containing '" << fragment << "'";
  } catch (const samri::Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(o.output));
  for (const auto& entry : fs::directory_iterator(fs::path(o.output).parent_path())) {
    EXPECT_NE(entry.path().filename().string().rfind(".mask", 0), 0u)
        << "temporary file left behind: " << entry.path();
  }
}

TEST(InferErrors, BadInputsAreRefusedWithoutOutput) {
  const auto dir = samri::test::temp_dir();
  auto o = tiny_options(dir);
  o.box = {40, 30, 200, 100};
  expect_refused(o, "leaves the image");
  o.box = {120, 30, 40, 100};
  expect_refused(o, "inverted");
  o.box = {std::numeric_limits<float>::quiet_NaN(), 30, 40, 100};
  expect_refused(o, "leaves the image");  // caught before the model loads, naming the input
  o.box = golden_box();
  auto missing = o;
  missing.input = dir + "/nothing.nii.gz";
  expect_refused(missing, "not found");
  auto evil = o;
  evil.checkpoint = data_path("sam_tiny/evil.pth");
  expect_refused(evil, "evil.pth");
  auto wrong_size = o;
  wrong_size.model = "vit_b";
  expect_refused(wrong_size, "sam_tiny.pth");
  auto corrupt = o;
  corrupt.checkpoint = dir + "/truncated.pth";
  {
    std::ifstream in(o.checkpoint, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(corrupt.checkpoint, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  expect_refused(corrupt, "truncated.pth");
  fs::remove(corrupt.checkpoint);

  auto volume = tiny_options(dir);
  volume.input = data_path("infer/ch2_crop.nii.gz");
  volume.prompts_file = dir + "/prompts.json";
  std::ofstream(volume.prompts_file) << R"({"prompts": [{"slice": 9, "box": [1, 2, 3, 4]}]})";
  expect_refused(volume, "slice 9");
  std::ofstream(volume.prompts_file) << R"({"prompts": [{"slice": 1, "box": [1, 2, 3, 4]}],)";
  expect_refused(volume, "not valid JSON");
  fs::remove(volume.prompts_file);
}

TEST(InferErrors, BadPropagationInputsAreRefusedWithoutOutput) {
  const auto dir = samri::test::temp_dir();
  auto o = tiny_options(dir);
  o.input = data_path("infer/ch2_crop.nii.gz");
  o.box = golden_box();
  o.propagate = true;
  expect_refused(o, "--propagate needs a seed");
  o.seed_slices = {4};
  expect_refused(o, "slice 4");  // the volume has slices 0..3 along axis 2
  o.seed_slices = {1};
  o.slices = std::make_pair<std::int64_t, std::int64_t>(2, 4);
  expect_refused(o, "seed slice 1 lies outside --slices 2:4");
  o.slices.reset();
  o.box = std::array<float, 4>{40, 30, 200, 100};
  expect_refused(o, "leaves the image");
  o.box = golden_box();
  o.seed_slices = {1, 1};
  expect_refused(o, "two seeds of label 1 on one slice");
  auto unpropagated = o;
  unpropagated.propagate = false;
  unpropagated.seed_slices = {1};
  expect_refused(unpropagated, "--slice needs --propagate");

  auto file = tiny_options(dir);
  file.input = o.input;
  file.prompts_file = dir + "/prompts.json";
  std::ofstream(file.prompts_file)
      << R"({"prompts": [{"slice": 1, "label": 2, "box": [40, 30, 120, 100]},
                         {"slice": 2, "label": 2, "box": [40, 30, 120, 100], "propagate": true}]})";
  expect_refused(file, "label 2 is already used by prompt 0 (slice 1)");
  fs::remove(file.prompts_file);
  EXPECT_FALSE(fs::exists(dir + "/mask.json"));
}

// Propagation with the tiny model, checked step by step against the predictor driven by hand: the
// seed slice is the reference's golden mask, and each neighbour was prompted with the tightest box
// of the mask next to it, its mask kept inside that box.
TEST(InferPropagate, SeedIsTheReferenceMaskAndNeighboursFollowItsBox) {
  const auto dir = samri::test::temp_dir();
  auto o = tiny_options(dir);
  o.input = data_path("infer/ch2_crop.nii.gz");  // slice 2 along axis 2 is the golden slice
  o.output = dir + "/seg.nrrd";
  o.propagate = true;
  o.box = golden_box();
  o.seed_slices = {2};
  o.label = 4;
  o.propagation.min_pixels = 1;
  o.propagation.min_iou = -1e9;  // the random tiny model predicts negative IoUs
  o.propagation.max_area_factor = 1e9;
  samri::infer::run_infer(o);

  const auto seg = samri::io::read_image(o.output);
  const auto volume = samri::io::read_image(o.input);
  const auto golden = expected("predict_box_single_logits")[0] > 0;
  EXPECT_TRUE(torch::equal(samri::io::extract_slice(seg, 2, 2) == 4, golden));

  samri::model::Sam sam(samri::test::tiny_config());
  samri::model::load_state_dict(*sam, samri::test::tiny_weights(), "sam_tiny.pth");
  samri::model::SamPredictor predictor(sam);
  std::map<std::int64_t, torch::Tensor> want{{2, golden}};
  for (int direction : {-1, 1}) {
    for (std::int64_t s = 2 + direction; s >= 0 && s < 4; s += direction) {
      const torch::Tensor previous = want.at(s - direction);
      if (!previous.any().item<bool>()) break;
      samri::model::Prompt prompt;
      prompt.box = samri::infer::mask_box(previous);
      predictor.set_image(samri::infer::sam_input_image(samri::io::extract_slice(volume, 2, s)));
      torch::Tensor logits = predictor.predict(prompt, false).logits[0];
      samri::infer::clip_logits_to_box(logits, *prompt.box, 0.0f);  // --clip-to-box 0, the default
      want[s] = logits > 0;
    }
  }
  for (std::int64_t s = 0; s < 4; ++s) {
    const torch::Tensor expected_slice = want.count(s) ? want[s] : torch::zeros_like(golden);
    EXPECT_TRUE(torch::equal(samri::io::extract_slice(seg, 2, s) == 4, expected_slice)) << s;
  }

  const auto report = read_json(dir + "/seg.json");
  ASSERT_EQ(report["objects"].size(), 1u);
  const auto& object = report["objects"][0];
  EXPECT_EQ(object["propagated"], true);
  EXPECT_EQ(object["seeds"], nlohmann::json::array({2}));
  ASSERT_EQ(object["stops"].size(), 2u);
  for (const auto& stop : object["stops"]) EXPECT_FALSE(stop["reason"].get<std::string>().empty());
  for (const auto& slice : object["slices"]) {
    const auto s = slice["slice"].get<std::int64_t>();
    EXPECT_EQ(slice["area"], want.at(s).sum().item<std::int64_t>()) << s;
    EXPECT_EQ(slice["seed"], 2);
    EXPECT_EQ(slice["area_change"].is_null(), s == 2);
    if (s != 2) continue;
    EXPECT_NEAR(slice["predicted_iou"].get<double>(),
                expected("predict_box_single_iou")[0].item<double>(), 1e-5);
  }
  EXPECT_EQ(report["timing"]["slices_encoded"], static_cast<std::int64_t>(want.size()));
}

}  // namespace

namespace {

// segment_slice against a plain re-computation: one predict() per prompt, then per pixel the
// label of the highest positive logit. Overlapping boxes make the overlap rule matter.
TEST(InferVolume, SegmentSliceGivesTheHighestLogitItsLabel) {
  samri::model::Sam sam(samri::test::tiny_config());
  samri::model::load_state_dict(*sam, samri::test::tiny_weights(), "sam_tiny.pth");
  samri::model::SamPredictor predictor(sam);
  const auto volume = samri::io::read_image(data_path("infer/ch2_crop.nii.gz"));
  const auto view = samri::io::extract_slice(volume, 2, 2);
  std::vector<samri::data::SlicePrompt> prompts(4);
  const std::array<std::array<float, 4>, 4> boxes{
      {{40, 30, 120, 100}, {60, 50, 150, 130}, {10, 10, 60, 60}, {30, 20, 110, 90}}};
  for (int i = 0; i < 4; ++i) {
    prompts[i].slice = 2;
    prompts[i].label = 10 + i;
    prompts[i].prompt.box = boxes[i];
  }
  prompts[3].prompt.points = {{70, 60}};
  prompts[3].prompt.point_labels = {1};

  const auto labels = samri::infer::segment_slice(predictor, view, prompts);

  auto best = torch::full(view.sizes(), 0.0f);
  auto want = torch::zeros(view.sizes(), torch::kInt64);
  for (const auto& p : prompts) {
    const auto logits = predictor.predict(p.prompt, false).logits[0];
    const auto wins = logits > best;
    want.masked_fill_(wins, p.label);
    best = torch::where(wins, logits, best);
  }
  EXPECT_TRUE(torch::equal(labels, want));
  for (int i = 0; i < 4; ++i) EXPECT_GT((labels == 10 + i).sum().item<int64_t>(), 0) << i;
}

}  // namespace
