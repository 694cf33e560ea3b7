#include "samri/model/pickle_writer.h"

#include <cstdint>
#include <map>
#include <set>

#include <c10/util/strides.h>

#include "samri/core/error.h"
#include "samri/model/pickle_storage_types.h"

namespace samri::model::pickle {
namespace {

// Python's pickler puts SETITEMS batches of at most this many pairs.
constexpr std::size_t kBatch = 1000;

// Emits protocol-2 opcodes. Globals are memoised so that each is spelt out once, as Python does.
class Writer {
 public:
  std::string finish() {
    out_ += '.';  // STOP
    return std::move(out_);
  }
  void op(char c) { out_ += c; }
  void proto() { out_ += "\x80\x02"; }
  void global(const std::string& module, const std::string& name) {
    const std::string key = module + "\n" + name + "\n";
    const auto it = memo_.find(key);
    if (it != memo_.end()) return get(it->second);
    out_ += 'c' + key;
    put(key);
  }
  void string(const std::string& s) {
    out_ += 'X';
    little_endian(s.size(), 4);
    out_ += s;
  }
  void integer(std::int64_t v) {
    if (v >= 0 && v < 256) {
      out_ += 'K';
      little_endian(static_cast<std::uint64_t>(v), 1);
    } else if (v >= 0 && v < 65536) {
      out_ += 'M';
      little_endian(static_cast<std::uint64_t>(v), 2);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      out_ += 'J';
      little_endian(static_cast<std::uint64_t>(v), 4);
    } else {
      out_ += "\x8a\x08";  // LONG1 with 8 bytes of two's complement
      little_endian(static_cast<std::uint64_t>(v), 8);
    }
  }
  void int_tuple(c10::IntArrayRef values) {
    if (values.size() > 3) op('(');
    for (const auto v : values) integer(v);
    static const char kTupleOps[] = {')', '\x85', '\x86', '\x87'};
    op(values.size() > 3 ? 't' : kTupleOps[values.size()]);
  }
  // collections.OrderedDict()
  void empty_ordered_dict() {
    global("collections", "OrderedDict");
    op(')');
    op('R');
  }

 private:
  void little_endian(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_ += static_cast<char>((v >> (8 * i)) & 0xff);
  }
  void put(const std::string& key) {
    const auto index = static_cast<std::uint32_t>(memo_.size());
    memo_[key] = index;
    out_ += 'r';  // LONG_BINPUT
    little_endian(index, 4);
  }
  void get(std::uint32_t index) {
    out_ += 'j';  // LONG_BINGET
    little_endian(index, 4);
  }

  std::string out_;
  std::map<std::string, std::uint32_t> memo_;
};

std::string class_for(const std::string& key, const torch::Tensor& t) {
  const auto name = storage_class(t.scalar_type());
  if (!name) {
    throw Error(std::string("cannot save tensor ") + key + " of dtype " +
                c10::toString(t.scalar_type()) + " in a checkpoint");
  }
  return *name;
}

// _rebuild_tensor_v2(('storage', torch.X, "index", 'cpu', numel), 0, size, stride, False,
// OrderedDict())
void write_tensor(Writer& w, const std::string& key, const torch::Tensor& t, std::size_t index) {
  w.global("torch._utils", "_rebuild_tensor_v2");
  w.op('(');
  w.op('(');
  w.string("storage");
  w.global("torch", class_for(key, t));
  w.string(std::to_string(index));
  w.string("cpu");
  w.integer(t.numel());
  w.op('t');
  w.op('Q');  // BINPERSID
  w.integer(0);
  w.int_tuple(t.sizes());
  w.int_tuple(c10::contiguous_strides(t.sizes()));
  w.op('\x89');  // False
  w.empty_ordered_dict();
  w.op('t');
  w.op('R');
}

// Module prefixes of the keys ("", "a", "a.b" for "a.b.weight"), each with {"version": 1}, the
// per-module metadata torch's load_state_dict passes on to each module.
void write_metadata(Writer& w, const StateDict& state_dict) {
  std::set<std::string> modules{""};
  for (const auto& [key, tensor] : state_dict.items()) {
    for (auto dot = key.find('.'); dot != std::string::npos; dot = key.find('.', dot + 1)) {
      modules.insert(key.substr(0, dot));
    }
  }
  w.op('}');
  w.string("_metadata");
  w.empty_ordered_dict();
  for (const auto& module : modules) {
    w.string(module);
    w.op('}');
    w.string("version");
    w.integer(1);
    w.op('s');
    w.op('s');
  }
  w.op('s');
}

}  // namespace

std::string state_dict_pickle(const StateDict& state_dict) {
  Writer w;
  w.proto();
  w.empty_ordered_dict();
  const auto& items = state_dict.items();
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i % kBatch == 0) w.op('(');
    w.string(items[i].first);
    write_tensor(w, items[i].first, items[i].second, i);
    if (i % kBatch == kBatch - 1 || i + 1 == items.size()) w.op('u');
  }
  write_metadata(w, state_dict);
  w.op('b');  // BUILD: sets the _metadata attribute
  return w.finish();
}

}  // namespace samri::model::pickle
