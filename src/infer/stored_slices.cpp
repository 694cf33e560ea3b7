#include "samri/infer/stored_slices.h"

#include <set>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "samri/core/error.h"
#include "samri/core/sha256.h"

namespace samri::infer {
namespace {

// Volumes the store holds, for the message when the one given is not among them.
std::string held_volumes(const store::EmbeddingStore& s) {
  std::set<std::string> names;
  for (const auto& e : s.slices()) {
    names.insert(e.source.empty() ? "(unrecorded: made before stores kept their volumes)"
                                  : e.source);
  }
  std::string text;
  std::size_t shown = 0;
  for (const auto& n : names) {
    if (shown++ == 3) return text + ", ... (" + std::to_string(names.size()) + " in all)";
    text += (text.empty() ? "" : ", ") + n;
  }
  return text;
}

void check_intensity_rule(const store::EmbeddingStore& s, const std::string& root) {
  for (const auto& source : s.metadata().sources) {
    const auto rules = nlohmann::json::parse(source.rules_json, nullptr, false);
    const std::string rule = rules.is_object() ? rules.value("intensity", "slice") : "slice";
    if (rule != "slice") {
      throw Error(root + ": its slices were normalised with the '" + rule +
                  "' intensity rule, but samri-infer normalises each slice alone ('slice'); "
                  "their embeddings would not be this volume's");
    }
  }
}

}  // namespace

StoredSlices::StoredSlices(const std::string& root, const std::string& input, int axis,
                           const std::string& encoder_fingerprint, const model::SamConfig& config,
                           bool allow_mismatch)
    : store_(root) {
  try {
    store_.check_compatible(encoder_fingerprint, config, allow_mismatch);
  } catch (const Error& e) {
    throw Error(std::string("--embeddings: ") + e.what());
  }
  check_intensity_rule(store_, root);
  const std::string sha = sha256_path(input);
  for (const auto& e : store_.slices()) {
    if (e.source_sha256 == sha && e.channel.empty() && e.axis == axis && e.index &&
        store_.has(e.id)) {
      ids_.emplace(*e.index, e.id);
    }
  }
  if (ids_.empty()) {
    throw Error("--embeddings " + root + ": holds no embedded slice of " + input + " (sha256 " +
                sha.substr(0, 12) + "...) along axis " + std::to_string(axis) +
                "; it was made from " + held_volumes(store_));
  }
  spdlog::info("{}: {} embedded slices of {} along axis {}", root, ids_.size(), input, axis);
}

torch::Tensor StoredSlices::embedding(std::int64_t index) const {
  return store_.embedding(ids_.at(index)).unsqueeze(0);
}

}  // namespace samri::infer
