// write_checkpoint: round trips through read_checkpoint, and (where Debian's python3-torch is
// installed) through Python's own torch.load and Module.load_state_dict.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "samri/core/error.h"
#include "samri/model/checkpoint.h"
#include "support/fixtures.h"

namespace samri::model {
namespace {

namespace fs = std::filesystem;

// Every dtype the official layout covers, plus a transposed (non-contiguous) tensor, a 0-dim
// tensor and an empty one. The Python check below rebuilds exactly these.
StateDict sample() {
  StateDict sd;
  sd.insert("lin.weight", torch::arange(6, torch::kFloat).reshape({2, 3}) / 4);
  sd.insert("lin.bias", torch::tensor({-1.5f, 2.25f}));
  sd.insert("scale", torch::tensor(3.5));
  sd.insert("extra.f16", torch::arange(12, torch::kHalf).reshape({3, 4}).t());
  sd.insert("extra.bf16", torch::arange(5, torch::kBFloat16) * 0.5);
  sd.insert("extra.i64", torch::tensor({-(int64_t{1} << 40), int64_t{7}, int64_t{1} << 40}));
  sd.insert("extra.i32", torch::tensor({-3, 70000}, torch::kInt));
  sd.insert("extra.u8", torch::tensor({0, 255}, torch::kByte));
  sd.insert("extra.flag", torch::tensor({true, false, true}));
  sd.insert("extra.empty", torch::zeros({0, 3}));
  return sd;
}

void expect_same(const StateDict& actual, const StateDict& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto& [key, want] = expected.items()[i];
    const auto& [got_key, got] = actual.items()[i];
    EXPECT_EQ(got_key, key);
    EXPECT_EQ(got.scalar_type(), want.scalar_type()) << key;
    EXPECT_TRUE(torch::equal(got, want)) << key;
  }
}

TEST(CheckpointWrite, RoundTripKeepsDtypesShapesAndOrder) {
  const std::string path = samri::test::temp_dir() + "/sample.pth";
  write_checkpoint(path, sample());
  CheckpointReadInfo info;
  expect_same(read_checkpoint(path, &info), sample());
  EXPECT_TRUE(info.ordered_dict);
  EXPECT_TRUE(info.stripped.empty());
}

TEST(CheckpointWrite, RoundTripOfTheTinySam) {
  const std::string path = samri::test::temp_dir() + "/tiny.pth";
  write_checkpoint(path, samri::test::tiny_weights());
  expect_same(read_checkpoint(path), samri::test::tiny_weights());
}

TEST(CheckpointWrite, ReplacesAtomicallyAndLeavesNoTemporaries) {
  const std::string dir = samri::test::temp_dir();
  const std::string path = dir + "/model.pth";
  write_checkpoint(path, samri::test::tiny_weights());
  write_checkpoint(path, sample());
  expect_same(read_checkpoint(path), sample());
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

TEST(CheckpointWrite, FailuresLeaveNothingBehind) {
  const std::string dir = samri::test::temp_dir();
  StateDict complex;
  complex.insert("z", torch::zeros({2}, torch::kComplexFloat));
  EXPECT_THROW(write_checkpoint(dir + "/complex.pth", complex), Error);
  EXPECT_THROW(write_checkpoint(dir + "/missing/folder.pth", sample()), Error);
  EXPECT_TRUE(fs::is_empty(dir));
}

// Loads the files with Python's torch and compares them with tensors it builds itself.
const char* const kPythonCheck = R"(
import collections, sys, torch
sample_path, tiny_copy, tiny_ref = sys.argv[1:4]
sd = torch.load(sample_path)
assert type(sd) is collections.OrderedDict and hasattr(sd, "_metadata"), type(sd)
want = collections.OrderedDict([
    ("lin.weight", torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4),
    ("lin.bias", torch.tensor([-1.5, 2.25])),
    ("scale", torch.tensor(3.5)),
    ("extra.f16", torch.arange(12, dtype=torch.float16).reshape(3, 4).t()),
    ("extra.bf16", torch.arange(5, dtype=torch.bfloat16) * 0.5),
    ("extra.i64", torch.tensor([-(1 << 40), 7, 1 << 40])),
    ("extra.i32", torch.tensor([-3, 70000], dtype=torch.int32)),
    ("extra.u8", torch.tensor([0, 255], dtype=torch.uint8)),
    ("extra.flag", torch.tensor([True, False, True])),
    ("extra.empty", torch.zeros(0, 3)),
])
assert list(sd) == list(want), list(sd)
for k, v in want.items():
    assert sd[k].dtype == v.dtype and torch.equal(sd[k], v), (k, sd[k], v)

class Extra(torch.nn.Module):
    def __init__(self):
        super().__init__()
        for k, v in want.items():
            if k.startswith("extra."):
                self.register_buffer(k[6:], torch.zeros_like(v))

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 2)
        self.register_buffer("scale", torch.tensor(0.0))
        self.extra = Extra()

net = Net()
net.load_state_dict(sd)  # strict
assert torch.equal(net.lin.weight.detach(), want["lin.weight"])
assert torch.equal(net.extra.f16, want["extra.f16"])

copy, ref = torch.load(tiny_copy), torch.load(tiny_ref)
assert list(copy) == list(ref)
assert all(torch.equal(copy[k], ref[k]) for k in ref)
print("python check ok")
)";

TEST(CheckpointWrite, PythonTorchLoadAcceptsTheFile) {
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "/usr/bin/python3 with torch is not installed";
  }
  const std::string dir = samri::test::temp_dir();
  write_checkpoint(dir + "/sample.pth", sample());
  write_checkpoint(dir + "/tiny.pth", samri::test::tiny_weights());
  std::ofstream(dir + "/check.py") << kPythonCheck;
  const std::string log = dir + "/check.log";
  const std::string command = "/usr/bin/python3 " + dir + "/check.py " + dir + "/sample.pth " +
                              dir + "/tiny.pth " + samri::test::data_path("sam_tiny/sam_tiny.pth") +
                              " >" + log + " 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream in(log);
  const std::string output{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_EQ(status, 0) << output;
  EXPECT_NE(output.find("python check ok"), std::string::npos) << output;
}

}  // namespace
}  // namespace samri::model
