// Reading and writing PyTorch zip checkpoints (the torch.save layout) without Python.
#include "samri/model/checkpoint.h"

#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
#include <optional>
#include <unordered_map>

#include "samri/core/atomic_file.h"
#include "samri/core/error.h"
#include "samri/core/mapped_file.h"
#include "samri/model/pickle_reader.h"
#include "samri/model/pickle_storage_types.h"
#include "samri/model/pickle_writer.h"
#include "samri/model/stored_zip_record.h"

namespace samri::model {
namespace {

using pickle::Value;
using Kind = pickle::Value::Kind;

// c10 messages can run over several lines (context, hints); users need only the first.
std::string first_line(const char* message) {
  const std::string s(message);
  return s.substr(0, s.find('\n'));
}

// Gives clear messages for the common wrong inputs before the zip reader sees them.
void check_is_zip(const std::string& path) {
  if (std::filesystem::is_directory(path)) throw Error(path + ": is a folder, not a checkpoint");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the checkpoint (no such file or no permission)");
  char magic[4] = {};
  in.read(magic, sizeof magic);
  if (in.gcount() == 0) throw Error(path + ": the checkpoint file is empty");
  if (in.gcount() == 4 && std::memcmp(magic, "PK\x03\x04", 4) == 0) return;
  if (static_cast<unsigned char>(magic[0]) == 0x80) {
    throw Error(path + ": legacy (pre-1.6) torch.save format is not supported; re-save it in " +
                "Python with torch.save(torch.load(f), f2)");
  }
  throw Error(path + ": not a PyTorch checkpoint (not a zip archive)");
}

// Reads each storage record once, however many tensors view it. Records stored as plain bytes
// (torch.save's way) are used in place in the mapped file when there is one: no copy, and no
// fresh memory, which costs more than the copy itself on a virtual machine.
class StorageRecords {
 public:
  StorageRecords(caffe2::serialize::PyTorchStreamReader& reader, const std::string& path,
                 std::shared_ptr<MappedFile> mapping)
      : reader_(reader), path_(path), mapping_(std::move(mapping)) {}

  // ('storage', torch.XStorage, key, location, numel) -> the storage as a 1-D tensor.
  torch::Tensor load(const Value& id) {
    const auto* items = id.is(Kind::kTuple) ? &id.sequence->items : nullptr;
    if (!items || items->size() != 5 || !(*items)[0].is(Kind::kString) ||
        (*items)[0].text != "storage" || !(*items)[1].is(Kind::kGlobal) ||
        !(*items)[2].is(Kind::kString) || !(*items)[4].is(Kind::kInt) || (*items)[4].integer < 0) {
      throw Error(path_ + ": malformed pickle (data.pkl): a persistent id is not a storage");
    }
    const auto dtype = pickle::storage_dtype((*items)[1].text);
    if (!dtype) throw Error(path_ + ": unsupported storage type " + (*items)[1].text);
    const std::string name = "data/" + (*items)[2].text;
    const std::int64_t numel = (*items)[4].integer;
    std::int64_t needed = 0;
    const bool overflow =
        __builtin_mul_overflow(numel, static_cast<std::int64_t>(c10::elementSize(*dtype)), &needed);
    const c10::Storage bytes = record(name, overflow ? 0 : static_cast<std::size_t>(needed));
    if (overflow || static_cast<std::uint64_t>(needed) > bytes.nbytes()) {
      throw Error(path_ + ": storage record " + name + " has " + std::to_string(bytes.nbytes()) +
                  " bytes, fewer than its " + std::to_string(numel) +
                  " elements need (truncated?)");
    }
    return at::empty({0}, at::TensorOptions().dtype(*dtype)).set_(bytes, 0, {numel}, {1});
  }

