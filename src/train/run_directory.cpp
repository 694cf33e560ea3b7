#include "samri/train/run_directory.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "samri/core/atomic_file.h"
#include "samri/core/error.h"
#include "samri/core/json_file.h"

namespace samri::train {

namespace fs = std::filesystem;

namespace {

const char* const kCsvColumns[] = {"kind",  "step",      "epoch", "set", "loss",
                                   "focal", "dice_loss", "dice",  "lr",  "samples_per_s"};

std::string csv_row(const nlohmann::json& line) {
  std::string row;
  for (const char* column : kCsvColumns) {
    if (column != kCsvColumns[0]) row += ',';
    if (!line.contains(column)) continue;
    const auto& v = line[column];
    row += v.is_string() ? v.get<std::string>() : v.dump();
  }
  return row + "\n";
}

std::string csv_header() {
  std::string h;
  for (const char* column : kCsvColumns) h += (h.empty() ? "" : ",") + std::string(column);
  return h + "\n";
}

}  // namespace

RunDirectory::RunDirectory(fs::path root) : root_(std::move(root)) {}

bool RunDirectory::holds_run() const { return fs::exists(file("run.json")); }

nlohmann::json RunDirectory::identity() const {
  return read_json_file(file("run.json").string(), "run identity");
}

void RunDirectory::start(const nlohmann::json& identity, const nlohmann::json& config,
                         const std::string& model_json, const nlohmann::json& stores) {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) throw Error(root_.string() + ": cannot create the run directory: " + ec.message());
  write_text_atomically(file("config.json"), config.dump(2) + "\n");
  write_text_atomically(file("model.json"), model_json + "\n");
  write_text_atomically(file("stores.json"), stores.dump(2) + "\n");
  write_text_atomically(file("metrics.csv"), csv_header());
  write_text_atomically(file("metrics.jsonl"), "");
  // Last: a folder with run.json is a started run.
  write_text_atomically(file("run.json"), identity.dump(2) + "\n");
}

void RunDirectory::clear() const {
  for (const char* name :
       {"run.json", "config.json", "model.json", "stores.json", "metrics.csv", "metrics.jsonl",
        "train_state.pt", "last.pth", "best_seen.pth", "best_zeroshot.pth"}) {
    fs::remove(file(name));
  }
  if (!fs::is_directory(root_)) return;
  for (const auto& entry : fs::directory_iterator(root_)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("epoch_", 0) == 0 && entry.path().extension() == ".pth") fs::remove(entry);
  }
}

void RunDirectory::truncate_metrics(std::int64_t step) const {
  std::ifstream in(file("metrics.jsonl"));
  std::string line, kept_jsonl, kept_csv = csv_header();
  while (std::getline(in, line)) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      break;  // a line cut by a kill, and nothing after it
    }
    if (j.value("step", std::int64_t{0}) > step) continue;
    kept_jsonl += line + "\n";
    kept_csv += csv_row(j);
  }
  write_text_atomically(file("metrics.jsonl"), kept_jsonl);
  write_text_atomically(file("metrics.csv"), kept_csv);
}

void RunDirectory::append_metric(const nlohmann::json& line) const {
  std::ofstream jsonl(file("metrics.jsonl"), std::ios::app);
  jsonl << line.dump() << "\n" << std::flush;
  std::ofstream csv(file("metrics.csv"), std::ios::app);
  csv << csv_row(line) << std::flush;
  if (!jsonl || !csv) throw Error(root_.string() + ": cannot append to the metrics files");
}

std::string identity_differences(const nlohmann::json& existing, const nlohmann::json& wanted) {
  std::string out;
  const nlohmann::json patch = nlohmann::json::diff(existing, wanted);
  for (const auto& op : patch) {
    const std::string path = op.value("path", "");
    const auto pointer = nlohmann::json::json_pointer(path);
    const std::string before = existing.contains(pointer) ? existing[pointer].dump() : "(none)";
    const std::string after = wanted.contains(pointer) ? wanted[pointer].dump() : "(none)";
    out += (out.empty() ? "" : "; ") + path + ": " + before + " in the run vs " + after + " now";
  }
  return out;
}

}  // namespace samri::train
