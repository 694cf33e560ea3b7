#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace samri::model::pickle {

struct Sequence;
struct Dict;

// A value of the restricted pickle machine. Containers live in an Arena and are referenced by
// pointer: memoised containers must be shared (SETITEMS on a memoised dict changes every copy, as
// in Python), and flat ownership means that neither cycles nor deep nesting can leak or overflow
// the C++ stack when the values are destroyed.
struct Value {
  enum class Kind {
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kGlobal,
    kStorage,
    kTensor,
    kTuple,
    kList,
    kDict
  };

  Kind kind = Kind::kNone;
  std::int64_t integer = 0;      // kBool, kInt
  double real = 0;               // kFloat
  std::string text;              // kString; kGlobal: "module.name"
  torch::Tensor tensor;          // kStorage: the whole storage, 1-D; kTensor
  Sequence* sequence = nullptr;  // kTuple, kList
  Dict* dict = nullptr;          // kDict

  bool is(Kind k) const { return kind == k; }
};

struct Sequence {
  std::vector<Value> items;
};

struct Dict {
  std::vector<std::pair<Value, Value>> items;  // in insertion order, as Python keeps them
  bool ordered = false;                        // a collections.OrderedDict
};

// Owns every container a pickle creates.
struct Arena {
  std::deque<Sequence> sequences;
  std::deque<Dict> dicts;
};

// Resolves a persistent id (the value BINPERSID pops) to a storage: a 1-D tensor holding the
// whole storage in its dtype. Throws samri::Error when the id or its record is not acceptable.
using StorageLoader = std::function<torch::Tensor(const Value& persistent_id)>;

// Runs the pickle in data[0, size) on a machine that knows only what a state_dict needs: dicts,
// OrderedDicts, lists, tuples, numbers, strings, and tensors rebuilt by
// torch._utils._rebuild_tensor_v2 / _rebuild_parameter over torch.*Storage persistent ids. Any
// other global, any unknown opcode and any malformed input throws samri::Error naming `source`;
// nothing is ever executed. The result's containers live in `arena`.
Value unpickle(const char* data, std::size_t size, const std::string& source,
               const StorageLoader& load_storage, Arena& arena);

// "dict", "tensor", ... for messages.
const char* kind_name(Value::Kind kind);

}  // namespace samri::model::pickle
