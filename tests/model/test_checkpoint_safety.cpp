// read_checkpoint on hostile and broken input: every case must end in a samri::Error that names
// the file, never in a crash, another exception type, or executed code.
#include <gtest/gtest.h>

#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "samri/core/error.h"
#include "samri/model/checkpoint.h"
#include "samri/model/pickle_reader.h"
#include "samri/model/pickle_writer.h"
#include "support/fixtures.h"

namespace samri::model {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;
using Records = std::vector<std::pair<std::string, std::string>>;

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A zip archive in torch's layout holding exactly `records` (plus the writer's "version").
void write_zip(const std::string& path, const Records& records) {
  caffe2::serialize::PyTorchStreamWriter writer(path);
  for (const auto& [name, bytes] : records) writer.writeRecord(name, bytes.data(), bytes.size());
  writer.writeEndOfFile();
}

std::string tiny_data_pkl() {
  caffe2::serialize::PyTorchStreamReader reader(samri::test::data_path("sam_tiny/sam_tiny.pth"));
  const auto [data, size] = reader.getRecord("data.pkl");
  return std::string(static_cast<const char*>(data.get()), size);
}

// data.pkl for {"w": 10 floats} (storage data/0).
std::string ten_floats_pkl() {
  StateDict sd;
  sd.insert("w", torch::zeros({10}));
  return pickle::state_dict_pickle(sd);
}

// Expects read_checkpoint(path) to throw a samri::Error naming the file and containing `part`.
void expect_refused(const std::string& path, const std::string& part) {
  try {
    read_checkpoint(path);
    ADD_FAILURE() << path << " was accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(fs::path(path).filename().string()), std::string::npos) << message;
    EXPECT_NE(message.find(part), std::string::npos) << message;
  } catch (const std::exception& e) {
    ADD_FAILURE() << path << " threw a non-samri exception: " << e.what();
  }
}

TEST(CheckpointSafety, EvilPickleIsRefusedAndRunsNothing) {
  const fs::path work = samri::test::temp_dir();
  const fs::path cwd = fs::current_path();
  fs::current_path(work);
  const std::string evil = samri::test::data_path("sam_tiny/evil.pth");
  try {
    read_checkpoint(evil);
    ADD_FAILURE() << "evil.pth was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              evil +
                  ": refusing to load: the pickle calls posix.system (a checkpoint may only "
                  "contain tensors, dicts, lists and numbers)");
  }
  fs::current_path(cwd);
  EXPECT_FALSE(fs::exists(work / "checkpoint_ran_code.txt"));
  EXPECT_TRUE(fs::is_empty(work));
}

TEST(CheckpointSafety, NotAZipArchive) {
  const std::string dir = samri::test::temp_dir();
  write_file(dir + "/empty.pth", "");
  expect_refused(dir + "/empty.pth", "empty");
  write_file(dir + "/text.pth", "hello, this is not a checkpoint\n");
  expect_refused(dir + "/text.pth", "not a zip");
  write_file(dir + "/legacy.pth", "\x80\x02K\x05."s);
  expect_refused(dir + "/legacy.pth", "legacy");
  expect_refused(dir + "/absent.pth", "cannot open");
  expect_refused(dir, "is a folder");
}

