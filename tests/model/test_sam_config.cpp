#include <gtest/gtest.h>

#include <fstream>

#include "samri/core/error.h"
#include "samri/model/sam_config.h"
#include "support/fixtures.h"

namespace {

using samri::model::SamConfig;

TEST(SamConfig, ShippedConfigsEqualTheBuiltInSizes) {
  for (const auto& builtin : {SamConfig::vit_b(), SamConfig::vit_l(), SamConfig::vit_h()}) {
    const auto file = SamConfig::from_json_file(std::string(SAMRI_SOURCE_DIR) + "/configs/sam_" +
                                                builtin.name + ".json");
    EXPECT_EQ(file.to_json(), builtin.to_json()) << builtin.name;
  }
}

TEST(SamConfig, OfficialSizes) {
  EXPECT_EQ(SamConfig::vit_b().image_encoder.embed_dim, 768);
  EXPECT_EQ(SamConfig::vit_l().image_encoder.depth, 24);
  EXPECT_EQ(SamConfig::vit_h().image_encoder.global_attn_indexes,
            (std::vector<int>{7, 15, 23, 31}));
  EXPECT_EQ(SamConfig::from_name_or_file("vit_h").image_encoder.num_heads, 16);
}

TEST(SamConfig, TinyJsonRoundTrips) {
  const auto& tiny = samri::test::tiny_config();
  EXPECT_EQ(tiny.name, "sam_tiny");
  EXPECT_EQ(tiny.image_encoder.window_size, 3);
  EXPECT_EQ(tiny.mask_decoder.iou_head_hidden_dim, 40);
  const auto path = samri::test::temp_dir() + "/copy.json";
  std::ofstream(path) << tiny.to_json();
  EXPECT_EQ(SamConfig::from_json_file(path).to_json(), tiny.to_json());
}

TEST(SamConfig, BadFilesAreClearErrors) {
  const auto dir = samri::test::temp_dir();
  auto expect_error = [&](const std::string& text, const std::string& fragment) {
    const auto path = dir + "/c.json";
    std::ofstream(path) << text;
    try {
      SamConfig::from_json_file(path);
      ADD_FAILURE() << text;
    } catch (const samri::Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect_error("{", "not valid JSON");
  expect_error(R"({"image_encoder": {"embed_dimm": 3}})", "unknown field 'embed_dimm'");
  expect_error(R"({"image_encoder": {"depth": "twelve"}})", "depth");
  expect_error(R"({"image_encoder": {"img_size": 1000}})", "multiple of patch_size");
  EXPECT_THROW(SamConfig::from_name_or_file("vit_x"), samri::Error);
}

}  // namespace
