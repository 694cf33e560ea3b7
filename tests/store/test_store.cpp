#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "samri/core/error.h"
#include "samri/store/embedding_store.h"
#include "samri/store/store_layout.h"
#include "samri/store/store_writer.h"
#include "store/store_test_support.h"
#include "support/fixtures.h"

namespace fs = std::filesystem;
using samri::store::EmbeddingStore;
using samri::store::StoreDtype;
using samri::store::StoreWriter;
using samri::test::SyntheticStore;

namespace {

StoreWriter writer_for(const fs::path& root, const SyntheticStore& s, int part = 0, int parts = 1,
                       bool allow = false) {
  return StoreWriter(root, s.metadata, s.slices, s.samples, {part, parts, allow});
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const samri::Error& e) {
    return e.what();
  }
  return "(no error)";
}

// The bytes of `file` from `offset`, flipped.
void flip_byte(const fs::path& file, std::uint64_t offset) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(~c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

}  // namespace

TEST(StoreDtypes, EachDtypeRoundTripsWithinItsRounding) {
  torch::manual_seed(1);
  const auto x = torch::randn({3, 8, 4, 4}) * 5;
  for (auto dtype : {StoreDtype::kFloat32, StoreDtype::kFloat16, StoreDtype::kBFloat16}) {
    const auto enc = samri::store::encode_embeddings(x, dtype);
    auto out = torch::empty({8, 4, 4});
    for (int i = 0; i < 3; ++i) {
      samri::store::decode_embedding(enc.values[i].data_ptr(), dtype, nullptr, nullptr, out);
      const auto expected = x[i].to(enc.values.scalar_type()).to(torch::kFloat);
      EXPECT_TRUE(torch::equal(out, expected)) << samri::store::to_string(dtype);
    }
  }
}

TEST(StoreDtypes, Int8ErrorIsAtMostHalfAStepPerChannel) {
  torch::manual_seed(2);
  auto x = torch::randn({2, 6, 5, 5}) * 3 + 1;
  x[1][2].fill_(4.25);  // a constant channel decodes exactly
  for (auto scheme : {samri::store::Int8Scheme::kMinMax, samri::store::Int8Scheme::kAbsMax}) {
    const auto enc = samri::store::encode_embeddings(x, StoreDtype::kInt8, scheme);
    ASSERT_EQ(enc.values.scalar_type(), torch::kChar);
    auto out = torch::empty({6, 5, 5});
    for (int i = 0; i < 2; ++i) {
      samri::store::decode_embedding(enc.values[i].data_ptr(), StoreDtype::kInt8,
                                     enc.scales[i].data_ptr<float>(),
                                     enc.offsets[i].data_ptr<float>(), out);
      const auto err = (out - x[i]).abs().flatten(1).amax(1);
      EXPECT_TRUE((err <= enc.scales[i] * 0.5001 + 1e-6).all().item<bool>())
          << samri::store::to_string(scheme) << " slice " << i;
    }
    samri::store::decode_embedding(enc.values[1].data_ptr(), StoreDtype::kInt8,
                                   enc.scales[1].data_ptr<float>(),
                                   enc.offsets[1].data_ptr<float>(), out);
    EXPECT_FLOAT_EQ(out[2].min().item<float>(), 4.25f);
    EXPECT_FLOAT_EQ(out[2].max().item<float>(), 4.25f);
  }
}

TEST(StoreDtypes, ParseRefusesUnknownNames) {
  EXPECT_EQ(samri::store::parse_store_dtype("int8"), StoreDtype::kInt8);
  EXPECT_NE(error_of([] { samri::store::parse_store_dtype("fp64"); }).find("'fp64'"),
            std::string::npos);
}

class StoreRoundTrip : public ::testing::TestWithParam<StoreDtype> {};

