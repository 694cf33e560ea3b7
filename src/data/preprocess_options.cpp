#include "samri/data/preprocess_options.h"

#include <fstream>
#include <functional>
#include <map>

#include <nlohmann/json.hpp>

#include "samri/core/error.h"
#include "samri/core/json_file.h"

namespace samri::data {
namespace {

using nlohmann::json;

template <typename T>
std::function<void(PreprocessOptions&, const json&)> setter(T PreprocessOptions::*field) {
  return [field](PreprocessOptions& o, const json& v) { o.*field = v.get<T>(); };
}

const std::map<std::string, std::function<void(PreprocessOptions&, const json&)>>& setters() {
  static const std::map<std::string, std::function<void(PreprocessOptions&, const json&)>> map = {
      {"dataset", setter(&PreprocessOptions::dataset)},
      {"label_names", setter(&PreprocessOptions::label_names)},
      {"series_uid", setter(&PreprocessOptions::series_uid)},
      {"axis",
       [](PreprocessOptions& o, const json& v) {
         if (v.is_null()) {
           o.axis.reset();
         } else {
           o.axis = v.get<int>();
         }
       }},
      {"peripheral_fraction", setter(&PreprocessOptions::peripheral_fraction)},
      {"min_pixels", setter(&PreprocessOptions::min_pixels)},
      {"connected_components", setter(&PreprocessOptions::connected_components)},
      {"intensity", setter(&PreprocessOptions::intensity)},
      {"percentile_low", setter(&PreprocessOptions::percentile_low)},
      {"percentile_high", setter(&PreprocessOptions::percentile_high)},
      {"seed", setter(&PreprocessOptions::seed)},
      {"train_fraction", setter(&PreprocessOptions::train_fraction)},
      {"val_fraction", setter(&PreprocessOptions::val_fraction)},
      {"zero_shot", setter(&PreprocessOptions::zero_shot)},
      {"single_patient_split", setter(&PreprocessOptions::single_patient_split)},
      {"resample_labels", setter(&PreprocessOptions::resample_labels)},
      {"geometry_tolerance", setter(&PreprocessOptions::geometry_tolerance)},
      {"skip_bad_cases", setter(&PreprocessOptions::skip_bad_cases)},
      {"threads", setter(&PreprocessOptions::threads)},
  };
  return map;
}

}  // namespace

void apply_preprocess_config(PreprocessOptions& options, const std::filesystem::path& file) {
  const json config = read_json_file(file.string(), "config file");
  if (!config.is_object()) throw Error(file.string() + ": expected a JSON object of options");
  for (const auto& [key, value] : config.items()) {
    if (!key.empty() && key[0] == '_') continue;  // "_comment" and the like
    const auto it = setters().find(key);
    if (it == setters().end()) throw Error(file.string() + ": unknown option \"" + key + "\"");
    try {
      it->second(options, value);
    } catch (const json::exception& e) {
      throw Error(file.string() + ": option \"" + key + "\" has the wrong type: " + e.what());
    }
  }
}

void validate_preprocess_options(const PreprocessOptions& o) {
  if (o.axis && (*o.axis < 0 || *o.axis > 2)) {
    throw Error("--axis must be 0, 1 or 2, got " + std::to_string(*o.axis));
  }
  if (!(o.peripheral_fraction >= 0 && o.peripheral_fraction < 0.5)) {
    throw Error("--peripheral-fraction must be in [0, 0.5) (per end), got " +
                std::to_string(o.peripheral_fraction));
  }
  if (o.min_pixels < 1) throw Error("--min-pixels must be at least 1");
  if (o.intensity != "slice" && o.intensity != "volume" && o.intensity != "percentile") {
    throw Error("--intensity must be slice, volume or percentile, got '" + o.intensity + "'");
  }
  if (!(o.percentile_low >= 0 && o.percentile_low < o.percentile_high &&
        o.percentile_high <= 100)) {
    throw Error("percentiles must satisfy 0 <= low < high <= 100");
  }
  if (!(o.train_fraction >= 0 && o.val_fraction >= 0 && o.train_fraction + o.val_fraction <= 1)) {
    throw Error("split fractions must be >= 0 with train + val <= 1");
  }
  if (!o.single_patient_split.empty() && o.single_patient_split != "train" &&
      o.single_patient_split != "val" && o.single_patient_split != "test") {
    throw Error("--single-patient-split must be train, val or test");
  }
  if (o.threads < 1) throw Error("--threads must be at least 1");
  if (!(o.geometry_tolerance >= 0)) throw Error("--geometry-tolerance must be >= 0");
}

std::string rules_fingerprint(const PreprocessOptions& o) {
  json j;
  j["axis"] = o.axis ? json(*o.axis) : json(nullptr);
  j["peripheral_fraction"] = o.peripheral_fraction;
  j["min_pixels"] = o.min_pixels;
  j["connected_components"] = o.connected_components;
  j["intensity"] = o.intensity;
  if (o.intensity == "percentile") {
    j["percentile_low"] = o.percentile_low;
    j["percentile_high"] = o.percentile_high;
  }
  j["resample_labels"] = o.resample_labels;
  j["geometry_tolerance"] = o.geometry_tolerance;
  j["series_uid"] = o.series_uid;
  return j.dump();
}

}  // namespace samri::data
