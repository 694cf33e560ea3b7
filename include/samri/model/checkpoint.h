#pragma once

#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "samri/model/state_dict.h"

namespace samri::model {

// What read_checkpoint found around the state_dict.
struct CheckpointReadInfo {
  std::vector<std::string> stripped;              // {"{\"model\": ...}", "prefix module."}
  std::vector<std::string> other_top_level_keys;  // e.g. "optimizer", "epoch" (ignored)
  bool ordered_dict = false;  // the official layout (OrderedDict with _metadata)
};

// Reads a PyTorch zip checkpoint (torch.save) without executing anything: the pickle reader
// accepts only the globals a state_dict needs (OrderedDict, _rebuild_tensor_v2, storage types)
// and throws samri::Error for anything else. Accepts the official flat layout, plain dicts, and
// the wrappers {"model": sd}, {"state_dict": sd} and keys prefixed "module.". Tensors keep the
// dtype stored in the file (fp32, fp16, bf16, ...) and own the record they were read from
// (tensors that share a storage in the file share it here too). Records stored uncompressed, as
// torch.save writes them, are not copied: their tensors read the file through a copy-on-write
// mapping (see MappedFile), so writing to them never changes the file. Every failure, including a
// missing, empty, truncated or corrupt file, is a samri::Error whose message starts with `path`.
StateDict read_checkpoint(const std::string& path, CheckpointReadInfo* info = nullptr);

// Writes `state_dict` atomically in the official layout (zip archive, OrderedDict pickle with
// _metadata, one contiguous storage record per tensor), readable by Python's torch.load and
// accepted by Module.load_state_dict. The records sit in the archive folder "archive/", as when
// torch.save writes to a buffer. Throws samri::Error for dtypes torch storages cannot hold
// (complex, quantised) and for I/O failures; the destination is then left untouched.
void write_checkpoint(const std::string& path, const StateDict& state_dict);

// The parameters and buffers of `module` under their state_dict names, in torch's order (a
// module's own parameters, its buffers, then its children). LibTorch has no non-persistent
// buffers: whatever must stay out of checkpoints (SAM's pixel_mean/std) must not be a buffer.
StateDict module_state_dict(const torch::nn::Module& module);

// Copies `state_dict` into `module` (casting to the module's dtype), strictly: every missing,
// unexpected or wrong-shape key is listed in the samri::Error thrown, with a hint when the file
// looks like another model size. `source` names the file in messages.
void load_state_dict(torch::nn::Module& module, const StateDict& state_dict,
                     const std::string& source);

// load_state_dict without the copy: the module's parameters and buffers take `state_dict`'s
// tensors themselves (converted only where the module's dtype or device differs), so a module
// built with WeightInit::kNone never writes the memory it allocated. The module then shares
// memory with the tensors given: pass a state_dict nothing else will use.
void adopt_state_dict(torch::nn::Module& module, StateDict state_dict, const std::string& source);

// "vit_b", "vit_l" or "vit_h" by the width of the image encoder's patch embedding; "" otherwise.
std::string sam_variant(const StateDict& state_dict);

}  // namespace samri::model
