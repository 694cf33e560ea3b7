// samri-infer --embeddings: a volume's slices read from a store that samri-embed made of it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "samri/core/error.h"
#include "samri/infer/infer.h"
#include "samri/io/image_reader.h"
#include "samri/io/image_writer.h"
#include "support/fixtures.h"
#include "support/tiny_colin_store.h"

namespace fs = std::filesystem;
using samri::test::data_path;

namespace {

// ch2_crop (140 x 170 x 4) preprocessed and embedded by the tiny model into an fp32 store, so that
// stored embeddings equal what the encoder gives samri-infer.
class InferFromStore : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("samri_test_infer_store_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    samri::test::make_tiny_colin_store(root_.string());
  }

  static void TearDownTestSuite() { fs::remove_all(root_); }

  samri::infer::InferOptions options(const std::string& dir) const {
    samri::infer::InferOptions o;
    o.checkpoint = data_path("sam_tiny/sam_tiny.pth");
    o.model = data_path("sam_tiny/sam_tiny.json");
    o.input = data_path("infer/ch2_crop.nii.gz");
    o.output = dir + "/seg.nii.gz";
    o.propagate = true;
    o.box = std::array<float, 4>{40, 30, 120, 100};
    o.seed_slices = {1};
    o.propagation.min_pixels = 1;
    o.propagation.min_iou = -1e9;  // the random tiny model predicts negative IoUs
    o.propagation.max_area_factor = 1e9;
    o.threads = 2;
    return o;
  }

  static nlohmann::json report(const std::string& dir) {
    std::ifstream in(dir + "/seg.json");
    return nlohmann::json::parse(in);
  }

  static fs::path root_;
};

fs::path InferFromStore::root_;

TEST_F(InferFromStore, StoredSlicesGiveTheSameSegmentationWithoutTheEncoder) {
  const auto encoded_dir = samri::test::temp_dir() + "/encoded";
  const auto stored_dir = samri::test::temp_dir() + "/stored";
  fs::create_directories(encoded_dir);
  fs::create_directories(stored_dir);
  samri::infer::run_infer(options(encoded_dir));
  auto o = options(stored_dir);
  o.embeddings = (root_ / "store").string();
  samri::infer::run_infer(o);

  const auto a = samri::io::read_image(encoded_dir + "/seg.nii.gz");
  const auto b = samri::io::read_image(stored_dir + "/seg.nii.gz");
  EXPECT_GT(a.data.count_nonzero().item<std::int64_t>(), 0);
  EXPECT_TRUE(torch::equal(a.data, b.data));
  const auto encoded = report(encoded_dir)["timing"];
  const auto stored = report(stored_dir)["timing"];
  EXPECT_GT(encoded["slices_encoded"].get<int>(), 0);
  EXPECT_EQ(stored["slices_encoded"], 0);
  EXPECT_EQ(stored["slices_read_from_store"], encoded["slices_encoded"]);
}

TEST_F(InferFromStore, AStoreOfAnotherVolumeOrEncoderIsRefused) {
  const auto dir = samri::test::temp_dir();
  // The same voxels under another name are the same volume; one changed byte is another.
  const std::string copy = dir + "/ch2_copy.nii.gz";
  fs::copy_file(data_path("infer/ch2_crop.nii.gz"), copy);
  auto o = options(dir);
  o.embeddings = (root_ / "store").string();
  o.input = copy;
  EXPECT_NO_THROW(samri::infer::run_infer(o));
  fs::remove(o.output);
  fs::remove(dir + "/seg.json");

  const auto volume = samri::io::read_image(data_path("infer/ch2_crop.nii.gz"));
  auto changed = volume;
  changed.data = volume.data.clone();
  changed.data.view(-1)[0] += 1;
  o.input = dir + "/ch2_changed.nrrd";
  samri::io::write_image(o.input, changed);
  try {
    samri::infer::run_infer(o);
    ADD_FAILURE() << "a store of another volume was used";
  } catch (const samri::Error& e) {
    EXPECT_NE(std::string(e.what()).find("holds no embedded slice of " + o.input),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find(data_path("infer/ch2_crop.nii.gz")), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(o.output));

  o.input = copy;
  o.checkpoint = data_path("sam_tiny/sam_tiny_fp16.pth");
  try {
    samri::infer::run_infer(o);
    ADD_FAILURE() << "a store of another encoder was used";
  } catch (const samri::Error& e) {
    EXPECT_NE(std::string(e.what()).find("image encoder fingerprint"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(o.output));
}

}  // namespace
