#include "samri/eval/mask_eval.h"

#include <atomic>
#include <exception>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "samri/core/error.h"
#include "samri/core/json_file.h"
#include "samri/core/progress.h"
#include "samri/data/dataset.h"
#include "samri/io/image_reader.h"
#include "samri/io/slicing.h"

namespace samri::eval {

namespace fs = std::filesystem;

namespace {

struct FilePair {
  std::string name;
  fs::path reference;
  std::vector<fs::path> predictions;  // one per method
};

std::vector<fs::path> image_files(const fs::path& p) {
  if (!fs::is_directory(p)) {
    if (!fs::exists(p)) throw Error(p.string() + ": no such file or folder");
    return {p};
  }
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(p)) {
    if (e.is_regular_file() && data::is_image_file(e.path())) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  if (out.empty()) throw Error(p.string() + ": no NIfTI, NRRD or MetaImage files in the folder");
  return out;
}

// Files matched by name; a single reference file pairs with a single prediction file.
std::vector<FilePair> pair_files(const MaskEvalOptions& o) {
  std::vector<FilePair> pairs;
  for (const auto& r : image_files(o.reference)) pairs.push_back({r.filename().string(), r, {}});
  std::vector<std::string> problems;
  for (const auto& [method, where] : o.predictions) {
    std::map<std::string, fs::path> found;
    for (const auto& p : image_files(where)) found[p.filename().string()] = p;
    const bool single = !fs::is_directory(o.reference) && !fs::is_directory(where);
    for (auto& pair : pairs) {
      auto it = single ? found.begin() : found.find(pair.name);
      if (it == found.end()) {
        problems.push_back(method + ": no prediction " + (where / pair.name).string());
        continue;
      }
      pair.predictions.push_back(it->second);
      found.erase(it);
    }
    for (const auto& [name, path] : found) {
      problems.push_back(method + ": " + path.string() + " has no reference file " +
                         (o.reference / name).string());
    }
  }
  if (!problems.empty()) {
    std::ostringstream s;
    s << problems.size() << " file(s) missing on one side:";
    for (const auto& p : problems) s << "\n  " << p;
    throw Error(s.str());
  }
  return pairs;
}

std::map<std::int64_t, std::int64_t> read_value_map(const fs::path& file) {
  std::map<std::int64_t, std::int64_t> map;
  if (file.empty()) return map;
  const nlohmann::json j = read_json_file(file.string(), "label map");
  if (!j.is_object())
    throw Error(file.string() + ": expected {\"prediction value\": reference value}");
  for (const auto& [key, value] : j.items()) {
    try {
      std::size_t used = 0;
      const std::int64_t from = std::stoll(key, &used);
      if (used != key.size() || !value.is_number_integer()) throw std::invalid_argument(key);
      map[from] = value.get<std::int64_t>();
    } catch (const std::exception&) {
      throw Error(file.string() + ": entry \"" + key + "\" does not map an integer to an integer");
    }
  }
  return map;
}

// How one file pair is scored: the settings shared by every case.
struct Scoring {
  MetricOptions metric;
  bool empty_as_diagonal = false;
  bool millimetres = false;
  bool per_volume = false;
  bool binary = false;
  int axis = -1;
  std::set<std::int64_t> labels;  // empty: all
  std::map<std::int64_t, std::int64_t> value_map;
  std::map<std::int64_t, std::string> names;
  std::string dataset;
};

io::Image read_labels(const fs::path& path, const Scoring& s) {
  io::Image image = io::read_label_map(path);
  if (image.geometry.dimension() != 2 && image.geometry.dimension() != 3) {
    throw Error(path.string() + ": expected a 2-D or 3-D mask");
  }
  if (s.binary) {
    const torch::Tensor bad = (image.data != 0) & (image.data != 1);
    if (bad.any().item<bool>()) {
      const auto at = bad.flatten().nonzero()[0][0].item<std::int64_t>();
      throw Error(path.string() + ": not a binary mask (value " +
                  std::to_string(image.data.flatten()[at].item<std::int64_t>()) +
                  "); leave out --binary to score label maps");
    }
  }
  if (!s.value_map.empty()) {
    torch::Tensor mapped = image.data.clone();
    for (const auto& [from, to] : s.value_map) mapped.masked_fill_(image.data == from, to);
    image.data = mapped;
  }
  return image;
}

// The values present in a label array, without background.
std::set<std::int64_t> values_in(const torch::Tensor& t) {
  const torch::Tensor u = std::get<0>(at::_unique(t.flatten(), /*sorted=*/true));
  std::set<std::int64_t> out;
  const auto* p = u.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < u.numel(); ++i) {
    if (p[i] != 0) out.insert(p[i]);
  }
  return out;
}

Mask mask_of(const torch::Tensor& labels, std::int64_t value) {
  const torch::Tensor m = (labels == value).to(torch::kUInt8).contiguous();
  return Mask(m.data_ptr<std::uint8_t>(), m.data_ptr<std::uint8_t>() + m.numel());
}

// Every label either side holds on one slice (or the volume) as a case.
void score_arrays(const torch::Tensor& ref, const torch::Tensor& pred, const Grid& grid,
                  std::int64_t slice, const Scoring& s, CaseRecord base,
                  std::vector<CaseRecord>& out) {
  std::set<std::int64_t> labels = values_in(ref);
  for (const auto v : values_in(pred)) labels.insert(v);
  MetricOptions metric = s.metric;
  if (s.empty_as_diagonal) metric.empty_distance = grid_diagonal(grid);
  for (const auto label : labels) {
    if (!s.labels.empty() && !s.labels.count(label)) continue;
    CaseRecord c = base;
    c.slice = slice;
    c.label = label;
    const auto name = s.names.find(label);
    c.label_name = name == s.names.end() ? "" : name->second;
    c.scores = score_masks(mask_of(pred, label), mask_of(ref, label), grid, metric);
    c.pixels = c.scores.reference_pixels;
    c.area_fraction = static_cast<double>(c.pixels) / static_cast<double>(grid.count());
    out.push_back(std::move(c));
  }
}

// The grid of a whole image in buffer order (last ITK axis first).
Grid buffer_grid(const io::Geometry& g, bool millimetres) {
  Grid grid;
  for (auto d = g.dimension() - 1; d >= 0; --d) {
    grid.size.push_back(g.size[d]);
    grid.spacing.push_back(millimetres ? g.spacing[d] : 1.0);
  }
  return grid;
}

void score_pair(const io::Image& ref, const io::Image& pred, const Scoring& s, CaseRecord base,
                std::vector<CaseRecord>& out) {
  const io::Geometry& g = ref.geometry;
  if (s.per_volume || g.dimension() == 2) {
    score_arrays(ref.data, pred.data, buffer_grid(g, s.millimetres), -1, s, base, out);
    return;
  }
  const int axis = s.axis >= 0 ? s.axis : io::default_slice_axis(g.size);
  if (axis > 2) throw Error("--axis " + std::to_string(axis) + ": a volume has axes 0, 1 and 2");
  std::vector<int> rest;
  for (int d = 0; d < 3; ++d) {
    if (d != axis) rest.push_back(d);
  }
  Grid grid{{g.size[rest[0]], g.size[rest[1]]},
            {s.millimetres ? g.spacing[rest[0]] : 1.0, s.millimetres ? g.spacing[rest[1]] : 1.0}};
  for (std::int64_t k = 0; k < g.size[axis]; ++k) {
    score_arrays(io::extract_slice(ref, axis, k), io::extract_slice(pred, axis, k), grid, k, s,
                 base, out);
  }
}

std::vector<CaseRecord> score_file(const FilePair& pair, const MaskEvalOptions& o,
                                   const Scoring& s) {
  const io::Image ref = read_labels(pair.reference, s);
  std::vector<CaseRecord> out;
  for (std::size_t m = 0; m < pair.predictions.size(); ++m) {
    const io::Image pred = read_labels(pair.predictions[m], s);
    const std::string mismatch = io::describe_geometry_mismatch(pred.geometry, ref.geometry);
    if (!mismatch.empty()) {
      throw Error(pair.predictions[m].string() + " and " + pair.reference.string() +
                  ": the prediction's grid differs from the reference's: " + mismatch);
    }
    CaseRecord base;
    base.dataset = s.dataset;
    base.patient = data::image_stem(pair.reference);
    base.image = pair.name;
    base.model = o.predictions[m].first;
    score_pair(ref, pred, s, base, out);
  }
  return out;
}

Scoring scoring_of(const MaskEvalOptions& o) {
  Scoring s;
  s.empty_as_diagonal = o.settings.empty_as_diagonal();
  s.metric.nsd_tolerance = o.settings.nsd_tolerance;
  s.millimetres = o.millimetres;
  s.per_volume = o.per_volume;
  s.binary = o.binary;
  s.axis = o.axis;
  s.labels.insert(o.labels.begin(), o.labels.end());
  s.value_map = read_value_map(o.label_map);
  if (!o.label_names.empty()) s.names = data::read_label_names(o.label_names);
  s.dataset = !o.dataset.empty() ? o.dataset
              : fs::is_directory(o.reference)
                  ? fs::absolute(o.reference).lexically_normal().filename().string()
                  : data::image_stem(o.reference);
  if (s.dataset.empty()) s.dataset = fs::absolute(o.reference).parent_path().filename().string();
  return s;
}

// Scores the pairs on `threads` workers; the cases keep the pairs' order.
std::vector<CaseRecord> score_all(const std::vector<FilePair>& pairs, const MaskEvalOptions& o,
                                  const Scoring& s) {
  std::vector<std::vector<CaseRecord>> per_pair(pairs.size());
  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;
  std::mutex lock;
  Progress progress("scored files", pairs.size());
  auto work = [&] {
    for (std::size_t i; (i = next++) < pairs.size();) {
      try {
        per_pair[i] = score_file(pairs[i], o, s);
      } catch (...) {
        std::lock_guard<std::mutex> g(lock);
        if (!failure) failure = std::current_exception();
        next = pairs.size();
      }
      std::lock_guard<std::mutex> g(lock);
      progress.advance();
    }
  };
  const auto n = static_cast<std::size_t>(o.settings.worker_count());
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < std::min(n, pairs.size()); ++t) workers.emplace_back(work);
  for (auto& w : workers) w.join();
  if (failure) std::rethrow_exception(failure);
  progress.finish();
  std::vector<CaseRecord> cases;
  for (auto& v : per_pair) cases.insert(cases.end(), v.begin(), v.end());
  return cases;
}