 private:
  // The record `name`, expected to hold `size` bytes (a record of another size is read, and
  // refused by the caller if short).
  c10::Storage record(const std::string& name, std::size_t size) {
    const auto it = cache_.find(name);
    if (it != cache_.end()) return it->second;
    if (!reader_.hasRecord(name)) throw Error(path_ + ": storage record " + name + " is missing");
    std::optional<c10::Storage> storage = mapped(name, size);
    if (!storage) {
      auto [data, bytes] = reader_.getRecord(name);
      // The record's buffer becomes the tensors' memory: no copy.
      storage.emplace(c10::Storage::use_byte_size_t(), bytes, std::move(data));
    }
    cache_.emplace(name, *storage);
    return *storage;
  }

  std::optional<c10::Storage> mapped(const std::string& name, std::size_t size) {
    if (!mapping_ || size == 0) return std::nullopt;
    const std::size_t offset = reader_.getRecordOffset(name);
    if (!is_stored_zip_record(mapping_->data(), mapping_->size(), offset, name, size)) {
      return std::nullopt;
    }
    // Each storage holds the mapping alive; the last one to go unmaps the file.
    auto* owner = new std::shared_ptr<MappedFile>(mapping_);
    at::DataPtr data(
        mapping_->data() + offset, owner,
        [](void* p) { delete static_cast<std::shared_ptr<MappedFile>*>(p); }, at::Device(at::kCPU));
    return c10::Storage(c10::Storage::use_byte_size_t(), size, std::move(data));
  }