TEST(CheckpointSafety, RandomBytes) {
  const std::string dir = samri::test::temp_dir();
  std::mt19937 rng(42);
  for (int i = 0; i < 20; ++i) {
    std::string bytes(1 + rng() % 5000, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    // Half of them pretend to be zip archives so that the zip reader has to cope.
    if (i % 2 == 0 && bytes.size() >= 4) bytes.replace(0, 4, "PK\x03\x04");
    const std::string path = dir + "/random" + std::to_string(i) + ".pth";
    write_file(path, bytes);
    expect_refused(path, "");
  }
}

TEST(CheckpointSafety, TruncatedArchive) {
  const std::string dir = samri::test::temp_dir();
  const std::string whole = read_file(samri::test::data_path("sam_tiny/sam_tiny.pth"));
  for (const double fraction : {0.01, 0.3, 0.5, 0.9, 0.999}) {
    const std::string path = dir + "/cut" + std::to_string(fraction) + ".pth";
    write_file(path, whole.substr(0, static_cast<std::size_t>(whole.size() * fraction)));
    expect_refused(path, "");
  }
}

TEST(CheckpointSafety, MissingOrShortRecords) {
  const std::string dir = samri::test::temp_dir();
  write_zip(dir + "/no_pickle.pth", {{"weights", "abc"}});
  expect_refused(dir + "/no_pickle.pth", "has no data.pkl");
  write_zip(dir + "/no_storage.pth", {{"data.pkl", ten_floats_pkl()}});
  expect_refused(dir + "/no_storage.pth", "storage record data/0 is missing");
  write_zip(dir + "/short.pth", {{"data.pkl", ten_floats_pkl()}, {"data/0", std::string(36, 0)}});
  expect_refused(dir + "/short.pth", "storage record data/0 has 36 bytes");
  write_zip(dir + "/exact.pth", {{"data.pkl", ten_floats_pkl()}, {"data/0", std::string(40, 0)}});
  EXPECT_EQ(read_checkpoint(dir + "/exact.pth").at("w").numel(), 10);
}

// Wraps a hand-written pickle (and one 40-byte storage) in an archive and expects refusal.
void expect_pickle_refused(const std::string& name, const std::string& pkl,
                           const std::string& part) {
  const std::string path = samri::test::temp_dir() + "/" + name + ".pth";
  write_zip(path, {{"data.pkl", pkl}, {"data/0", std::string(40, 0)}});
  expect_refused(path, part);
}

// ('storage', torch.FloatStorage, '0', 'cpu', 10) then BINPERSID: one 10-float storage.
const std::string kStorage =
    "((X\x07\0\0\0storagectorch\nFloatStorage\nX\x01\0\0\0"
    "0X\x03\0\0\0cpuK\x0atQ"s;

TEST(CheckpointSafety, MalformedPickles) {
  expect_pickle_refused("underflow", "\x80\x02s."s, "stack underflow");
  expect_pickle_refused("unknown_opcode", "\x80\x02\xff."s, "opcode 0xff");
  expect_pickle_refused("newobj", "\x80\x02}\x81."s, "opcode 0x81");
  expect_pickle_refused("no_stop", "\x80\x02}"s, "unexpected end");
  expect_pickle_refused("bad_memo", "\x80\x02h\x07."s, "memo entry 7");
  expect_pickle_refused("not_a_dict", "\x80\x02K\x05."s, "holds a int");
  expect_pickle_refused("long_string", "\x80\x02X\xff\xff\xff\x7f."s, "past the end");
  expect_pickle_refused("marks", "\x80\x02"s + std::string(1 << 21, '(') + ".", "too many MARKs");
  expect_pickle_refused("stack", "\x80\x02"s + std::string(1 << 21, ']') + ".", "stack too deep");
  expect_pickle_refused("builtins",
                        "\x80\x02"
                        "cbuiltins\neval\n."s,
                        "calls builtins.eval");
  expect_pickle_refused("call_storage",
                        "\x80\x02"
                        "ctorch\nFloatStorage\n)R."s,
                        "calls torch.FloatStorage with unexpected arguments");
  const std::string rebuild = "ctorch._utils\n_rebuild_tensor_v2\n"s;
  expect_pickle_refused(
      "past_storage",
      "\x80\x02}X\x01\0\0\0w"s + rebuild + kStorage + "K\x00K\x0b\x85K\x01\x85\x89}tRs."s,
      "does not fit its storage of 10 elements");
  expect_pickle_refused(
      "offset_past_storage",
      "\x80\x02}X\x01\0\0\0w"s + rebuild + kStorage + "K\x08K\x02\x85K\x02\x85\x89}tRs."s,
      "does not fit");
  expect_pickle_refused("bad_storage_type",
                        "\x80\x02((X\x07\0\0\0storagectorch\nComplexFloatStorage\n."s,
                        "calls torch.ComplexFloatStorage");
  const std::string tiny = tiny_data_pkl();
  // Cut before the first storage id, so that only the pickle itself is at fault.
  expect_pickle_refused("cut_pickle", tiny.substr(0, 150), "malformed pickle");
}

TEST(CheckpointSafety, StridedViewsOfOneStorage) {
  // Two tensors over the one 10-float storage: a strided view and a slice at an offset.
  const std::string rebuild = "ctorch._utils\n_rebuild_tensor_v2\n"s;
  const std::string pkl = "\x80\x02}(X\x01\0\0\0a"s + rebuild + kStorage +
                          "q\x00K\x01K\x02K\x02\x86K\x01K\x04\x86\x89}tR"s + "X\x01\0\0\0b"s +
                          rebuild + "(h\x00K\x06K\x04\x85K\x01\x85\x89}tRu."s;
  std::string floats(40, '\0');
  for (int i = 0; i < 10; ++i) {
    const float v = static_cast<float>(i);
    std::memcpy(&floats[4 * i], &v, 4);
  }
  const std::string path = samri::test::temp_dir() + "/views.pth";
  write_zip(path, {{"data.pkl", pkl}, {"data/0", floats}});
  const StateDict sd = read_checkpoint(path);
  EXPECT_TRUE(torch::equal(sd.at("a"), torch::tensor({{1.f, 5.f}, {2.f, 6.f}})));
  EXPECT_TRUE(torch::equal(sd.at("b"), torch::tensor({6.f, 7.f, 8.f, 9.f})));
}

// A loader for fuzzing the pickle machine alone: any well-formed storage id gives zeros.
torch::Tensor fake_storage(const pickle::Value& id) {
  using Kind = pickle::Value::Kind;
  if (!id.is(Kind::kTuple) || id.sequence->items.size() != 5 ||
      !id.sequence->items[4].is(Kind::kInt) || id.sequence->items[4].integer < 0 ||
      id.sequence->items[4].integer > (1 << 20)) {
    throw Error("fuzz: bad storage id");
  }
  return torch::zeros({id.sequence->items[4].integer});
}

TEST(CheckpointSafety, FuzzedPicklesFailCleanly) {
  const std::string original = tiny_data_pkl();
  std::mt19937 rng(7);
  int accepted = 0;
  for (int round = 0; round < 400; ++round) {
    std::string pkl = original;
    if (round % 4 == 3) {
      pkl.resize(rng() % pkl.size());
    } else {
      for (int flips = 1 + rng() % 4; flips > 0; --flips) pkl[rng() % pkl.size()] = rng();
    }
    pickle::Arena arena;
    try {
      pickle::unpickle(pkl.data(), pkl.size(), "fuzz.pth", fake_storage, arena);
      ++accepted;
    } catch (const Error&) {
    } catch (const std::exception& e) {
      ADD_FAILURE() << "round " << round << ": non-samri exception " << e.what();
    }
  }
  // Flips inside tensor data values keep the pickle valid; most others must be caught.
  EXPECT_LT(accepted, 400);
}

}  // namespace
}  // namespace samri::model