TEST_P(StoreRoundTrip, WhatIsCommittedReadsBackByIdAndBatch) {
  const fs::path root = fs::path(samri::test::temp_dir()) / "store";
  const SyntheticStore s(7, GetParam());
  {
    auto w = writer_for(root, s);
    s.commit(w, {0, 1, 2, 3});
    s.commit(w, {4, 5, 6});
  }
  const EmbeddingStore store(root);
  EXPECT_TRUE(store.complete());
  EXPECT_EQ(store.shards().size(), 2u);
  ASSERT_EQ(store.samples().size(), 14u);
  EXPECT_EQ(store.samples()[2].slice, 1);
  EXPECT_EQ(*store.samples()[2].label_name, "one");
  EXPECT_FALSE(store.samples()[3].label_name.has_value());
  EXPECT_EQ(store.slices()[3].split, "val");
  const auto enc = samri::store::encode_embeddings(torch::stack(s.embeddings), GetParam());
  auto batch = torch::full({3, 4, 3, 5}, -99.0f);
  store.gather({6, 0, 4}, batch);
  int row = 0;
  for (std::int64_t id : {6, 0, 4}) {
    auto expected = torch::empty({4, 3, 5});
    samri::store::decode_embedding(
        enc.values[id].data_ptr(), GetParam(),
        enc.scales.defined() ? enc.scales[id].data_ptr<float>() : nullptr,
        enc.offsets.defined() ? enc.offsets[id].data_ptr<float>() : nullptr, expected);
    EXPECT_TRUE(torch::equal(batch[row++], expected)) << "slice " << id;
    EXPECT_TRUE(torch::equal(store.embedding(id), expected));
    EXPECT_TRUE(torch::equal(store.label_map(id), s.label_maps[id])) << "slice " << id;
  }
}

INSTANTIATE_TEST_SUITE_P(EveryDtype, StoreRoundTrip,
                         ::testing::Values(StoreDtype::kFloat16, StoreDtype::kBFloat16,
                                           StoreDtype::kFloat32, StoreDtype::kInt8));

TEST(Store, Fp16ReadsStraightIntoAnFp16Batch) {
  const fs::path root = fs::path(samri::test::temp_dir()) / "store";
  const SyntheticStore s(2);
  auto w = writer_for(root, s);
  s.commit(w, {0, 1});
  const EmbeddingStore store(root);
  auto batch = torch::empty({2, 4, 3, 5}, torch::kHalf);
  store.gather({1, 0}, batch);
  EXPECT_TRUE(torch::equal(batch[0], s.embeddings[1].to(torch::kHalf)));
}

TEST(Store, UnionOfPartsReadsWithoutMergeAndIsRelocatable) {
  const fs::path dir = samri::test::temp_dir();
  const SyntheticStore s(5);
  {
    auto part0 = writer_for(dir / "store", s, 0, 2);
    auto part1 = writer_for(dir / "store", s, 1, 2);
    s.commit(part0, {0, 2});
    s.commit(part1, {1, 3});
    s.commit(part0, {4});
  }
  EXPECT_TRUE(fs::exists(dir / "store" / "shards" / "p0000of0002-000001.h5"));
  fs::rename(dir / "store", dir / "moved");
  const EmbeddingStore store(dir / "moved");
  EXPECT_TRUE(store.complete());
  for (int id = 0; id < 5; ++id) {
    EXPECT_TRUE(
        torch::equal(store.embedding(id), s.embeddings[id].to(torch::kHalf).toType(torch::kFloat)));
  }
  const auto report = store.verify();
  EXPECT_TRUE(report.ok()) << (report.problems.empty() ? "" : report.problems[0]);
  EXPECT_EQ(report.rows_checked, 5);
}

TEST(Store, ReopeningContinuesAndKnowsWhatIsEmbedded) {
  const fs::path root = fs::path(samri::test::temp_dir()) / "store";
  const SyntheticStore s(4);
  {
    auto w = writer_for(root, s);
    s.commit(w, {0, 1});
  }
  auto w = writer_for(root, s);
  EXPECT_EQ(w.embedded().size(), 2u);
  s.commit(w, {2, 3});
  EXPECT_TRUE(fs::exists(root / "shards" / "p0000of0001-000001.json"));
  const EmbeddingStore store(root);
  EXPECT_TRUE(store.complete());
  EXPECT_THROW(store.embedding(4), samri::Error);
}

