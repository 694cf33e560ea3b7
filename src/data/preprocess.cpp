#include "samri/data/preprocess.h"

#include <atomic>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "preprocess_volume.h"
#include "samri/core/atomic_file.h"
#include "samri/core/error.h"
#include "samri/core/progress.h"
#include "samri/data/dataset.h"
#include "samri/data/split.h"

namespace samri::data {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A finished part for this case (same image and label files, unchanged), or null.
json load_part(const fs::path& path, const DatasetCase& c) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return nullptr;
  try {
    json part = json::parse(read_text(path));
    if (part.value("image", "") == c.image.string() &&
        part.value("label", "") == c.label.string() &&
        part.value("stamp", "") == detail::input_stamp(c)) {
      return part;
    }
  } catch (const json::exception&) {
  }
  return nullptr;
}

// Refuses an output folder made with other rules; records the rules in a new one.
void prepare_output(const PreprocessOptions& o) {
  const fs::path out(o.output);
  std::error_code ec;
  fs::create_directories(out / "images", ec);
  if (!ec) fs::create_directories(out / "labels", ec);
  if (!ec) fs::create_directories(out / "parts", ec);
  if (ec) throw Error(o.output + ": cannot create the output folder: " + ec.message());
  const fs::path rules = out / "rules.json";
  const std::string fingerprint = rules_fingerprint(o);
  if (fs::exists(rules, ec)) {
    if (read_text(rules) != fingerprint + "\n") {
      throw Error(o.output + ": this folder was made with other rules (" + rules.string() +
                  " holds " + read_text(rules) + "); use a new output folder");
    }
  } else {
    write_text_atomically(rules, fingerprint + "\n");
  }
}

std::vector<DatasetCase> load_cases(const PreprocessOptions& o) {
  if (o.input_dir.empty() == o.list_file.empty()) {
    throw Error("give either a dataset folder (--input) or a dataset list (--list)");
  }
  return o.input_dir.empty() ? read_dataset_list(o.list_file) : find_dataset_cases(o.input_dir);
}

std::string dataset_name(const PreprocessOptions& o) {
  if (!o.dataset.empty()) return o.dataset;
  if (!o.list_file.empty()) return fs::path(o.list_file).stem().string();
  fs::path dir = fs::path(o.input_dir).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();
  return dir.filename().string();
}

}  // namespace

