#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "samri/core/json_file.h"
#include "samri/embed/embed.h"
#include "samri/store/embedding_store.h"
#include "samri/store/store_layout.h"

namespace samri::embed {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::int64_t bytes_on_disk(const fs::path& root) {
  std::int64_t total = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) total += static_cast<std::int64_t>(entry.file_size());
  }
  return total;
}

json runs_json(const fs::path& runs_dir) {
  json runs = json::array();
  if (!fs::is_directory(runs_dir)) return runs;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(runs_dir)) {
    if (e.path().extension() == ".json" && e.path().filename().string().front() != '.') {
      files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) runs.push_back(read_json_file(f.string(), "run summary"));
  return runs;
}

json info_json(const store::EmbeddingStore& s) {
  const auto& m = s.metadata();
  // Per dataset and split: planned and embedded slices, samples.
  std::map<std::string, std::map<std::string, std::array<std::int64_t, 3>>> counts;
  for (const auto& slice : s.slices()) {
    auto& c = counts[slice.dataset][slice.split];
    ++c[0];
    if (s.has(slice.id)) ++c[1];
  }
  for (const auto& sample : s.samples()) ++counts[sample.dataset][sample.split][2];
  json datasets = json::object();
  for (const auto& [dataset, splits] : counts) {
    for (const auto& [split, c] : splits) {
      datasets[dataset][split] = {{"slices", c[0]}, {"embedded", c[1]}, {"samples", c[2]}};
    }
  }
  const auto size = bytes_on_disk(s.root());
  return {{"store", s.root().string()},
          {"format_version", m.format_version},
          {"slices", s.embedded_slices()},
          {"planned_slices", m.slices},
          {"samples", m.samples},
          {"complete", s.complete()},
          {"dtype", to_string(m.dtype)},
          {"int8_scheme",
           m.dtype == store::StoreDtype::kInt8 ? json(to_string(m.int8_scheme)) : json()},
          {"embedding_shape", m.embedding_shape},
          {"precision", m.precision},
          {"model", m.model_name},
          {"image_size", m.image_size},
          {"checkpoint", {{"file", m.checkpoint_file}, {"sha256", m.checkpoint_sha256}}},
          {"encoder_fingerprint", m.encoder_fingerprint},
          {"shards", s.shards().size()},
          {"bytes_on_disk", size},
          {"bytes_per_slice", s.embedded_slices() > 0 ? size / s.embedded_slices() : 0},
          {"datasets", datasets},
          {"runs", runs_json(store::StoreLayout{s.root()}.runs())}};
}

std::string info_text(const json& j) {
  std::ostringstream out;
  out << "store:        " << j["store"].get<std::string>() << "\n"
      << "slices:       " << j["slices"] << " of " << j["planned_slices"] << " embedded"
      << (j["complete"].get<bool>() ? " (complete)" : " (incomplete: rerun samri-embed)") << "\n"
      << "samples:      " << j["samples"] << "\n"
      << "dtype:        " << j["dtype"].get<std::string>() << " " << j["embedding_shape"].dump()
      << " per slice, encoder precision " << j["precision"].get<std::string>() << "\n"
      << "model:        " << j["model"].get<std::string>() << " (image size " << j["image_size"]
      << ")\n"
      << "checkpoint:   " << j["checkpoint"]["file"].get<std::string>() << " sha256 "
      << j["checkpoint"]["sha256"].get<std::string>() << "\n"
      << "encoder:      " << j["encoder_fingerprint"].get<std::string>() << "\n"
      << "on disk:      " << j["bytes_on_disk"].get<std::int64_t>() / 1e6 << " MB in "
      << j["shards"] << " shards (" << j["bytes_per_slice"].get<std::int64_t>() / 1e6
      << " MB per slice)\n";
  out << "datasets:\n";
  for (const auto& [dataset, splits] : j["datasets"].items()) {
    for (const auto& [split, c] : splits.items()) {
      out << "  " << dataset << " " << split << ": " << c["embedded"] << "/" << c["slices"]
          << " slices, " << c["samples"] << " samples\n";
    }
  }
  for (const auto& run : j["runs"]) {
    out << "run " << run["part"].get<std::string>() << " (" << run["finished_at"].get<std::string>()
        << "): " << run["encoded"] << " slices in " << run["seconds"].get<double>() << " s, "
        << run["slices_per_second"].get<double>() << " slices/s, "
        << run["bytes_written"].get<std::int64_t>() / 1e6 << " MB"
        << (run["stopped_by_signal"].get<bool>() ? ", stopped by a signal" : "") << "\n";
  }
  return out.str();
}

}  // namespace

std::string store_info(const std::string& store, bool as_json) {
  const store::EmbeddingStore s(store);
  const json j = info_json(s);
  return as_json ? j.dump(1) + "\n" : info_text(j);
}

bool verify_store(const std::string& store, std::string& report) {
  const store::EmbeddingStore s(store);
  const store::VerifyReport r = s.verify();
  std::ostringstream out;
  out << store << ": " << r.shards << " shards, " << r.rows_checked << " embeddings, "
      << r.bytes_checked / 1e6 << " MB checked\n";
  for (const auto& p : r.problems) out << "DAMAGED: " << p << "\n";
  for (const auto& n : r.notes) out << "INCOMPLETE: " << n << "\n";
  const bool whole = r.ok() && s.complete();
  out << (whole ? "OK: every planned slice is embedded once and every checksum matches\n"
                : (r.ok() ? "NOT COMPLETE (nothing is damaged)\n" : "FAILED\n"));
  report = out.str();
  return whole;
}

}  // namespace samri::embed
