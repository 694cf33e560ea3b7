#include "samri/eval/mask_eval.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "samri/core/error.h"
#include "samri/io/image_writer.h"
#include "support/fixtures.h"

namespace samri::eval {
namespace {

namespace fs = std::filesystem;

// A 3-D label map of ITK size (6, 7, 5): index axis 2 has the fewest voxels, so slices are
// k = 0..4, each with rows along i and columns along j.
torch::Tensor empty_volume() { return torch::zeros({5, 7, 6}, torch::kInt64); }

void fill(torch::Tensor& v, std::int64_t value, std::int64_t i0, std::int64_t i1, std::int64_t j0,
          std::int64_t j1, std::int64_t k0, std::int64_t k1) {
  v.index_put_({torch::indexing::Slice(k0, k1 + 1), torch::indexing::Slice(j0, j1 + 1),
                torch::indexing::Slice(i0, i1 + 1)},
               value);
}

void write_volume(const fs::path& path, const torch::Tensor& data) {
  fs::create_directories(path.parent_path());
  io::Image image;
  image.geometry = io::identity_geometry({6, 7, 5});
  image.data = data;
  io::write_image(path, image);
}

struct Row {
  std::map<std::string, std::string> at;
};

std::vector<Row> read_cases(const fs::path& csv) {
  std::ifstream in(csv);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  std::istringstream h(line);
  for (std::string f; std::getline(h, f, ',');) header.push_back(f);
  std::vector<Row> rows;
  while (std::getline(in, line)) {
    std::istringstream fields(line + ",");
    Row r;
    for (const auto& name : header) std::getline(fields, r.at[name], ',');
    rows.push_back(r);
  }
  return rows;
}

class MaskEval : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = samri::test::temp_dir();
    torch::Tensor ref = empty_volume(), pred = empty_volume();
    fill(ref, 1, 1, 3, 1, 4, 1, 3);   // 3 x 4 on slices 1-3
    fill(pred, 1, 1, 3, 2, 5, 1, 3);  // the same, one column to the right
    fill(ref, 2, 0, 1, 0, 1, 4, 4);   // only in the reference, slice 4
    fill(pred, 3, 4, 5, 5, 6, 0, 0);  // only in the prediction, slice 0
    write_volume(dir_ / "gt" / "case1.nii.gz", ref);
    write_volume(dir_ / "pred" / "case1.nii.gz", pred);
    options_.predictions = {{"pred", dir_ / "pred"}};
    options_.reference = dir_ / "gt";
    options_.settings.output = dir_ / "out";
    options_.settings.threads = 1;
  }
  fs::path dir_;
  MaskEvalOptions options_;
};

TEST_F(MaskEval, ScoresEveryLabelOnEverySliceEitherSideHolds) {
  const EvalSummary s = run_mask_eval(options_);
  EXPECT_EQ(s.cases, 5);
  const std::vector<Row> rows = read_cases(dir_ / "out" / "cases.csv");
  ASSERT_EQ(rows.size(), 5u);
  int shifted = 0;
  for (const auto& r : rows) {
    EXPECT_EQ(r.at.at("dataset"), "gt");
    EXPECT_EQ(r.at.at("patient"), "case1");
    EXPECT_EQ(r.at.at("model"), "pred");
    if (r.at.at("label") == "1") {
      ++shifted;
      EXPECT_DOUBLE_EQ(std::stod(r.at.at("dice")), 18.0 / 24.0);
      EXPECT_DOUBLE_EQ(std::stod(r.at.at("hd")), 1.0);
      EXPECT_EQ(r.at.at("pixels"), "12");
      EXPECT_DOUBLE_EQ(std::stod(r.at.at("area_fraction")), 12.0 / 42.0);
      EXPECT_EQ(r.at.at("size_bin"), "large");
    } else if (r.at.at("label") == "2") {
      EXPECT_EQ(r.at.at("slice"), "4");
      EXPECT_EQ(r.at.at("dice"), "0");
      EXPECT_EQ(r.at.at("hd"), "");
      EXPECT_EQ(r.at.at("empty"), "prediction");
    } else {
      EXPECT_EQ(r.at.at("label"), "3");
      EXPECT_EQ(r.at.at("slice"), "0");
      EXPECT_EQ(r.at.at("empty"), "reference");
      EXPECT_EQ(r.at.at("size_bin"), "none");
    }
  }
  EXPECT_EQ(shifted, 3);
  for (const char* f : {"summary.json", "tables/tables.md", "tables/table1_targets.tex"}) {
    EXPECT_TRUE(fs::exists(dir_ / "out" / f)) << f;
  }
}

TEST_F(MaskEval, PerVolumeScoresInThreeDimensions) {
  options_.per_volume = true;
  options_.labels = {1};
  EXPECT_EQ(run_mask_eval(options_).cases, 1);
  const std::vector<Row> rows = read_cases(dir_ / "out" / "cases.csv");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_DOUBLE_EQ(std::stod(rows[0].at.at("dice")), 54.0 / 72.0);
  EXPECT_DOUBLE_EQ(std::stod(rows[0].at.at("hd")), 1.0);
  EXPECT_EQ(rows[0].at.at("slice"), "");
}

TEST_F(MaskEval, ALabelMapRenamesPredictionValues) {
  { std::ofstream(dir_ / "map.json") << R"({"3": 2})"; }
  options_.label_map = dir_ / "map.json";
  options_.labels = {2};
  EXPECT_EQ(run_mask_eval(options_).cases, 2);  // slice 0 (prediction only), slice 4 (reference)
}

TEST_F(MaskEval, MissingFilesAreListedAndNothingIsWritten) {
  write_volume(dir_ / "gt" / "case2.nii.gz", empty_volume());
  write_volume(dir_ / "pred" / "case3.nii.gz", empty_volume());
  try {
    run_mask_eval(options_);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("2 file(s) missing"), std::string::npos) << m;
    EXPECT_NE(m.find("case2.nii.gz"), std::string::npos) << m;
    EXPECT_NE(m.find("case3.nii.gz"), std::string::npos) << m;
  }
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(MaskEval, DifferentGridsAndNonBinaryMasksAreRefused) {
  options_.binary = true;
  EXPECT_THROW(run_mask_eval(options_), Error);
  options_.binary = false;
  io::Image other;
  other.geometry = io::identity_geometry({6, 7, 5});
  other.geometry.spacing = {1.0, 1.0, 2.0};
  other.data = empty_volume();
  io::write_image(dir_ / "pred" / "case1.nii.gz", other);
  try {
    run_mask_eval(options_);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("grid differs"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

}  // namespace
}  // namespace samri::eval
