#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include <unistd.h>

#include "samri/core/error.h"
#include "samri/core/stop_request.h"
#include "samri/data/manifest.h"
#include "samri/data/preprocess.h"
#include "samri/embed/embed.h"
#include "samri/embed/embed_plan.h"
#include "samri/infer/sam_input.h"
#include "samri/io/image_reader.h"
#include "samri/io/slicing.h"
#include "samri/model/predictor.h"
#include "samri/model/runtime.h"
#include "samri/store/embedding_store.h"
#include "support/fixtures.h"

namespace fs = std::filesystem;
using samri::embed::EmbedOptions;
using samri::embed::run_embed;
using samri::store::EmbeddingStore;
using samri::test::data_path;

namespace {

// The tiny SAM with its weights, in eval mode, on the CPU.
samri::model::Sam tiny_model() {
  return samri::model::load_sam(data_path("sam_tiny/sam_tiny.pth"), samri::test::tiny_config(),
                                torch::kCPU);
}

// Colin27 (a 140x170x4 crop of ch2 with its AAL labels) preprocessed once for the suite, listed
// as two patients so that the slices fall into more than one split.
class Embed : public ::testing::Test {
 protected:
  static fs::path root_;
  static fs::path slices_;
  std::string dir_;  // this test's own folder

  static void SetUpTestSuite() {
    // One folder per process: ctest runs each test of this suite as its own process, in parallel.
    root_ = fs::temp_directory_path() / ("samri_test_embed_suite_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    samri::test::write_colin_crop_list((root_ / "colin.csv").string(), {"colin_a", "colin_b"});
    samri::data::PreprocessOptions p;
    p.list_file = (root_ / "colin.csv").string();
    p.output = (root_ / "slices").string();
    p.peripheral_fraction = 0;
    p.seed = 3;
    samri::data::run_preprocess(p);
    slices_ = root_ / "slices";
  }

  static void TearDownTestSuite() { fs::remove_all(root_); }

  void SetUp() override { dir_ = samri::test::temp_dir(); }

  EmbedOptions options(const std::string& store_name) const {
    EmbedOptions o;
    o.checkpoint = data_path("sam_tiny/sam_tiny.pth");
    o.model = data_path("sam_tiny/sam_tiny.json");
    o.data = {slices_.string()};
    o.output = (fs::path(dir_) / store_name).string();
    o.threads = 2;
    return o;
  }

  // The tiny model's own embedding of a slice image, through the predictor as samri-infer runs it.
  static torch::Tensor reference_embedding(const fs::path& image) {
    static samri::model::SamPredictor predictor(tiny_model());
    predictor.set_image(
        samri::infer::sam_input_image(samri::io::sam_view_2d(samri::io::read_image(image))));
    return predictor.embedding()[0];
  }
};

fs::path Embed::root_;
fs::path Embed::slices_;

std::string error_of(const EmbedOptions& o) {
  try {
    run_embed(o);
  } catch (const samri::Error& e) {
    return e.what();
  }
  return "(no error)";
}

double dice(const torch::Tensor& a, const torch::Tensor& b) {
  const double inter = (a & b).sum().item<double>();
  const double total = a.sum().item<double>() + b.sum().item<double>();
  return total == 0 ? 1.0 : 2 * inter / total;
}

// Mean Dice between the box-prompted masks decoded from `store` and from `reference`.
double mean_box_dice(const EmbeddingStore& store, const EmbeddingStore& reference) {
  samri::model::SamPredictor predictor(tiny_model());
  double sum = 0;
  for (const auto& sample : store.samples()) {
    const auto& slice = store.slices()[sample.slice];
    const std::array<int, 2> size{static_cast<int>(slice.height), static_cast<int>(slice.width)};
    samri::model::Prompt prompt;
    prompt.box = std::array<float, 4>{float(sample.box[0]), float(sample.box[1]),
                                      float(sample.box[2]), float(sample.box[3])};
    predictor.set_embedding(store.embedding(sample.slice).unsqueeze(0), size);
    const auto mask = predictor.predict(prompt, false).logits[0] > 0;
    predictor.set_embedding(reference.embedding(sample.slice).unsqueeze(0), size);
    const auto want = predictor.predict(prompt, false).logits[0] > 0;
    sum += dice(mask, want);
  }
  return sum / static_cast<double>(store.samples().size());
}

}  // namespace

TEST_F(Embed, EachSliceOnceEqualToTheEncodersOutputWithItsLabelMap) {
  auto o = options("store");
  o.store_dtype = "fp32";
  const auto summary = run_embed(o);
  const auto manifest = samri::data::read_manifest(slices_);
  std::set<std::string> images;
  for (const auto& s : manifest.samples) images.insert(s.image);
  EXPECT_EQ(summary.planned, static_cast<std::int64_t>(images.size()));
  EXPECT_EQ(summary.encoded, summary.planned);
  EXPECT_TRUE(summary.complete);

  const EmbeddingStore store(o.output);
  ASSERT_TRUE(store.complete());
  EXPECT_EQ(store.samples().size(), manifest.samples.size());
  for (const auto& slice : store.slices()) {
    const std::string image = slice.name.substr(slice.name.find('/') + 1);
    const auto want = reference_embedding(slices_ / image);
    EXPECT_TRUE(samri::test::all_close_rel(store.embedding(slice.id), want, 1e-6)) << slice.name;
    std::string labels = image;
    labels.replace(0, std::string("images/").size(), "labels/");
    const auto label_map = samri::io::sam_view_2d(samri::io::read_label_map(slices_ / labels));
    EXPECT_TRUE(torch::equal(store.label_map(slice.id), label_map.to(torch::kInt))) << slice.name;
  }
  // Samples keep the manifest's facts, in its order.
  for (std::size_t i = 0; i < manifest.samples.size(); ++i) {
    const auto& m = manifest.samples[i];
    const auto& s = store.samples()[i];
    EXPECT_EQ(s.label, m.label);
    EXPECT_EQ(s.box, m.box);
    EXPECT_EQ(s.split, m.split);
    EXPECT_EQ(s.label_name, m.label_name);
    EXPECT_EQ(store.slices()[s.slice].name, m.dataset + "/" + m.image);
  }
  EXPECT_TRUE(store.verify().ok());
}

TEST_F(Embed, StoredDtypesDecodeToTheSameMasks) {
  auto o = options("fp32");
  o.store_dtype = "fp32";
  run_embed(o);
  const EmbeddingStore reference(o.output);
  for (const char* dtype : {"fp16", "bf16", "int8"}) {
    auto d = options(dtype);
    d.store_dtype = dtype;
    run_embed(d);
    const EmbeddingStore store(d.output);
    const double mean = mean_box_dice(store, reference);
    std::cout << "[ dice    ] " << dtype << " vs fp32 embeddings, mean over "
              << store.samples().size() << " box prompts: " << mean << "\n";
    EXPECT_GE(mean, 0.99) << dtype;
    if (std::string(dtype) == "fp16") {
      for (const auto& slice : store.slices()) {
        EXPECT_TRUE(torch::equal(store.embedding(slice.id),
                                 reference.embedding(slice.id).to(torch::kHalf).to(torch::kFloat)));
      }
    }
  }
}

TEST_F(Embed, BatchesAndPartsGiveTheSameStore) {
  auto one = options("one");
  run_embed(one);
  auto batched = options("batched");
  batched.batch_size = 3;
  batched.shard_size = 2;
  run_embed(batched);
  auto parts = options("parts");
  parts.shard = "1/2";
  const auto second = run_embed(parts);
  EXPECT_FALSE(second.complete);
  parts.shard = "0/2";
  const auto first = run_embed(parts);
  EXPECT_TRUE(first.complete);
  EXPECT_EQ(first.encoded + second.encoded, first.planned);

  const EmbeddingStore a(one.output), b(batched.output), c(parts.output);
  ASSERT_TRUE(b.complete());
  ASSERT_TRUE(c.complete());
  EXPECT_GT(b.shards().size(), 1u);
  for (const auto& slice : a.slices()) {
    EXPECT_TRUE(samri::test::all_close_rel(b.embedding(slice.id), a.embedding(slice.id), 1e-3));
    EXPECT_TRUE(torch::equal(c.embedding(slice.id), a.embedding(slice.id)));
  }
}

TEST_F(Embed, ARerunContinuesAndAFinishedStoreIsLeftAlone) {
  auto o = options("store");
  o.shard = "0/2";
  run_embed(o);  // half of the store, as if a run had died half-way
  o.shard = "0/1";
  o.resume = true;
  const auto rest = run_embed(o);
  EXPECT_EQ(rest.already_embedded + rest.encoded, rest.planned);
  EXPECT_GT(rest.already_embedded, 0);
  EXPECT_TRUE(rest.complete);
  const auto again = run_embed(o);
  EXPECT_EQ(again.encoded, 0);
  EXPECT_EQ(again.shards_written, 0);
  EXPECT_TRUE(EmbeddingStore(o.output).verify().ok());
  EXPECT_TRUE(fs::exists(fs::path(o.output) / "runs" / "p0000of0001.json"));
}

TEST_F(Embed, AStopSignalEndsTheRunCleanly) {
  auto o = options("store");
  samri::request_stop(SIGUSR1);
  const auto summary = run_embed(o);
  samri::clear_stop_request();
  EXPECT_TRUE(summary.stopped_by_signal);
  EXPECT_EQ(summary.remaining, summary.part_slices - summary.encoded);
  const auto rest = run_embed(o);
  EXPECT_TRUE(rest.complete);
}

TEST_F(Embed, ResumeOnAMissingStoreStartsIt) {
  auto o = options("new/store");
  o.resume = true;
  fs::create_directories(fs::path(o.output).parent_path());
  EXPECT_TRUE(run_embed(o).complete);
}

TEST_F(Embed, BadInputIsRefusedNamingTheProblem) {
  auto o = options("store");
  o.shard = "5/4";
  EXPECT_NE(error_of(o).find("--shard '5/4'"), std::string::npos);
  o.shard = "-1/2";
  EXPECT_NE(error_of(o).find("--shard '-1/2'"), std::string::npos);
  o.shard = "0/1";
  o.splits = {"training"};
  EXPECT_NE(error_of(o).find("unknown split 'training'"), std::string::npos);
  o.splits = {};
  o.data = {data_path("infer")};
  EXPECT_NE(error_of(o).find("not a samri-preprocess output folder"), std::string::npos)
      << error_of(o);
  EXPECT_FALSE(fs::exists(o.output));
}

TEST_F(Embed, AManifestNamingAMissingImageIsRefused) {
  const fs::path copy = fs::path(dir_) / "copy";
  fs::copy(slices_, copy, fs::copy_options::recursive);
  const auto manifest = samri::data::read_manifest(copy);
  fs::remove(copy / manifest.samples.back().image);
  auto o = options("store");
  o.data = {copy.string()};
  const std::string e = error_of(o);
  EXPECT_NE(e.find((copy / manifest.samples.back().image).string()), std::string::npos) << e;
  EXPECT_NE(e.find("missing"), std::string::npos) << e;
}

TEST_F(Embed, AStoreOfAnotherEncoderOrDtypeIsRefused) {
  auto o = options("store");
  o.shard = "0/2";
  run_embed(o);
  auto other = o;
  other.checkpoint = data_path("sam_tiny/sam_tiny_fp16.pth");
  const std::string e = error_of(other);
  EXPECT_NE(e.find("image encoder fingerprint"), std::string::npos) << e;
  EXPECT_NE(e.find("sam_tiny_fp16.pth"), std::string::npos) << e;
  other.allow_mismatch = true;
  EXPECT_NO_THROW(run_embed(other));
  auto int8 = o;
  int8.store_dtype = "int8";
  int8.allow_mismatch = true;
  const std::string d = error_of(int8);
  EXPECT_NE(d.find("store dtype: the store has fp16, this run has int8"), std::string::npos) << d;
}

TEST(EmbedPlan, PartsAreDisjointAndCoverThePlan) {
  std::set<std::int64_t> seen;
  for (int i = 0; i < 3; ++i) {
    for (auto id : samri::embed::part_slices(10, i, 3)) EXPECT_TRUE(seen.insert(id).second);
  }
  EXPECT_EQ(seen.size(), 10u);
  EXPECT_EQ(samri::embed::parse_shard_spec("3/4"), std::make_pair(3, 4));
  EXPECT_THROW(samri::embed::parse_shard_spec("4/4"), samri::Error);
  EXPECT_THROW(samri::embed::parse_shard_spec("1/0"), samri::Error);
  EXPECT_THROW(samri::embed::parse_shard_spec("a/2"), samri::Error);
}
