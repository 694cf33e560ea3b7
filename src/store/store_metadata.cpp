#include "samri/store/store_metadata.h"

#include <sstream>

#include <nlohmann/json.hpp>

#include "samri/core/error.h"
#include "samri/core/json_file.h"

namespace samri::store {

using nlohmann::json;

namespace {

constexpr const char* kFormat = "samri-embedding-store";

json source_json(const StoreSource& s) {
  return {{"dataset", s.dataset},
          {"folder", s.folder},
          {"manifest_sha256", s.manifest_sha256},
          {"rules", s.rules_json.empty() ? json(nullptr) : json::parse(s.rules_json)},
          {"slices", s.slices},
          {"samples", s.samples}};
}

StoreSource source_from(const json& j) {
  StoreSource s;
  s.dataset = j.at("dataset").get<std::string>();
  s.folder = j.at("folder").get<std::string>();
  s.manifest_sha256 = j.at("manifest_sha256").get<std::string>();
  s.rules_json = j.at("rules").is_null() ? "" : j.at("rules").dump();
  s.slices = j.at("slices").get<std::int64_t>();
  s.samples = j.at("samples").get<std::int64_t>();
  return s;
}

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ",") + item;
  return text;
}

std::string describe_sources(const std::vector<StoreSource>& sources) {
  std::string text;
  for (const auto& s : sources) {
    text += (text.empty() ? "" : "; ") + s.dataset + " (manifest sha256 " +
            s.manifest_sha256.substr(0, 12) + ")";
  }
  return text;
}

}  // namespace

std::string StoreMetadata::to_json() const {
  json sources_json = json::array();
  for (const auto& s : sources) sources_json.push_back(source_json(s));
  json j = {{"format", kFormat},
            {"format_version", format_version},
            {"checkpoint", {{"file", checkpoint_file}, {"sha256", checkpoint_sha256}}},
            {"encoder_fingerprint", encoder_fingerprint},
            {"model", json::parse(model_json)},
            {"model_name", model_name},
            {"image_size", image_size},
            {"embedding_shape", embedding_shape},
            {"precision", precision},
            {"dtype", to_string(dtype)},
            {"int8_scheme", dtype == StoreDtype::kInt8 ? json(to_string(int8_scheme)) : json()},
            {"splits", splits},
            {"sources", sources_json},
            {"slices", slices},
            {"samples", samples},
            {"shard_size", shard_size}};
  return j.dump(1) + "\n";
}

StoreMetadata StoreMetadata::from_json(const std::string& text, const std::string& source) {
  std::istringstream in(text);
  const json j = parse_json(in, source);
  StoreMetadata m;
  try {
    if (j.at("format").get<std::string>() != kFormat) {
      throw Error(source + ": not a samri embedding store's metadata");
    }
    m.format_version = j.at("format_version").get<int>();
    if (m.format_version > kStoreFormatVersion) {
      throw Error(source + ": store format version " + std::to_string(m.format_version) +
                  " is newer than this samri reads (" + std::to_string(kStoreFormatVersion) +
                  "); update samri");
    }
    m.checkpoint_file = j.at("checkpoint").at("file").get<std::string>();
    m.checkpoint_sha256 = j.at("checkpoint").at("sha256").get<std::string>();
    m.encoder_fingerprint = j.at("encoder_fingerprint").get<std::string>();
    m.model_json = j.at("model").dump();
    m.model_name = j.at("model_name").get<std::string>();
    m.image_size = j.at("image_size").get<int>();
    m.embedding_shape = j.at("embedding_shape").get<std::array<std::int64_t, 3>>();
    m.precision = j.at("precision").get<std::string>();
    m.dtype = parse_store_dtype(j.at("dtype").get<std::string>(), source + ": dtype");
    if (m.dtype == StoreDtype::kInt8) {
      m.int8_scheme = parse_int8_scheme(j.at("int8_scheme").get<std::string>());
    }
    m.splits = j.at("splits").get<std::vector<std::string>>();
    for (const auto& s : j.at("sources")) m.sources.push_back(source_from(s));
    m.slices = j.at("slices").get<std::int64_t>();
    m.samples = j.at("samples").get<std::int64_t>();
    m.shard_size = j.at("shard_size").get<std::int64_t>();
  } catch (const json::exception& e) {
    throw Error(source + ": incomplete store metadata: " + e.what());
  }
  return m;
}

std::vector<std::string> describe_mismatch(const StoreMetadata& existing,
                                           const StoreMetadata& wanted) {
  std::vector<std::string> out;
  auto differ = [&](const std::string& what, const std::string& a, const std::string& b) {
    if (a != b) out.push_back(what + ": the store has " + a + ", this run has " + b);
  };
  differ("image encoder fingerprint",
         existing.encoder_fingerprint + " (checkpoint " + existing.checkpoint_file + ")",
         wanted.encoder_fingerprint + " (checkpoint " + wanted.checkpoint_file + ")");
  if (json::parse(existing.model_json) != json::parse(wanted.model_json)) {
    out.push_back("architecture: the store has " + json::parse(existing.model_json).dump() +
                  ", this run has " + json::parse(wanted.model_json).dump());
  }
  differ("encoder precision", existing.precision, wanted.precision);
  differ("store dtype", to_string(existing.dtype), to_string(wanted.dtype));
  differ("splits", join(existing.splits), join(wanted.splits));
  differ("data", describe_sources(existing.sources), describe_sources(wanted.sources));
  return out;
}

}  // namespace samri::store
