#include "samri/model/pickle_reader.h"

#include <cstring>
#include <unordered_map>

#include "samri/core/error.h"
#include "samri/model/pickle_storage_types.h"

namespace samri::model::pickle {
namespace {

using Kind = Value::Kind;

// Far above what any state_dict or training checkpoint needs (a ViT-H state_dict uses ~10^4
// memo entries and a stack of a few dozen), low enough that hostile input cannot exhaust memory.
constexpr std::size_t kMaxStack = 1 << 20;
constexpr std::size_t kMaxMemo = 1 << 22;
constexpr std::size_t kMaxDims = 64;

const char* const kOnlyData = "a checkpoint may only contain tensors, dicts, lists and numbers";

bool is_allowed_global(const std::string& name) {
  return name == "collections.OrderedDict" || name == "torch._utils._rebuild_tensor_v2" ||
         name == "torch._utils._rebuild_parameter" || storage_dtype(name).has_value();
}

// The pickle virtual machine, restricted to the data a state_dict is made of.
class Machine {
 public:
  Machine(const char* data, std::size_t size, const std::string& source,
          const StorageLoader& load_storage, Arena& arena)
      : data_(data), size_(size), source_(source), load_storage_(load_storage), arena_(arena) {}

  Value run() {
    while (true) {
      op_start_ = pos_;
      if (!step(static_cast<std::uint8_t>(*take(1)))) break;
    }
    if (stack_.empty()) fail("STOP with an empty stack");
    return pop();
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(source_ + ": malformed pickle (data.pkl): " + what + " at byte " +
                std::to_string(op_start_));
  }