void report_one_sided_labels(const std::vector<CaseRecord>& cases) {
  std::map<std::pair<std::string, std::int64_t>, std::pair<std::int64_t, std::int64_t>> sides;
  for (const auto& c : cases) {
    auto& [ref, pred] = sides[{c.model, c.label}];
    ref += c.pixels;
    pred += c.scores.prediction_pixels;
  }
  for (const auto& [key, totals] : sides) {
    if (totals.first == 0 || totals.second == 0) {
      spdlog::warn("{}: label {} is only in the {}", key.first, key.second,
                   totals.first == 0 ? "predictions" : "reference masks");
    }
  }
}

}  // namespace

EvalSummary run_mask_eval(const MaskEvalOptions& o) {
  if (o.predictions.empty()) throw Error("no predictions to score (--pred)");
  const ReportOptions report = o.settings.report_options(
      {{"units", o.millimetres ? "mm" : "pixels"},
       {"mode", o.per_volume ? "3-D per volume" : "2-D per slice"},
       {"surface", o.per_volume ? "6-connected erosion" : "4-connected erosion"}});
  const Scoring scoring = scoring_of(o);
  const std::vector<FilePair> pairs = pair_files(o);
  std::vector<CaseRecord> cases = score_all(pairs, o, scoring);
  if (cases.empty()) throw Error(o.reference.string() + ": no labelled pixels on either side");
  report_one_sided_labels(cases);
  write_report(o.settings.output, cases, report);
  spdlog::info("{} cases from {} file(s) scored; report in {}", cases.size(), pairs.size(),
               o.settings.output.string());
  return {static_cast<std::int64_t>(cases.size()), static_cast<std::int64_t>(pairs.size()),
          o.settings.output};
}

}  // namespace samri::eval
