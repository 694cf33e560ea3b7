// The training config: defaults, JSON files, overrides and their errors.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "samri/core/error.h"
#include "samri/train/train_config.h"
#include "support/fixtures.h"

namespace {

using samri::train::TrainConfig;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const samri::Error& e) {
    return e.what();
  }
  return "";
}

std::string write(const std::string& name, const std::string& text) {
  const std::string path = samri::test::temp_dir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(TrainConfig, DefaultsAreThePapersAndMatchConfigsTrainPaper) {
  const TrainConfig c;
  EXPECT_EQ(c.lr, 1e-5);
  EXPECT_EQ(c.weight_decay, 0.1);
  EXPECT_EQ(c.batch_size, 1024);
  EXPECT_EQ(c.focal_weight, 20);
  EXPECT_EQ(c.box_jitter, 20);
  EXPECT_EQ(c.samples_per_dataset, 5000);
  TrainConfig from_file;
  from_file.apply_file(std::string(SAMRI_SOURCE_DIR) + "/configs/train_paper.json");
  EXPECT_EQ(from_file.to_json(), c.to_json());
}

TEST(TrainConfig, PublicCodePresetDiffersWhereFactsSay) {
  TrainConfig c;
  c.apply_file(std::string(SAMRI_SOURCE_DIR) + "/configs/train_public_code.json");
  EXPECT_EQ(c.focal_weight, 10);
  EXPECT_EQ(c.box_jitter, 40);
  EXPECT_EQ(c.box_jitter_min_extent, 80);
  EXPECT_EQ(c.point_rule, "middle_raster");
  EXPECT_EQ(c.samples_per_dataset, 0);
  c.validate();
}

TEST(TrainConfig, EveryKeyRoundTripsThroughJson) {
  TrainConfig c;
  c.lr = 3e-4;
  c.prompt = "box_point";
  c.deterministic = true;
  c.threads = 3;
  TrainConfig d;
  const nlohmann::json json = c.to_json();
  for (auto it = json.begin(); it != json.end(); ++it) d.set(it.key(), it.value(), "test");
  EXPECT_EQ(d.to_json(), c.to_json());
  EXPECT_EQ(TrainConfig::keys().size(), c.to_json().size());
}

TEST(TrainConfig, UnknownKeysAndWrongTypesNameTheFileAndKey) {
  const auto unknown = write("unknown.json", R"({"lr": 1e-4, "learning_rate": 1})");
  EXPECT_NE(error_of([&] {
              TrainConfig().apply_file(unknown);
            }).find("unknown training config key 'learning_rate'"),
            std::string::npos);
  const auto wrong = write("wrong.json", R"({"batch_size": "big"})");
  const std::string e = error_of([&] { TrainConfig().apply_file(wrong); });
  EXPECT_NE(e.find(wrong), std::string::npos) << e;
  EXPECT_NE(e.find("'batch_size' must be an integer"), std::string::npos) << e;
  const auto fraction = write("fraction.json", R"({"epochs": 1.5})");
  EXPECT_NE(error_of([&] { TrainConfig().apply_file(fraction); }).find("'epochs'"),
            std::string::npos);
  const auto broken = write("broken.json", R"({"lr": )");
  EXPECT_NE(error_of([&] { TrainConfig().apply_file(broken); }).find("not valid JSON"),
            std::string::npos);
}

TEST(TrainConfig, ValidateNamesTheBadKey) {
  TrainConfig c;
  c.prompt = "points";
  EXPECT_NE(error_of([&] { c.validate(); }).find("'prompt'"), std::string::npos);
  c = TrainConfig();
  c.lr = 0;
  EXPECT_NE(error_of([&] { c.validate(); }).find("'lr'"), std::string::npos);
  c = TrainConfig();
  c.batch_size = 0;
  EXPECT_NE(error_of([&] { c.validate(); }).find("'batch_size'"), std::string::npos);
}

}  // namespace
