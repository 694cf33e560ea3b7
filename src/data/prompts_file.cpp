#include "samri/data/prompts_file.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "samri/core/error.h"
#include "samri/core/json_file.h"

namespace samri::data {
namespace {

using nlohmann::json;

std::array<float, 4> parse_box(const json& j, const std::string& where) {
  if (!j.is_array() || j.size() != 4) throw Error(where + ": \"box\" must be [x0, y0, x1, y1]");
  std::array<float, 4> box{};
  for (int i = 0; i < 4; ++i) {
    if (!j[i].is_number()) throw Error(where + ": \"box\" values must be numbers");
    box[i] = j[i].get<float>();
  }
  return box;
}

void parse_points(const json& j, const std::string& where, model::Prompt& prompt) {
  if (!j.is_array()) throw Error(where + ": \"points\" must be a list of [x, y] or [x, y, label]");
  for (const auto& p : j) {
    if (!p.is_array() || p.size() < 2 || p.size() > 3 || !p[0].is_number() || !p[1].is_number()) {
      throw Error(where + ": each point must be [x, y] or [x, y, label]");
    }
    const int label = p.size() == 3 ? p[2].get<int>() : 1;
    if (label != 0 && label != 1) {
      throw Error(where + ": a point label must be 1 (positive) or 0 (negative)");
    }
    prompt.points.push_back({p[0].get<float>(), p[1].get<float>()});
    prompt.point_labels.push_back(label);
  }
}

SlicePrompt parse_prompt(const json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": must be an object");
  for (const auto& item : j.items()) {
    const auto& k = item.key();
    if (k != "slice" && k != "label" && k != "box" && k != "points" && k != "propagate") {
      throw Error(where + ": unknown field \"" + k + "\"");
    }
  }
  SlicePrompt sp;
  if (!j.contains("slice") || !j["slice"].is_number_integer()) {
    throw Error(where + ": needs an integer \"slice\"");
  }
  sp.slice = j["slice"].get<std::int64_t>();
  if (j.contains("label")) {
    if (!j["label"].is_number_integer() || j["label"].get<std::int64_t>() <= 0) {
      throw Error(where + ": \"label\" must be a positive integer");
    }
    sp.label = j["label"].get<std::int64_t>();
  }
  if (j.contains("box")) sp.prompt.box = parse_box(j["box"], where);
  if (j.contains("points")) parse_points(j["points"], where, sp.prompt);
  if (!sp.prompt.box && sp.prompt.points.empty()) {
    throw Error(where + ": needs a \"box\" or \"points\"");
  }
  if (j.contains("propagate")) {
    if (!j["propagate"].is_boolean()) throw Error(where + ": \"propagate\" must be true or false");
    sp.propagate = j["propagate"].get<bool>();
    if (sp.propagate && !sp.prompt.box)
      throw Error(where + ": a propagated prompt needs a \"box\"");
  }
  return sp;
}

std::string prompt_name(const std::vector<SlicePrompt>& prompts, std::size_t i) {
  return "prompt " + std::to_string(i) + " (slice " + std::to_string(prompts[i].slice) + ")";
}

}  // namespace

void check_propagated_labels(const std::vector<SlicePrompt>& prompts, const std::string& path) {
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      const auto &a = prompts[i], &b = prompts[j];
      if (a.label != b.label || (!a.propagate && !b.propagate)) continue;
      const std::string label = "label " + std::to_string(a.label);
      if (a.propagate != b.propagate) {
        throw Error(path + ": " + label + " is already used by " + prompt_name(prompts, j) +
                    "; a propagated object needs a label of its own (" + prompt_name(prompts, i) +
                    ")");
      }
      if (a.slice == b.slice) {
        throw Error(path + ": " + prompt_name(prompts, i) + " and " + prompt_name(prompts, j) +
                    " are two seeds of " + label + " on one slice");
      }
    }
  }
}

PromptsFile read_prompts_file(const std::string& path) {
  json j = read_json_file(path, "prompts file");
  if (!j.is_object() || !j.contains("prompts") || !j["prompts"].is_array()) {
    throw Error(path + ": expected {\"axis\": N, \"prompts\": [...]}");
  }
  PromptsFile out;
  if (j.contains("axis")) {
    if (!j["axis"].is_number_integer()) throw Error(path + ": \"axis\" must be an integer");
    out.axis = j["axis"].get<int>();
  }
  const auto& list = j["prompts"];
  if (list.empty()) throw Error(path + ": \"prompts\" is empty");
  for (std::size_t i = 0; i < list.size(); ++i) {
    out.prompts.push_back(parse_prompt(list[i], path + ": prompt " + std::to_string(i)));
  }
  check_propagated_labels(out.prompts, path);
  return out;
}

}  // namespace samri::data