  caffe2::serialize::PyTorchStreamReader& reader_;
  const std::string& path_;
  std::shared_ptr<MappedFile> mapping_;
  std::unordered_map<std::string, c10::Storage> cache_;
};

const Value* find_key(const pickle::Dict& dict, const std::string& key) {
  for (const auto& [k, v] : dict.items) {
    if (k.is(Kind::kString) && k.text == key) return &v;
  }
  return nullptr;
}

bool all_tensors(const pickle::Dict& dict) {
  for (const auto& [k, v] : dict.items) {
    if (!k.is(Kind::kString) || !v.is(Kind::kTensor)) return false;
  }
  return !dict.items.empty();
}

std::string key_list(const pickle::Dict& dict) {
  std::string out;
  for (const auto& [k, v] : dict.items) {
    if (!out.empty()) out += ", ";
    out += k.is(Kind::kString) ? "\"" + k.text + "\"" : std::string(pickle::kind_name(k.kind));
  }
  return out;
}

// The state_dict inside the pickle's top-level value: the value itself, or the "model" or
// "state_dict" entry of a training checkpoint (whose other entries are ignored).
const pickle::Dict& find_state_dict(const Value& top, const std::string& path,
                                    CheckpointReadInfo& info) {
  if (!top.is(Kind::kDict)) {
    throw Error(path + ": the checkpoint holds a " + pickle::kind_name(top.kind) +
                ", not a state_dict");
  }
  if (all_tensors(*top.dict)) return *top.dict;
  for (const char* wrapper : {"model", "state_dict"}) {
    const Value* inner = find_key(*top.dict, wrapper);
    if (!inner || !inner->is(Kind::kDict)) continue;
    info.stripped.push_back(std::string("{\"") + wrapper + "\": ...}");
    for (const auto& [k, v] : top.dict->items) {
      if (!(k.is(Kind::kString) && k.text == wrapper)) {
        info.other_top_level_keys.push_back(k.is(Kind::kString) ? k.text
                                                                : pickle::kind_name(k.kind));
      }
    }
    return *inner->dict;
  }
  throw Error(path + ": no state_dict found; the top-level keys are " + key_list(*top.dict));
}

bool all_prefixed(const pickle::Dict& dict, const std::string& prefix) {
  for (const auto& [k, v] : dict.items) {
    if (!k.is(Kind::kString) || k.text.compare(0, prefix.size(), prefix) != 0) return false;
  }
  return !dict.items.empty();
}

StateDict to_state_dict(const pickle::Dict& dict, const std::string& path,
                        CheckpointReadInfo& info) {
  // DataParallel / DistributedDataParallel prefix every key with "module.".
  const std::string prefix = "module.";
  const bool strip = all_prefixed(dict, prefix);
  if (strip) info.stripped.push_back("prefix " + prefix);
  info.ordered_dict = dict.ordered;
  StateDict out;
  for (const auto& [k, v] : dict.items) {
    if (!k.is(Kind::kString)) throw Error(path + ": a state_dict key is not a string");
    if (!v.is(Kind::kTensor)) {
      throw Error(path + ": state_dict entry " + k.text + " is a " + pickle::kind_name(v.kind) +
                  ", not a tensor");
    }
    try {
      out.insert(strip ? k.text.substr(prefix.size()) : k.text, v.tensor);
    } catch (const Error& e) {
      throw Error(path + ": " + e.what());
    }
  }
  if (out.empty()) throw Error(path + ": the state_dict is empty");
  return out;
}

StateDict read_zip_checkpoint(const std::string& path, CheckpointReadInfo& info) {
  caffe2::serialize::PyTorchStreamReader reader(path);
  if (!reader.hasRecord("data.pkl")) throw Error(path + ": the archive has no data.pkl");
  const auto [pickle_data, pickle_size] = reader.getRecord("data.pkl");
  StorageRecords records(reader, path, MappedFile::open(path));
  pickle::Arena arena;
  const Value top = pickle::unpickle(
      static_cast<const char*>(pickle_data.get()), pickle_size, path,
      [&](const Value& id) { return records.load(id); }, arena);
  return to_state_dict(find_state_dict(top, path, info), path, info);
}

// Streams the archive into `file`. Write errors are remembered instead of being reported to the
// zip writer, whose destructor would otherwise throw (and terminate) while unwinding.
void write_archive(const std::filesystem::path& file, const std::string& path,
                   const StateDict& state_dict) {
  const std::string data_pkl = pickle::state_dict_pickle(state_dict);  // checks every dtype
  std::ofstream out(file, std::ios::binary);
  if (!out) throw Error(path + ": cannot create the checkpoint file " + file.string());
  bool failed = false;
  {
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, std::size_t n) {
      if (!failed && !out.write(static_cast<const char*>(data), static_cast<std::streamsize>(n))) {
        failed = true;
      }
      return n;
    });
    writer.writeRecord("data.pkl", data_pkl.data(), data_pkl.size());
    const auto& items = state_dict.items();
    for (std::size_t i = 0; i < items.size(); ++i) {
      const torch::Tensor t = items[i].second.detach().to(torch::kCPU).contiguous();
      writer.writeRecord("data/" + std::to_string(i), t.numel() ? t.data_ptr() : "", t.nbytes());
    }
    writer.writeEndOfFile();  // also writes the "version" record
  }
  out.close();
  if (failed || !out) throw Error(path + ": cannot write the checkpoint (disk full?)");
}

}  // namespace

StateDict read_checkpoint(const std::string& path, CheckpointReadInfo* info) {
  check_is_zip(path);
  CheckpointReadInfo local;
  try {
    StateDict state_dict = read_zip_checkpoint(path, local);
    if (info) *info = std::move(local);
    return state_dict;
  } catch (const c10::Error& e) {
    throw Error(path +
                ": not a readable PyTorch checkpoint: " + first_line(e.what_without_backtrace()));
  } catch (const std::bad_alloc&) {
    throw Error(path + ": out of memory while reading the checkpoint (corrupt sizes?)");
  }
}

void write_checkpoint(const std::string& path, const StateDict& state_dict) {
  try {
    write_atomically(
        path, [&](const std::filesystem::path& tmp) { write_archive(tmp, path, state_dict); });
  } catch (const c10::Error& e) {
    throw Error(path + ": cannot write the checkpoint: " + first_line(e.what_without_backtrace()));
  }
}

}  // namespace samri::model
