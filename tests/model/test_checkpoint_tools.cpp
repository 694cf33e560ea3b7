#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "samri/core/error.h"
#include "samri/core/sha256.h"
#include "samri/model/checkpoint.h"
#include "samri/model/checkpoint_tools.h"
#include "samri/model/sam.h"
#include "support/fixtures.h"

namespace {

using samri::test::data_path;
using namespace samri::model;

TEST(CheckpointTools, SummaryOfTheOfficialLayout) {
  const auto s = summarize_checkpoint(data_path("sam_tiny/sam_tiny.pth"));
  EXPECT_EQ(s.key_count, 188u);
  EXPECT_EQ(s.parameter_count, 179068);
  // sha256sum of the fixture, computed independently.
  EXPECT_EQ(s.sha256, "0eb6cdaa202d133fbc425dec287a04a19540e64d5786bda697bb9756e72a5a4f");
  EXPECT_EQ(s.file_bytes, 786055u);
  EXPECT_EQ(s.model, "unknown");  // the tiny encoder is 48 wide: no official size
  EXPECT_TRUE(s.official_layout);
  EXPECT_TRUE(s.stripped.empty());
  EXPECT_EQ(s.keys_per_part.at("image_encoder"), 51u);
  EXPECT_EQ(s.keys_per_part.at("prompt_encoder"), 17u);
  EXPECT_EQ(s.keys_per_part.at("mask_decoder"), 120u);
  EXPECT_EQ(s.dtypes.at("float32"), 188u);
  EXPECT_NE(to_text(s).find("keys:        188"), std::string::npos);
  EXPECT_NE(to_json(s).find("\"sha256\""), std::string::npos);
}

TEST(CheckpointTools, VariantFollowsThePatchEmbeddingWidth) {
  const std::map<std::int64_t, std::string> want{
      {768, "vit_b"}, {1024, "vit_l"}, {1280, "vit_h"}, {48, ""}};
  for (const auto& [width, name] : want) {
    StateDict sd;
    sd.insert("image_encoder.patch_embed.proj.weight", torch::zeros({width, 3, 1, 1}));
    EXPECT_EQ(sam_variant(sd), name) << width;
  }
  EXPECT_EQ(sam_variant(StateDict()), "");
}

TEST(CheckpointTools, SummaryNamesTheStrippedWrappers) {
  const auto s = summarize_checkpoint(data_path("sam_tiny/sam_tiny_wrapped.pth"));
  EXPECT_EQ(s.key_count, 188u);
  EXPECT_FALSE(s.official_layout);
  EXPECT_EQ(s.stripped.size(), 2u);
  EXPECT_EQ(s.ignored_top_level_keys, (std::vector<std::string>{"optimizer", "epoch"}));
}

TEST(CheckpointTools, ConvertUnwrapsAndCastsAndChecksTheModel) {
  const auto dir = samri::test::temp_dir();
  ConvertOptions o;
  o.input = data_path("sam_tiny/sam_tiny_wrapped.pth");
  o.output = dir + "/flat.pth";
  o.model = data_path("sam_tiny/sam_tiny.json");
  convert_checkpoint(o);
  const auto flat = summarize_checkpoint(o.output);
  EXPECT_TRUE(flat.official_layout);
  const auto wrapped = read_checkpoint(o.input);
  const auto converted = read_checkpoint(o.output);
  ASSERT_EQ(converted.size(), wrapped.size());
  for (const auto& [key, tensor] : wrapped.items()) {
    EXPECT_TRUE(torch::equal(converted.at(key), tensor)) << key;
  }

  o.input = data_path("sam_tiny/sam_tiny.pth");
  o.output = dir + "/half.pth";
  o.dtype = "fp16";
  convert_checkpoint(o);
  const auto half = read_checkpoint(o.output);
  EXPECT_EQ(half.at("image_encoder.pos_embed").scalar_type(), torch::kHalf);
  EXPECT_TRUE(
      torch::equal(half.at("image_encoder.pos_embed"),
                   read_checkpoint(o.input).at("image_encoder.pos_embed").to(torch::kHalf)));

  o.model = "vit_b";  // the tiny weights do not fit ViT-B: refused, nothing written
  o.output = dir + "/refused.pth";
  EXPECT_THROW(convert_checkpoint(o), samri::Error);
  EXPECT_FALSE(std::filesystem::exists(o.output));
}

TEST(CheckpointTools, InitIsReproducibleAndLoadsStrictly) {
  const auto dir = samri::test::temp_dir();
  init_checkpoint(samri::test::tiny_config(), 3, dir + "/a.pth");
  init_checkpoint(samri::test::tiny_config(), 3, dir + "/b.pth");
  init_checkpoint(samri::test::tiny_config(), 4, dir + "/c.pth");
  EXPECT_EQ(samri::sha256_file(dir + "/a.pth"), samri::sha256_file(dir + "/b.pth"));
  EXPECT_NE(samri::sha256_file(dir + "/a.pth"), samri::sha256_file(dir + "/c.pth"));
  Sam sam(samri::test::tiny_config());
  load_state_dict(*sam, read_checkpoint(dir + "/a.pth"), dir + "/a.pth");
  EXPECT_EQ(read_checkpoint(dir + "/a.pth").size(), 188u);
}

}  // namespace
