#include "samri/infer/slice_report.h"

#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "samri/core/atomic_file.h"

namespace samri::infer {
namespace {

using nlohmann::json;

std::string fixed(double value, int digits) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", digits, value);
  return text;
}

json settings_json(const PropagationSettings& s) {
  return {{"box_margin", s.box_margin},
          {"mask_prompt", s.mask_prompt},
          {"point_prompt", s.point_prompt},
          {"min_pixels", s.min_pixels},
          {"min_iou", s.min_iou},
          {"max_area_factor", s.max_area_factor},
          {"max_seed_area_factor", s.max_seed_area_factor},
          {"clip_to_box", s.clip_to_box}};
}

json slice_json(const SliceResult& r, const std::vector<std::string>& reasons, bool propagated) {
  json j = {{"slice", r.slice},
            {"predicted_iou", r.iou},
            {"area", r.area},
            {"area_change", r.area_change ? json(*r.area_change) : json(nullptr)},
            {"review", !reasons.empty()}};
  if (propagated) j["seed"] = r.seed;
  if (!reasons.empty()) j["reasons"] = reasons;
  return j;
}

json object_json(const ObjectOutcome& o, const ReviewRules& rules, json& review) {
  json slices = json::array();
  for (const auto& [slice, r] : o.slices) {
    const auto reasons = review_reasons(r, rules);
    slices.push_back(slice_json(r, reasons, o.propagated));
    if (!reasons.empty())
      review.push_back({{"label", o.label}, {"slice", slice}, {"reasons", reasons}});
  }
  json j = {{"label", o.label}, {"propagated", o.propagated}, {"slices", slices}};
  if (o.propagated) {
    json stops = json::array();
    for (const auto& s : o.stops) {
      stops.push_back(
          {{"seed", s.seed}, {"direction", s.direction}, {"slice", s.slice}, {"reason", s.reason}});
    }
    j["seeds"] = o.seeds;
    j["stops"] = stops;
  }
  return j;
}

}  // namespace

std::vector<std::string> review_reasons(const SliceResult& r, const ReviewRules& rules) {
  std::vector<std::string> reasons;
  if (r.area == 0) reasons.push_back("empty mask");
  if (r.iou < rules.min_iou) {
    reasons.push_back("predicted IoU " + fixed(r.iou, 3) + " under " + fixed(rules.min_iou, 3));
  }
  if (r.area_change && *r.area_change > 0) {
    const double factor = std::max(*r.area_change, 1.0 / *r.area_change);
    if (factor > rules.max_area_factor) {
      reasons.push_back("area changed by a factor of " + fixed(factor, 2) +
                        " from the neighbouring slice");
    }
  }
  return reasons;
}

void fill_area_changes(ObjectOutcome& object) {
  for (auto& [slice, r] : object.slices) {
    if (r.area_change) continue;
    const auto previous = object.slices.find(slice - 1);
    if (previous == object.slices.end() || previous->second.area == 0) continue;
    r.area_change = static_cast<double>(r.area) / static_cast<double>(previous->second.area);
  }
}

std::string default_report_path(const std::string& output) {
  std::filesystem::path path(output);
  std::string name = path.filename().string();
  for (const char* ext : {".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd"}) {
    const std::string e(ext);
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0) {
      name.resize(name.size() - e.size());
      break;
    }
  }
  return (path.parent_path() / (name + ".json")).string();
}

void write_report(const std::string& path, const RunSummary& run,
                  const std::vector<ObjectOutcome>& objects, const ReviewRules& rules) {
  json review = json::array();
  json list = json::array();
  for (const auto& o : objects) list.push_back(object_json(o, rules, review));
  const double slices = static_cast<double>(std::max<std::int64_t>(run.slices_encoded, 1));
  json j = {
      {"input", run.input},
      {"output", run.output},
      {"axis", run.axis},
      {"propagation", settings_json(run.propagation)},
      {"review_rules", {{"min_iou", rules.min_iou}, {"max_area_factor", rules.max_area_factor}}},
      {"timing",
       {{"slices_encoded", run.slices_encoded},
        {"slices_read_from_store", run.slices_read},
        {"encode_seconds", run.encode_seconds},
        {"encode_seconds_per_slice", run.encode_seconds / slices},
        {"decode_seconds", run.decode_seconds}}},
      {"objects", list},
      {"review", review}};
  write_text_atomically(path, j.dump(2) + "\n");
}

}  // namespace samri::infer
