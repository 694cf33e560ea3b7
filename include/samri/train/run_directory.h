#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace samri::train {

// A training run's folder. run.json identifies the run (its inputs and the config values that
// shape the result), so that a rerun continues the same run and never another one. Metrics go
// to metrics.jsonl (one JSON object a line) and metrics.csv, appended and flushed per line.
class RunDirectory {
 public:
  explicit RunDirectory(std::filesystem::path root);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path file(const std::string& name) const { return root_ / name; }
  bool holds_run() const;
  nlohmann::json identity() const;  // run.json

  // Creates the folder and writes run.json, config.json, model.json and stores.json.
  void start(const nlohmann::json& identity, const nlohmann::json& config,
             const std::string& model_json, const nlohmann::json& stores);
  // Removes the files this tool writes (for --force), nothing else.
  void clear() const;

  // Keeps the metric lines of steps <= step (after a resume, the lines of steps done again go).
  void truncate_metrics(std::int64_t step) const;
  void append_metric(const nlohmann::json& line) const;

 private:
  std::filesystem::path root_;
};

// The differences between two run identities, one "key: a vs b" phrase each; empty when equal.
std::string identity_differences(const nlohmann::json& existing, const nlohmann::json& wanted);

}  // namespace samri::train