PreprocessSummary run_preprocess(const PreprocessOptions& o) {
  validate_preprocess_options(o);
  if (o.output.empty()) throw Error("--output is required");
  const std::vector<DatasetCase> cases = load_cases(o);
  const std::string dataset = dataset_name(o);
  const std::map<std::int64_t, std::string> names = o.label_names.empty()
                                                        ? std::map<std::int64_t, std::string>{}
                                                        : read_label_names(o.label_names);
  prepare_output(o);
  const fs::path out(o.output);

  // Volumes in parallel, one case per thread at a time; finished parts are reused.
  std::vector<json> parts(cases.size());
  std::vector<std::string> failures(cases.size());
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::exception_ptr first_error;
  std::int64_t reused = 0;
  Progress progress("cases", cases.size());
  auto worker = [&] {
    while (!stop) {
      const std::size_t i = next++;
      if (i >= cases.size()) return;
      const DatasetCase& c = cases[i];
      const fs::path part_file = detail::part_path(out, c);
      json part = load_part(part_file, c);
      bool was_reused = !part.is_null();
      if (!was_reused) {
        try {
          part = detail::process_case(c, o, names, out);
        } catch (const std::exception& e) {
          std::lock_guard<std::mutex> lock(mutex);
          if (!o.skip_bad_cases) {
            if (!first_error) first_error = std::current_exception();
            stop = true;
            return;
          }
          spdlog::warn("skipping {}: {}", c.image.string(), e.what());
          failures[i] = e.what();
        }
      }
      std::lock_guard<std::mutex> lock(mutex);
      parts[i] = std::move(part);
      if (was_reused) ++reused;
      progress.advance();
    }
  };
  const int n_threads = std::max(1, std::min<int>(o.threads, static_cast<int>(cases.size())));
  std::vector<std::thread> threads;
  for (int t = 1; t < n_threads; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (first_error) std::rethrow_exception(first_error);
  progress.finish();

  // Patients and their splits.
  std::set<std::string> patients;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    if (!parts[i].is_null()) patients.insert(cases[i].patient);
  }
  json warnings = json::array();
  const bool single = patients.size() == 1;
  if (single) {
    const std::string where =
        o.zero_shot ? "test (zero-shot dataset)"
        : o.single_patient_split.empty()
            ? patient_split(dataset, *patients.begin(), o.seed, o.train_fraction, o.val_fraction) +
                  " (from its hash; --single-patient-split chooses)"
            : o.single_patient_split + " (--single-patient-split)";
    const std::string text = "dataset " + dataset + " has a single patient (" + *patients.begin() +
                             "), so it cannot be split by patient; it goes to " + where;
    spdlog::warn("{}", text);
    warnings.push_back(text);
  }
  auto split_of = [&](const std::string& patient) {
    if (o.zero_shot) return std::string("test");
    if (single && !o.single_patient_split.empty()) return o.single_patient_split;
    return patient_split(dataset, patient, o.seed, o.train_fraction, o.val_fraction);
  };

  // Merge the parts, in case order, into the manifest and the summary.
  PreprocessSummary summary;
  summary.reused = reused;
  std::string manifest;
  json volumes = json::array(), skipped = json::array();
  std::map<std::int64_t, std::map<std::string, std::int64_t>> per_label;
  std::map<std::string, std::set<std::string>> split_patients;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const DatasetCase& c = cases[i];
    if (parts[i].is_null()) {
      ++summary.skipped;
      skipped.push_back({{"patient", c.patient},
                         {"image", c.image.string()},
                         {"label", c.label.string()},
                         {"reason", failures[i]}});
      continue;
    }
    const std::string split = split_of(c.patient);
    split_patients[split].insert(c.patient);
    for (auto& v : parts[i]["volumes"]) {
      ++summary.cases;
      summary.slices += v["slices_written"].get<std::int64_t>();
      json record = {{"patient", c.patient},
                     {"modality", c.modality},
                     {"split", split},
                     {"image", c.image.string()},
                     {"label", c.label.string()}};
      record.update(v);
      volumes.push_back(record);
    }
    for (const auto& s : parts[i]["samples"]) {
      json line = {{"dataset", dataset}};
      line.update(s);
      line["split"] = split;
      const auto name = names.find(s["label"].get<std::int64_t>());
      line["label_name"] = name == names.end() ? json(nullptr) : json(name->second);
      manifest += line.dump() + "\n";
      ++summary.samples;
      ++summary.samples_per_split[split];
      const auto label = s["label"].get<std::int64_t>();
      ++summary.samples_per_label[label];
      ++per_label[label][split];
    }
  }
  summary.patients = static_cast<std::int64_t>(patients.size());
  for (const auto& [split, set] : split_patients) {
    summary.patients_per_split[split] = static_cast<std::int64_t>(set.size());
  }

  json labels = json::object();
  for (const auto& [label, counts] : per_label) {
    const auto it = names.find(label);
    json entry = {{"name", it == names.end() ? json(nullptr) : json(it->second)}};
    std::int64_t total = 0;
    for (const char* split : {"train", "val", "test"}) {
      const auto c = counts.find(split);
      entry[split] = c == counts.end() ? 0 : c->second;
      total += entry[split].get<std::int64_t>();
    }
    entry["total"] = total;
    labels[std::to_string(label)] = entry;
  }
  json splits = json::object();
  for (const char* split : {"train", "val", "test"}) {
    splits[split] = {{"patients", summary.patients_per_split[split]},
                     {"samples", summary.samples_per_split[split]}};
  }
  json rules = json::parse(rules_fingerprint(o));
  rules["seed"] = o.seed;
  rules["train_fraction"] = o.train_fraction;
  rules["val_fraction"] = o.val_fraction;
  rules["zero_shot"] = o.zero_shot;
  json report = {{"dataset", dataset},
                 {"rules", rules},
                 {"patients", summary.patients},
                 {"volumes_processed", summary.cases},
                 {"slices_written", summary.slices},
                 {"samples", summary.samples},
                 {"splits", splits},
                 {"labels", labels},
                 {"warnings", warnings},
                 {"skipped_cases", skipped},
                 {"volumes", volumes}};
  write_text_atomically(out / "manifest.jsonl", manifest);
  write_text_atomically(out / "summary.json", report.dump(1) + "\n");
  spdlog::info("{}: {} samples on {} slices from {} volumes ({} reused, {} skipped) in {}", dataset,
               summary.samples, summary.slices, summary.cases, summary.reused, summary.skipped,
               o.output);
  return summary;
}

}  // namespace samri::data
