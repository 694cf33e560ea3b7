#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include "samri/core/error.h"
#include "samri/infer/infer.h"
#include "samri/infer/infer_volume.h"
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
