// The restricted pickle machine on plain data, pickled by Python 3.11's pickle.dumps of
//   shared = {"version": 1}
//   {"ints": [1, -2, 300, 70000, -2**31, 2**40, -2**40], "float": -1.5e-8, "none": None,
//    "flags": (True, False), "m1": shared, "m2": shared}
// at protocols 2 and 4 (the optimizer state of training checkpoints holds such values).
#include <gtest/gtest.h>

#include "samri/core/error.h"
#include "samri/model/pickle_reader.h"

namespace samri::model::pickle {
namespace {

using namespace std::string_literals;
using Kind = Value::Kind;

const std::string kProtocol2 =
    "\x80\x02\x7d\x71\x00\x28\x58\x04\x00\x00\x00\x69\x6e\x74\x73\x71\x01\x5d\x71\x02\x28\x4b\x01"
    "\x4a\xfe\xff\xff\xff\x4d\x2c\x01\x4a\x70\x11\x01\x00\x4a\x00\x00\x00\x80\x8a\x06\x00\x00\x00"
    "\x00\x00\x01\x8a\x06\x00\x00\x00\x00\x00\xff\x65\x58\x05\x00\x00\x00\x66\x6c\x6f\x61\x74\x71"
    "\x03\x47\xbe\x50\x1b\x2b\x29\xa4\x69\x2b\x58\x04\x00\x00\x00\x6e\x6f\x6e\x65\x71\x04\x4e\x58"
    "\x05\x00\x00\x00\x66\x6c\x61\x67\x73\x71\x05\x88\x89\x86\x71\x06\x58\x02\x00\x00\x00\x6d\x31"
    "\x71\x07\x7d\x71\x08\x58\x07\x00\x00\x00\x76\x65\x72\x73\x69\x6f\x6e\x71\x09\x4b\x01\x73\x58"
    "\x02\x00\x00\x00\x6d\x32\x71\x0a\x68\x08\x75\x2e"s;

const std::string kProtocol4 =
    "\x80\x04\x95\x74\x00\x00\x00\x00\x00\x00\x00\x7d\x94\x28\x8c\x04\x69\x6e\x74\x73\x94\x5d\x94"
    "\x28\x4b\x01\x4a\xfe\xff\xff\xff\x4d\x2c\x01\x4a\x70\x11\x01\x00\x4a\x00\x00\x00\x80\x8a\x06"
    "\x00\x00\x00\x00\x00\x01\x8a\x06\x00\x00\x00\x00\x00\xff\x65\x8c\x05\x66\x6c\x6f\x61\x74\x94"
    "\x47\xbe\x50\x1b\x2b\x29\xa4\x69\x2b\x8c\x04\x6e\x6f\x6e\x65\x94\x4e\x8c\x05\x66\x6c\x61\x67"
    "\x73\x94\x88\x89\x86\x94\x8c\x02\x6d\x31\x94\x7d\x94\x8c\x07\x76\x65\x72\x73\x69\x6f\x6e\x94"
    "\x4b\x01\x73\x8c\x02\x6d\x32\x94\x68\x08\x75\x2e"s;

torch::Tensor no_storage(const Value&) { throw Error("no storages expected"); }

const Value& entry(const Value& dict, const std::string& key) {
  for (const auto& [k, v] : dict.dict->items) {
    if (k.is(Kind::kString) && k.text == key) return v;
  }
  throw std::runtime_error("no key " + key);
}

void check(const std::string& bytes) {
  Arena arena;
  const Value top = unpickle(bytes.data(), bytes.size(), "plain.pkl", no_storage, arena);
  ASSERT_TRUE(top.is(Kind::kDict));
  EXPECT_FALSE(top.dict->ordered);
  ASSERT_EQ(top.dict->items.size(), 6u);
  const Value ints = entry(top, "ints");  // a copy: GCC 13 flags a reference as dangling
  ASSERT_TRUE(ints.is(Kind::kList));
  const std::vector<int64_t> want{
      1, -2, 300, 70000, -(int64_t{1} << 31), int64_t{1} << 40, -(int64_t{1} << 40)};
  ASSERT_EQ(ints.sequence->items.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_TRUE(ints.sequence->items[i].is(Kind::kInt));
    EXPECT_EQ(ints.sequence->items[i].integer, want[i]);
  }
  EXPECT_TRUE(entry(top, "float").is(Kind::kFloat));
  EXPECT_EQ(entry(top, "float").real, -1.5e-8);
  EXPECT_TRUE(entry(top, "none").is(Kind::kNone));
  const Value flags = entry(top, "flags");
  ASSERT_TRUE(flags.is(Kind::kTuple));
  EXPECT_EQ(flags.sequence->items[0].integer, 1);
  EXPECT_EQ(flags.sequence->items[1].integer, 0);
  // m2 is a memo reference to m1, filled after it was memoised: both must see "version".
  EXPECT_EQ(entry(top, "m1").dict, entry(top, "m2").dict);
  EXPECT_EQ(entry(entry(top, "m2"), "version").integer, 1);
}

TEST(CheckpointPickle, Protocol2Values) { check(kProtocol2); }

TEST(CheckpointPickle, Protocol4Values) { check(kProtocol4); }

TEST(CheckpointPickle, ErrorsNameTheSourceAndPosition) {
  Arena arena;
  const std::string bytes = "\x80\x02K\x01K\x02\x87."s;  // TUPLE3 of two values
  try {
    unpickle(bytes.data(), bytes.size(), "x.pth", no_storage, arena);
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "x.pth: malformed pickle (data.pkl): stack underflow at byte 6");
  }
}

}  // namespace
}  // namespace samri::model::pickle
