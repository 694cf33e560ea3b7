// Moving state_dicts in and out of LibTorch modules, with the checks torch's strict
// load_state_dict makes.
#include <map>

#include <torch/nn/module.h>

#include "samri/core/error.h"
#include "samri/model/checkpoint.h"

namespace samri::model {
namespace {

// How many keys of each kind a message lists before "...".
constexpr std::size_t kShown = 5;

// Python's order: a module's own parameters, then its buffers, then each child's, recursively.
void collect(const torch::nn::Module& module, const std::string& prefix, StateDict& out) {
  for (const auto& item : module.named_parameters(/*recurse=*/false)) {
    out.insert(prefix + item.key(), item.value().detach());
  }
  for (const auto& item : module.named_buffers(/*recurse=*/false)) {
    out.insert(prefix + item.key(), item.value().detach());
  }
  for (const auto& child : module.named_children()) {
    collect(*child.value(), prefix + child.key() + ".", out);
  }
}

std::string shape(const torch::Tensor& t) { return c10::str(t.sizes()); }

struct Mismatch {
  std::vector<std::string> missing, unexpected, wrong_shape;
  bool any() const { return !missing.empty() || !unexpected.empty() || !wrong_shape.empty(); }
};

Mismatch compare(const StateDict& model, const StateDict& file) {
  Mismatch m;
  for (const auto& [key, tensor] : model.items()) {
    const torch::Tensor* other = file.find(key);
    if (!other) {
      m.missing.push_back(key);
    } else if (other->sizes() != tensor.sizes()) {
      m.wrong_shape.push_back(key + " (file " + shape(*other) + ", model " + shape(tensor) + ")");
    }
  }
  for (const auto& [key, tensor] : file.items()) {
    if (!model.contains(key)) m.unexpected.push_back(key);
  }
  return m;
}

std::string list(const char* what, const std::vector<std::string>& keys) {
  if (keys.empty()) return "";
  std::string out = "; " + std::to_string(keys.size()) + " " + what + ": ";
  for (std::size_t i = 0; i < keys.size() && i < kShown; ++i) out += (i ? ", " : "") + keys[i];
  if (keys.size() > kShown) out += ", ...";
  return out;
}

std::string size_hint(const StateDict& model, const StateDict& file) {
  const std::string in_file = sam_variant(file);
  if (in_file.empty() || in_file == sam_variant(model)) return "";
  return "; this looks like a " + in_file + " checkpoint; use --model " + in_file;
}

}  // namespace

std::string sam_variant(const StateDict& state_dict) {
  const torch::Tensor* patch = state_dict.find("image_encoder.patch_embed.proj.weight");
  if (!patch || patch->dim() == 0) return "";
  static const std::map<std::int64_t, std::string> kByWidth{
      {768, "vit_b"}, {1024, "vit_l"}, {1280, "vit_h"}};
  const auto it = kByWidth.find(patch->size(0));
  return it == kByWidth.end() ? "" : it->second;
}

StateDict module_state_dict(const torch::nn::Module& module) {
  StateDict out;
  collect(module, "", out);
  return out;
}

namespace {

void check_fits(const StateDict& target, const StateDict& state_dict, const std::string& source) {
  const Mismatch m = compare(target, state_dict);
  if (m.any()) {
    throw Error(source + ": the checkpoint does not fit the model" +
                list("missing keys", m.missing) + list("unexpected keys", m.unexpected) +
                list("keys of the wrong shape", m.wrong_shape) + size_hint(target, state_dict));
  }
}

}  // namespace

void load_state_dict(torch::nn::Module& module, const StateDict& state_dict,
                     const std::string& source) {
  const StateDict target = module_state_dict(module);
  check_fits(target, state_dict, source);
  torch::NoGradGuard no_grad;
  for (const auto& [key, tensor] : target.items()) {
    // `tensor` shares memory with the module's parameter or buffer, so this fills the module.
    tensor.copy_(state_dict.at(key));
  }
}

void adopt_state_dict(torch::nn::Module& module, StateDict state_dict, const std::string& source) {
  check_fits(module_state_dict(module), state_dict, source);
  torch::NoGradGuard no_grad;
  // set_data on the module's own tensors (not detached aliases) swaps what they hold, as
  // Module::to does; requires_grad stays the module's.
  const auto adopt = [&](const std::string& key, torch::Tensor& tensor) {
    const torch::Tensor& from = state_dict.at(key);
    tensor.set_data(from.to(tensor.options()).contiguous());
  };
  for (auto& item : module.named_parameters()) adopt(item.key(), item.value());
  for (auto& item : module.named_buffers()) adopt(item.key(), item.value());
}

}  // namespace samri::model
