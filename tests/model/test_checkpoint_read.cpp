// read_checkpoint against the reference checkpoints; expected values printed by Python's
// torch.load of the same files.
#include <gtest/gtest.h>

#include <caffe2/serialize/inline_container.h>

#include <filesystem>

#include "samri/core/atomic_file.h"
#include "samri/model/checkpoint.h"
#include "samri/model/stored_zip_record.h"
#include "support/fixtures.h"

namespace samri::model {
namespace {

using samri::test::data_path;

double total_of(const torch::Tensor& t) { return t.to(torch::kDouble).sum().item<double>(); }

TEST(CheckpointRead, TinyHasEveryKeyInFileOrder) {
  CheckpointReadInfo info;
  const StateDict sd = read_checkpoint(data_path("sam_tiny/sam_tiny.pth"), &info);
  ASSERT_EQ(sd.size(), 188u);
  EXPECT_EQ(sd.items().front().first, "image_encoder.pos_embed");
  EXPECT_EQ(sd.items()[1].first, "image_encoder.patch_embed.proj.weight");
  EXPECT_EQ(sd.items()[51].first, "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix");
  EXPECT_EQ(sd.items().back().first, "mask_decoder.iou_prediction_head.layers.2.bias");
  EXPECT_TRUE(info.ordered_dict);
  EXPECT_TRUE(info.stripped.empty());
  EXPECT_TRUE(info.other_top_level_keys.empty());
}

TEST(CheckpointRead, TinyShapesAndDtypes) {
  const StateDict& sd = samri::test::tiny_weights();
  EXPECT_EQ(sd.at("image_encoder.pos_embed").sizes(), (std::vector<int64_t>{1, 8, 8, 48}));
  EXPECT_EQ(sd.at("image_encoder.patch_embed.proj.weight").sizes(),
            (std::vector<int64_t>{48, 3, 16, 16}));
  EXPECT_EQ(sd.at("image_encoder.blocks.0.attn.rel_pos_h").sizes(), (std::vector<int64_t>{5, 16}));
  EXPECT_EQ(sd.at("image_encoder.blocks.2.attn.rel_pos_w").sizes(), (std::vector<int64_t>{15, 16}));
  EXPECT_EQ(sd.at("mask_decoder.output_upscaling.0.weight").sizes(),
            (std::vector<int64_t>{32, 8, 2, 2}));
  EXPECT_EQ(sd.at("mask_decoder.iou_prediction_head.layers.2.bias").sizes(),
            (std::vector<int64_t>{4}));
  int64_t numel = 0;
  for (const auto& [key, t] : sd.items()) {
    EXPECT_EQ(t.scalar_type(), torch::kFloat) << key;
    numel += t.numel();
  }
  EXPECT_EQ(numel, 179068);
}

TEST(CheckpointRead, TinyValuesMatchTorchLoad) {
  const StateDict& sd = samri::test::tiny_weights();
  const torch::Tensor pos = sd.at("image_encoder.pos_embed");
  EXPECT_FLOAT_EQ(pos.flatten()[0].item<float>(), 0.2252054065465927f);
  EXPECT_FLOAT_EQ(pos.flatten()[-1].item<float>(), 0.7707750201225281f);
  EXPECT_NEAR(total_of(pos), 18.130129630473675, 1e-9);
  EXPECT_NEAR(total_of(sd.at("image_encoder.patch_embed.proj.weight")), 1.8005432050867967, 1e-9);
  EXPECT_NEAR(total_of(sd.at("image_encoder.blocks.0.attn.rel_pos_h")), 1.4602235313504934, 1e-9);
  const torch::Tensor bias = sd.at("mask_decoder.iou_prediction_head.layers.2.bias");
  EXPECT_FLOAT_EQ(bias[0].item<float>(), 0.03808767721056938f);
  EXPECT_FLOAT_EQ(bias[3].item<float>(), 0.04926929995417595f);
  EXPECT_NEAR(total_of(sd.at("prompt_encoder.point_embeddings.0.weight")), 12.882321834564209,
              1e-9);
  double total = 0;
  for (const auto& [key, t] : sd.items()) total += total_of(t);
  EXPECT_NEAR(total, 902.2308281748618, 1e-7);
}

TEST(CheckpointRead, TensorsAreIndependentAndContiguous) {
  const StateDict sd = read_checkpoint(data_path("sam_tiny/sam_tiny.pth"));
  const torch::Tensor w = sd.at("image_encoder.patch_embed.proj.weight");
  const torch::Tensor b = sd.at("image_encoder.patch_embed.proj.bias");
  EXPECT_TRUE(w.is_contiguous());
  const float before = b[0].item<float>();
  w.fill_(7.0f);
  EXPECT_EQ(b[0].item<float>(), before);
}

// Writing to tensors read from a file (mapped copy-on-write) changes neither the file nor what the
// next read returns.
TEST(CheckpointRead, WritingToReadTensorsLeavesTheFileAlone) {
  const std::string path = samri::test::temp_dir() + "/tiny.pth";
  std::filesystem::copy_file(data_path("sam_tiny/sam_tiny.pth"), path);
  const std::string before = samri::read_text_file(path, "checkpoint");
  {
    const StateDict sd = read_checkpoint(path);
    for (const auto& [key, t] : sd.items()) t.fill_(3);
  }
  EXPECT_EQ(samri::read_text_file(path, "checkpoint"), before);
  const StateDict again = read_checkpoint(path);
  EXPECT_NEAR(
      total_of(again.at("image_encoder.pos_embed")),
      total_of(read_checkpoint(data_path("sam_tiny/sam_tiny.pth")).at("image_encoder.pos_embed")),
      0.0);
}

// Every storage record of the torch-written reference file is found in place, with the size the
// zip reader gives: read_checkpoint maps these records instead of copying them.
TEST(CheckpointRead, TorchWrittenRecordsAreFoundInPlace) {
  const std::string path = data_path("sam_tiny/sam_tiny.pth");
  const std::string bytes = samri::read_text_file(path, "checkpoint");
  const auto* file = reinterpret_cast<const unsigned char*>(bytes.data());
  caffe2::serialize::PyTorchStreamReader reader(path);
  int records = 0;
  for (const std::string& name : reader.getAllRecords()) {
    if (name.rfind("data/", 0) != 0) continue;
    const auto [data, size] = reader.getRecord(name);
    const std::size_t offset = reader.getRecordOffset(name);
    EXPECT_TRUE(is_stored_zip_record(file, bytes.size(), offset, name, size)) << name;
    EXPECT_FALSE(is_stored_zip_record(file, bytes.size(), offset, name, size - 4)) << name;
    EXPECT_EQ(bytes.compare(offset, size, static_cast<const char*>(data.get()), size), 0) << name;
    ++records;
  }
  EXPECT_GT(records, 50);
}

std::string le(std::uint64_t v, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
  return out;
}

// A hand-built local header (signature, version, flags, method, time, date, crc, sizes, name and
// extra lengths), the name, padding up to data at byte 128, the data, then `after` it.
std::string archive_with(std::uint16_t flags, std::uint16_t method, std::uint32_t size,
                         const std::string& name, std::size_t data_bytes,
                         const std::string& after = "") {
  const std::size_t extra = 128 - 30 - name.size();
  return "PK\x03\x04" + le(20, 2) + le(flags, 2) + le(method, 2) + le(0, 4) + le(0, 4) +
         le(size, 4) + le(size, 4) + le(name.size(), 2) + le(extra, 2) + name +
         std::string(extra, 'x') + std::string(data_bytes, 'd') + after;
}

bool stored(const std::string& archive, const std::string& name, std::size_t size,
            std::size_t offset = 128) {
  return is_stored_zip_record(reinterpret_cast<const unsigned char*>(archive.data()),
                              archive.size(), offset, name, size);
}

TEST(CheckpointRead, OnlyPlainStoredRecordsAreUsedInPlace) {
  EXPECT_TRUE(stored(archive_with(0, 0, 40, "archive/data/0", 40), "data/0", 40));
  EXPECT_TRUE(stored(archive_with(0, 0, 40, "data/0", 40), "data/0", 40));
  EXPECT_FALSE(stored(archive_with(0, 0, 40, "archive/data/0", 40), "data/0", 36));  // other size
  EXPECT_FALSE(stored(archive_with(0, 8, 40, "archive/data/0", 40), "data/0", 40));  // deflated
  EXPECT_FALSE(stored(archive_with(1, 0, 40, "archive/data/0", 40), "data/0", 40));  // encrypted
  EXPECT_FALSE(stored(archive_with(0, 0, 40, "archive/data/0", 39), "data/0", 40));  // past the end
  EXPECT_FALSE(stored(archive_with(0, 0, 40, "archive/data/10", 40), "data/0", 40));
  EXPECT_FALSE(stored(archive_with(0, 0, 40, "archive/xdata/0", 40), "data/0", 40));
  EXPECT_FALSE(stored(archive_with(0, 0, 40, "archive/data/0", 40), "data/0", 40, 127));
  // Sizes after the data: a descriptor with or without its signature, 32- or 64-bit sizes.
  const std::string crc = le(0, 4);
  const std::string d32 = crc + le(40, 4) + le(40, 4), d64 = crc + le(40, 8) + le(40, 8);
  EXPECT_TRUE(
      stored(archive_with(8, 0, 0, "archive/data/0", 40, "PK\x07\x08" + d32), "data/0", 40));
  EXPECT_TRUE(stored(archive_with(8, 0, 0, "archive/data/0", 40, d32), "data/0", 40));
  EXPECT_TRUE(
      stored(archive_with(8, 0, 0, "archive/data/0", 40, "PK\x07\x08" + d64), "data/0", 40));
  EXPECT_FALSE(stored(archive_with(8, 0, 0, "archive/data/0", 40, d32), "data/0", 36));
  EXPECT_FALSE(stored(archive_with(8, 0, 0, "archive/data/0", 40), "data/0", 40));  // none
}

TEST(CheckpointRead, HalfCheckpointKeepsFp16) {
  const StateDict half = read_checkpoint(data_path("sam_tiny/sam_tiny_fp16.pth"));
  const StateDict& full = samri::test::tiny_weights();
  ASSERT_EQ(half.size(), full.size());
  for (std::size_t i = 0; i < full.size(); ++i) {
    const auto& [key, t] = half.items()[i];
    EXPECT_EQ(key, full.items()[i].first);
    EXPECT_EQ(t.scalar_type(), torch::kHalf) << key;
    EXPECT_TRUE(torch::equal(t, full.at(key).to(torch::kHalf))) << key;
  }
}

TEST(CheckpointRead, TrainingCheckpointIsUnwrapped) {
  CheckpointReadInfo info;
  const StateDict wrapped = read_checkpoint(data_path("sam_tiny/sam_tiny_wrapped.pth"), &info);
  EXPECT_EQ(info.stripped, (std::vector<std::string>{"{\"model\": ...}", "prefix module."}));
  EXPECT_EQ(info.other_top_level_keys, (std::vector<std::string>{"optimizer", "epoch"}));
  EXPECT_TRUE(info.ordered_dict);
  const StateDict& plain = samri::test::tiny_weights();
  ASSERT_EQ(wrapped.size(), plain.size());
  int decoder = 0;
  for (const auto& [key, t] : plain.items()) {
    ASSERT_TRUE(wrapped.contains(key)) << key;
    if (key.rfind("mask_decoder.", 0) == 0) {
      // One AdamW step (with weight decay) moved every decoder tensor.
      EXPECT_FALSE(torch::equal(wrapped.at(key), t)) << key;
      ++decoder;
    } else {
      EXPECT_TRUE(torch::equal(wrapped.at(key), t)) << key;
    }
  }
  EXPECT_EQ(decoder, 120);
}

}  // namespace
}  // namespace samri::model
