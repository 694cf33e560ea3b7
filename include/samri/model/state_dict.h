#pragma once

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "samri/core/error.h"

namespace samri::model {

// Named tensors in file order, keyed exactly as the official SAM state_dicts are
// ("image_encoder.blocks.0.attn.qkv.weight", ...).
class StateDict {
 public:
  void insert(const std::string& key, torch::Tensor value) {
    if (!index_.emplace(key, items_.size()).second) throw Error("duplicate state_dict key " + key);
    items_.emplace_back(key, std::move(value));
  }
  const torch::Tensor* find(const std::string& key) const {
    const auto it = index_.find(key);
    return it == index_.end() ? nullptr : &items_[it->second].second;
  }
  const torch::Tensor& at(const std::string& key) const {
    const torch::Tensor* t = find(key);
    if (!t) throw Error("state_dict has no key " + key);
    return *t;
  }
  bool contains(const std::string& key) const { return index_.count(key) != 0; }
  const std::vector<std::pair<std::string, torch::Tensor>>& items() const { return items_; }
  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }

  // The entries whose key starts with `prefix` ("image_encoder."), keyed without it: the weights
  // of one part of SAM, as that part's module names them.
  StateDict part(const std::string& prefix) const {
    StateDict out;
    for (const auto& [key, value] : items_) {
      if (key.rfind(prefix, 0) == 0) out.insert(key.substr(prefix.size()), value);
    }
    return out;
  }

 private:
  std::vector<std::pair<std::string, torch::Tensor>> items_;
  std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace samri::model