TEST(Store, AnIncompleteStoreSaysWhichSliceIsMissing) {
  const fs::path root = fs::path(samri::test::temp_dir()) / "store";
  const SyntheticStore s(3);
  auto w = writer_for(root, s);
  s.commit(w, {0});
  const EmbeddingStore store(root);
  EXPECT_FALSE(store.complete());
  const std::string e = error_of([&] { store.embedding(2); });
  EXPECT_NE(e.find("synth/images/s2.nii.gz"), std::string::npos) << e;
  EXPECT_NE(e.find("not embedded yet"), std::string::npos) << e;
  EXPECT_EQ(store.verify().notes.size(), 1u);
}

TEST(Store, ADamagedRowIsRefusedBeforeUseAndFoundByVerify) {
  const fs::path root = fs::path(samri::test::temp_dir()) / "store";
  const SyntheticStore s(3);
  {
    auto w = writer_for(root, s);
    s.commit(w, {0, 1, 2});
  }
  const fs::path shard = root / "shards" / "p0000of0001-000000.h5";
  const auto layout = samri::store::read_shard_layout(shard);
  flip_byte(shard, layout.embeddings_offset + layout.row_bytes() + 7);  // slice 1
  const EmbeddingStore store(root);
  EXPECT_NO_THROW(store.embedding(0));
  const std::string e = error_of([&] { store.embedding(1); });
  EXPECT_NE(e.find("checksum"), std::string::npos) << e;
  EXPECT_NE(e.find(shard.string()), std::string::npos) << e;
  const auto report = store.verify();
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.problems[0].find("sha256"), std::string::npos) << report.problems[0];
}

TEST(Store, ATruncatedShardIsRefused) {
  const fs::path root = fs::path(samri::test::temp_dir()) / "store";
  const SyntheticStore s(2);
  {
    auto w = writer_for(root, s);
    s.commit(w, {0, 1});
  }
  const fs::path shard = root / "shards" / "p0000of0001-000000.h5";
  fs::resize_file(shard, fs::file_size(shard) / 2);
  const EmbeddingStore store(root);
  const std::string e = error_of([&] { store.embedding(0); });
  EXPECT_NE(e.find(shard.string()), std::string::npos) << e;
  EXPECT_FALSE(store.verify().ok());
}

TEST(Store, AnotherEncoderOrDtypeIsRefusedWithBothValues) {
  const fs::path root = fs::path(samri::test::temp_dir()) / "store";
  SyntheticStore s(2);
  writer_for(root, s);
  SyntheticStore other = s;
  other.metadata.encoder_fingerprint = "enc1-ffffffffffffffffffffffffffffffff";
  other.metadata.checkpoint_file = "other.pth";
  const std::string e = error_of([&] { writer_for(root, other); });
  EXPECT_NE(e.find("enc1-00000000000000000000000000000001"), std::string::npos) << e;
  EXPECT_NE(e.find("enc1-ffffffffffffffffffffffffffffffff"), std::string::npos) << e;
  EXPECT_NE(e.find("--allow-mismatch"), std::string::npos) << e;
  EXPECT_NO_THROW(writer_for(root, other, 0, 1, /*allow=*/true));

  SyntheticStore int8 = s;
  int8.metadata.dtype = StoreDtype::kInt8;
  const std::string d = error_of([&] { writer_for(root, int8, 0, 1, /*allow=*/true); });
  EXPECT_NE(d.find("store dtype: the store has fp16, this run has int8"), std::string::npos) << d;
}