  // --- input --------------------------------------------------------------------------------
  const char* take(std::size_t n) {
    if (n > size_ - pos_) fail("unexpected end of data");
    const char* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  std::uint64_t little_endian(std::size_t n) {
    const auto* p = reinterpret_cast<const unsigned char*>(take(n));
    std::uint64_t v = 0;
    for (std::size_t i = n; i-- > 0;) v = (v << 8) | p[i];
    return v;
  }
  std::string line() {
    const void* end = std::memchr(data_ + pos_, '\n', size_ - pos_);
    if (!end) fail("unterminated line");
    const std::size_t n = static_cast<const char*>(end) - (data_ + pos_);
    std::string s(take(n), n);
    take(1);
    return s;
  }

  // --- stack --------------------------------------------------------------------------------
  void push(Value v) {
    if (stack_.size() >= kMaxStack) fail("stack too deep");
    stack_.push_back(std::move(v));
  }
  Value pop() {
    if (stack_.size() <= floor()) fail("stack underflow");
    Value v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  Value& top() {
    if (stack_.size() <= floor()) fail("stack underflow");
    return stack_.back();
  }
  // Values above the innermost MARK may be popped; the ones below belong to an outer frame.
  std::size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::vector<Value> pop_mark() {
    if (marks_.empty()) fail("no MARK to pop to");
    const std::size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<Value> items(std::make_move_iterator(stack_.begin() + mark),
                             std::make_move_iterator(stack_.end()));
    stack_.resize(mark);
    return items;
  }

  // --- values -------------------------------------------------------------------------------
  static Value scalar(Kind kind, std::int64_t i) {
    Value v;
    v.kind = kind;
    v.integer = i;
    return v;
  }
  static Value text(Kind kind, std::string s) {
    Value v;
    v.kind = kind;
    v.text = std::move(s);
    return v;
  }
  Value sequence(Kind kind, std::vector<Value> items) {
    Value v;
    v.kind = kind;
    v.sequence = &arena_.sequences.emplace_back();
    v.sequence->items = std::move(items);
    return v;
  }
  Value dict(bool ordered) {
    Value v;
    v.kind = Kind::kDict;
    v.dict = &arena_.dicts.emplace_back();
    v.dict->ordered = ordered;
    return v;
  }

  bool step(std::uint8_t op);
  bool push_constant(std::uint8_t op);
  bool build_container(std::uint8_t op);
  bool control(std::uint8_t op);
  void protocol();
  void global(std::string module, std::string name);
  void stack_global();
  void persistent_id();
  void reduce();
  void build();
  void set_items(std::vector<Value> items);
  void append_items(std::vector<Value> items);
  void put(std::uint64_t index);
  void get(std::uint64_t index);
  void push_long(std::size_t n);
  void push_float();
  void push_string(std::size_t n);
  Value call(const std::string& callable, const Sequence& args);
  Value rebuild_tensor(const Sequence& args);
  std::vector<std::int64_t> int_tuple(const Value& v, const char* what);
  [[noreturn]] void unsupported(std::uint8_t op);

  const char* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  std::size_t op_start_ = 0;
  const std::string& source_;
  const StorageLoader& load_storage_;
  Arena& arena_;
  std::vector<Value> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, Value> memo_;
};

// The opcodes of protocols 0-5 that a state_dict or a training checkpoint can contain.
enum Op : std::uint8_t {
  kMark = '(',
  kStop = '.',
  kPop = '0',
  kPopMark = '1',
  kDup = '2',
  kBinFloat = 'G',
  kBinInt = 'J',
  kBinInt1 = 'K',
  kBinInt2 = 'M',
  kNone = 'N',
  kBinPersId = 'Q',
  kReduce = 'R',
  kBinUnicode = 'X',
  kAppend = 'a',
  kBuild = 'b',
  kGlobal = 'c',
  kDict = 'd',
  kAppends = 'e',
  kBinGet = 'h',
  kLongBinGet = 'j',
  kList = 'l',
  kBinPut = 'q',
  kLongBinPut = 'r',
  kSetItem = 's',
  kTuple = 't',
  kSetItems = 'u',
  kEmptyDict = '}',
  kEmptyList = ']',
  kEmptyTuple = ')',
  kProto = 0x80,
  kTuple1 = 0x85,
  kTuple2 = 0x86,
  kTuple3 = 0x87,
  kNewTrue = 0x88,
  kNewFalse = 0x89,
  kLong1 = 0x8a,
  kShortBinUnicode = 0x8c,
  kBinUnicode8 = 0x8d,
  kStackGlobal = 0x93,
  kMemoize = 0x94,
  kFrame = 0x95,
};

bool Machine::step(std::uint8_t op) {
  if (op == kStop) return false;
  if (!push_constant(op) && !build_container(op) && !control(op)) unsupported(op);
  return true;
}

// Opcodes that push a number, string or None.
bool Machine::push_constant(std::uint8_t op) {
  switch (op) {
    case kNone:
      push(Value());
      break;
    case kNewTrue:
      push(scalar(Kind::kBool, 1));
      break;
    case kNewFalse:
      push(scalar(Kind::kBool, 0));
      break;
    case kBinInt1:
      push(scalar(Kind::kInt, little_endian(1)));
      break;
    case kBinInt2:
      push(scalar(Kind::kInt, little_endian(2)));
      break;
    case kBinInt:
      push(scalar(Kind::kInt, static_cast<std::int32_t>(little_endian(4))));
      break;
    case kLong1:
      push_long(little_endian(1));
      break;
    case kBinFloat:
      push_float();
      break;
    case kBinUnicode:
      push_string(little_endian(4));
      break;
    case kShortBinUnicode:
      push_string(little_endian(1));
      break;
    case kBinUnicode8:
      push_string(little_endian(8));
      break;
    default:
      return false;
  }
  return true;
}

// Opcodes that make or fill tuples, lists and dicts.
bool Machine::build_container(std::uint8_t op) {
  switch (op) {
    case kEmptyTuple:
      push(sequence(Kind::kTuple, {}));
      break;
    case kTuple:
      push(sequence(Kind::kTuple, pop_mark()));
      break;
    case kTuple1:
    case kTuple2:
    case kTuple3: {
      std::vector<Value> items(op - kTuple1 + 1);
      for (std::size_t i = items.size(); i-- > 0;) items[i] = pop();
      push(sequence(Kind::kTuple, std::move(items)));
      break;
    }
    case kEmptyList:
      push(sequence(Kind::kList, {}));
      break;
    case kList:
      push(sequence(Kind::kList, pop_mark()));
      break;
    case kAppend: {
      Value v = pop();
      append_items({std::move(v)});
      break;
    }
    case kAppends:
      append_items(pop_mark());
      break;
    case kEmptyDict:
      push(dict(false));
      break;
    case kDict: {
      std::vector<Value> items = pop_mark();
      push(dict(false));
      set_items(std::move(items));
      break;
    }
    case kSetItem: {
      Value value = pop();
      Value key = pop();
      set_items({std::move(key), std::move(value)});
      break;
    }
    case kSetItems:
      set_items(pop_mark());
      break;
    default:
      return false;
  }
  return true;
}

// Framing, stack and memo housekeeping, globals, calls and persistent ids.
bool Machine::control(std::uint8_t op) {
  switch (op) {
    case kProto:
      protocol();
      break;
    case kFrame:
      take(8);
      break;  // only a size hint
    case kMark:
      if (marks_.size() >= kMaxStack) fail("too many MARKs");
      marks_.push_back(stack_.size());
      break;
    case kPop:
      pop();
      break;
    case kPopMark:
      pop_mark();
      break;
    case kDup:
      push(top());
      break;
    case kBinPut:
      put(little_endian(1));
      break;
    case kLongBinPut:
      put(little_endian(4));
      break;
    case kMemoize:
      put(memo_.size());
      break;
    case kBinGet:
      get(little_endian(1));
      break;
    case kLongBinGet:
      get(little_endian(4));
      break;
    case kGlobal: {
      std::string module = line();
      global(std::move(module), line());
      break;
    }
    case kStackGlobal:
      stack_global();
      break;
    case kBinPersId:
      persistent_id();
      break;
    case kReduce:
      reduce();
      break;
    case kBuild:
      build();
      break;
    default:
      return false;
  }
  return true;
}

void Machine::unsupported(std::uint8_t op) {
  static const char* const kHex = "0123456789abcdef";
  const std::string code = std::string("0x") + kHex[op >> 4] + kHex[op & 15];
  throw Error(source_ + ": refusing to load: the pickle uses opcode " + code + " at byte " +
              std::to_string(op_start_) + ", which a state_dict never needs (" + kOnlyData + ")");
}

void Machine::protocol() {
  const auto version = little_endian(1);
  if (version > 5) fail("unknown pickle protocol " + std::to_string(version));
}

void Machine::global(std::string module, std::string name) {
  const std::string full = module + "." + name;
  if (!is_allowed_global(full)) {
    throw Error(source_ + ": refusing to load: the pickle calls " + full + " (" + kOnlyData + ")");
  }
  push(text(Kind::kGlobal, full));
}

void Machine::stack_global() {
  Value name = pop();
  Value module = pop();
  if (!name.is(Kind::kString) || !module.is(Kind::kString)) fail("STACK_GLOBAL of non-strings");
  global(std::move(module.text), std::move(name.text));
}

void Machine::persistent_id() {
  Value id = pop();
  Value storage;
  storage.kind = Kind::kStorage;
  storage.tensor = load_storage_(id);
  push(std::move(storage));
}

void Machine::reduce() {
  Value args = pop();
  Value callable = pop();
  if (!callable.is(Kind::kGlobal)) fail(std::string("REDUCE calls a ") + kind_name(callable.kind));
  if (!args.is(Kind::kTuple)) fail("REDUCE arguments are not a tuple");
  push(call(callable.text, *args.sequence));
}

Value Machine::call(const std::string& callable, const Sequence& args) {
  if (callable == "collections.OrderedDict" && args.items.empty()) return dict(true);
  if (callable == "torch._utils._rebuild_tensor_v2") return rebuild_tensor(args);
  if (callable == "torch._utils._rebuild_parameter" && !args.items.empty() &&
      args.items[0].is(Kind::kTensor)) {
    return args.items[0];
  }
  throw Error(source_ + ": refusing to load: the pickle calls " + callable +
              " with unexpected arguments (" + kOnlyData + ")");
}

std::vector<std::int64_t> Machine::int_tuple(const Value& v, const char* what) {
  if (!v.is(Kind::kTuple)) fail(std::string("tensor ") + what + " is not a tuple");
  if (v.sequence->items.size() > kMaxDims) fail(std::string("tensor ") + what + " too long");
  std::vector<std::int64_t> out;
  for (const Value& item : v.sequence->items) {
    if (!item.is(Kind::kInt) || item.integer < 0) fail(std::string("bad tensor ") + what);
    out.push_back(item.integer);
  }
  return out;
}

// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[,
// metadata]): a strided view of the storage, checked to lie inside it.
Value Machine::rebuild_tensor(const Sequence& args) {
  const auto& a = args.items;
  if (a.size() < 4 || a.size() > 7 || !a[0].is(Kind::kStorage) || !a[1].is(Kind::kInt) ||
      a[1].integer < 0) {
    fail("bad arguments to torch._utils._rebuild_tensor_v2");
  }
  const auto sizes = int_tuple(a[2], "size");
  const auto strides = int_tuple(a[3], "stride");
  if (sizes.size() != strides.size()) fail("tensor size and stride differ in length");
  const torch::Tensor& storage = a[0].tensor;
  std::int64_t end = a[1].integer;  // one past the last element the view touches
  bool empty = false;
  for (std::size_t d = 0; d < sizes.size(); ++d) {
    std::int64_t reach = 0;
    if (sizes[d] == 0) empty = true;
    if (sizes[d] > 0 && (__builtin_mul_overflow(sizes[d] - 1, strides[d], &reach) ||
                         __builtin_add_overflow(end, reach, &end))) {
      fail("tensor extent overflows");
    }
  }
  if (empty)
    end = a[1].integer;
  else
    ++end;
  if (a[1].integer > storage.numel() || end > storage.numel()) {
    fail("tensor of size " + c10::str(c10::IntArrayRef(sizes)) + " at offset " +
         std::to_string(a[1].integer) + " does not fit its storage of " +
         std::to_string(storage.numel()) + " elements");
  }
  Value v;
  v.kind = Kind::kTensor;
  v.tensor = storage.as_strided(sizes, strides, a[1].integer);
  return v;
}

void Machine::build() {
  Value state = pop();
  Value& target = top();
  // torch.save gives a state_dict its _metadata through BUILD; the loader does not need it.
  if (target.is(Kind::kDict) && state.is(Kind::kDict)) return;
  if (target.is(Kind::kTensor)) return;  // a Parameter's attributes
  fail(std::string("BUILD on a ") + kind_name(target.kind));
}

void Machine::set_items(std::vector<Value> items) {
  if (items.size() % 2 != 0) fail("odd number of dict items");
  Value& target = top();
  if (!target.is(Kind::kDict)) fail(std::string("SETITEM on a ") + kind_name(target.kind));
  auto& out = target.dict->items;
  for (std::size_t i = 0; i < items.size(); i += 2) {
    out.emplace_back(std::move(items[i]), std::move(items[i + 1]));
  }
}

void Machine::append_items(std::vector<Value> items) {
  Value& target = top();
  if (!target.is(Kind::kList)) fail(std::string("APPEND on a ") + kind_name(target.kind));
  auto& out = target.sequence->items;
  out.insert(out.end(), std::make_move_iterator(items.begin()),
             std::make_move_iterator(items.end()));
}

void Machine::put(std::uint64_t index) {
  if (memo_.size() >= kMaxMemo && memo_.count(index) == 0) fail("memo too large");
  memo_[index] = top();
}

void Machine::get(std::uint64_t index) {
  const auto it = memo_.find(index);
  if (it == memo_.end()) fail("memo entry " + std::to_string(index) + " was never stored");
  push(it->second);
}

void Machine::push_long(std::size_t n) {
  if (n > 8) fail("integer too large");
  std::uint64_t bits = little_endian(n);
  // Sign-extend the n-byte two's complement value.
  if (n > 0 && n < 8 && (bits >> (8 * n - 1)) & 1) bits |= ~std::uint64_t{0} << (8 * n);
  push(scalar(Kind::kInt, static_cast<std::int64_t>(bits)));
}

void Machine::push_float() {
  const auto* p = reinterpret_cast<const unsigned char*>(take(8));
  std::uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];  // big-endian
  Value v;
  v.kind = Kind::kFloat;
  std::memcpy(&v.real, &bits, sizeof bits);
  push(std::move(v));
}

void Machine::push_string(std::size_t n) {
  if (n > size_ - pos_) fail("string runs past the end of data");
  push(text(Kind::kString, std::string(take(n), n)));
}

}  // namespace

Value unpickle(const char* data, std::size_t size, const std::string& source,
               const StorageLoader& load_storage, Arena& arena) {
  return Machine(data, size, source, load_storage, arena).run();
}

const char* kind_name(Value::Kind kind) {
  switch (kind) {
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kGlobal:
      return "global";
    case Kind::kStorage:
      return "storage";
    case Kind::kTensor:
      return "tensor";
    case Kind::kTuple:
      return "tuple";
    case Kind::kList:
      return "list";
    case Kind::kDict:
      return "dict";
  }
  return "value";
}

}  // namespace samri::model::pickle