TEST(Store, ReadersRefuseAnotherEncoderUnlessAllowed) {
  const fs::path root = fs::path(samri::test::temp_dir()) / "store";
  const SyntheticStore s(1);
  writer_for(root, s);
  const EmbeddingStore store(root);
  const auto vit_b = samri::model::SamConfig::vit_b();
  EXPECT_NO_THROW(store.check_compatible(s.metadata.encoder_fingerprint, vit_b, false));
  const std::string e = error_of([&] { store.check_compatible("enc1-other", vit_b, false); });
  EXPECT_NE(e.find("enc1-other"), std::string::npos) << e;
  EXPECT_NE(e.find(s.metadata.encoder_fingerprint), std::string::npos) << e;
  const std::string a = error_of([&] {
    store.check_compatible(s.metadata.encoder_fingerprint, samri::model::SamConfig::vit_l(), false);
  });
  EXPECT_NE(a.find("architecture"), std::string::npos) << a;
  EXPECT_NO_THROW(store.check_compatible("enc1-other", vit_b, true));
  EXPECT_EQ(store.config().image_encoder.embed_dim, 768);
}

TEST(Store, LeftoversOfThisPartAreRemovedAndOtherPartsKept) {
  const fs::path root = fs::path(samri::test::temp_dir()) / "store";
  const SyntheticStore s(4);
  {
    auto w = writer_for(root, s, 0, 2);
    s.commit(w, {0});
  }
  const fs::path shards = root / "shards";
  for (const char* name : {".p0000of0002-000001.tmp99.partial", "p0000of0002-000001.h5",
                           ".p0001of0002-000000.tmp98.partial", "p0001of0002-000000.h5"}) {
    std::ofstream(shards / name) << "junk";
  }
  EXPECT_FALSE(EmbeddingStore(root).verify().ok());
  writer_for(root, s, 0, 2);
  EXPECT_FALSE(fs::exists(shards / ".p0000of0002-000001.tmp99.partial"));
  EXPECT_FALSE(fs::exists(shards / "p0000of0002-000001.h5"));
  EXPECT_TRUE(fs::exists(shards / ".p0001of0002-000000.tmp98.partial"));
  EXPECT_TRUE(fs::exists(shards / "p0000of0002-000000.h5"));
  writer_for(root, s, 1, 2);
  EXPECT_FALSE(fs::exists(shards / "p0001of0002-000000.h5"));
  EXPECT_TRUE(EmbeddingStore(root).verify().ok());
}

TEST(Store, AFolderThatIsNotAStoreIsRefused) {
  const fs::path dir = samri::test::temp_dir();
  std::ofstream(dir / "notes.txt") << "mine";
  const SyntheticStore s(1);
  const std::string e = error_of([&] { writer_for(dir, s); });
  EXPECT_NE(e.find("not an embedding store"), std::string::npos) << e;
  const std::string r = error_of([&] { EmbeddingStore store(dir); });
  EXPECT_NE(r.find("no store.json"), std::string::npos) << r;
}

// A full disk, simulated by a file size limit in a child process: the write fails with a message
// naming the shard, and neither a temporary nor a partial shard is left.
TEST(StoreDeathTest, AFullDiskLeavesNothingHalfWritten) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const fs::path root = fs::path(samri::test::temp_dir()) / "store";
  const SyntheticStore s(64);
  auto w = writer_for(root, s);
  std::vector<std::int64_t> all(64);
  std::iota(all.begin(), all.end(), 0);
  auto child = [&] {
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{2048, 2048};
    setrlimit(RLIMIT_FSIZE, &limit);
    const std::string e = error_of([&] { s.commit(w, all); });
    std::fprintf(stderr, "%s\n", e.c_str());
    std::exit(e.find("p0000of0001-000000.h5") != std::string::npos ? 0 : 1);
  };
  EXPECT_EXIT(child(), ::testing::ExitedWithCode(0), "p0000of0001-000000.h5");
  for (const auto& entry : fs::directory_iterator(root / "shards")) {
    ADD_FAILURE() << "left behind: " << entry.path();
  }
}
