#include "samri/store/store_index.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "samri/core/error.h"

namespace samri::store {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

template <typename Parse>
void for_each_line(const fs::path& file, const Parse& parse) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(file.string() + ": cannot open (is this an embedding store?)");
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    try {
      parse(json::parse(line));
    } catch (const json::exception& e) {
      throw Error(file.string() + " line " + std::to_string(number) + ": " + e.what());
    }
  }
}

}  // namespace

std::string slices_to_jsonl(const std::vector<SliceEntry>& slices) {
  std::string text;
  for (const auto& s : slices) {
    json j = {{"id", s.id},           {"name", s.name},   {"dataset", s.dataset},
              {"patient", s.patient}, {"split", s.split}, {"height", s.height},
              {"width", s.width}};
    if (!s.source_sha256.empty()) {
      j["source"] = s.source;
      j["source_sha256"] = s.source_sha256;
      j["channel"] = s.channel;
    }
    if (s.axis) j["axis"] = *s.axis;
    if (s.index) j["index"] = *s.index;
    text += j.dump() + "\n";
  }
  return text;
}

std::string samples_to_jsonl(const std::vector<SampleEntry>& samples) {
  std::string text;
  for (const auto& s : samples) {
    text += json{{"slice", s.slice},
                 {"label", s.label},
                 {"label_name", s.label_name ? json(*s.label_name) : json()},
                 {"dataset", s.dataset},
                 {"patient", s.patient},
                 {"split", s.split},
                 {"box", s.box},
                 {"area_fraction", s.area_fraction},
                 {"pixels", s.pixels}}
                .dump() +
            "\n";
  }
  return text;
}

std::vector<SliceEntry> read_slices(const fs::path& file) {
  std::vector<SliceEntry> slices;
  for_each_line(file, [&](const json& j) {
    SliceEntry s;
    s.id = j.at("id").get<std::int64_t>();
    s.name = j.at("name").get<std::string>();
    s.dataset = j.at("dataset").get<std::string>();
    s.patient = j.at("patient").get<std::string>();
    s.split = j.at("split").get<std::string>();
    s.height = j.at("height").get<std::int64_t>();
    s.width = j.at("width").get<std::int64_t>();
    s.source = j.value("source", "");
    s.source_sha256 = j.value("source_sha256", "");
    s.channel = j.value("channel", "");
    if (j.contains("axis")) s.axis = j["axis"].get<int>();
    if (j.contains("index")) s.index = j["index"].get<std::int64_t>();
    if (s.id != static_cast<std::int64_t>(slices.size())) {
      throw Error(file.string() + ": slice ids are not 0, 1, 2, ... in order");
    }
    slices.push_back(std::move(s));
  });
  return slices;
}

std::vector<SampleEntry> read_samples(const fs::path& file) {
  std::vector<SampleEntry> samples;
  for_each_line(file, [&](const json& j) {
    SampleEntry s;
    s.slice = j.at("slice").get<std::int64_t>();
    s.label = j.at("label").get<std::int64_t>();
    if (!j.at("label_name").is_null()) s.label_name = j["label_name"].get<std::string>();
    s.dataset = j.at("dataset").get<std::string>();
    s.patient = j.at("patient").get<std::string>();
    s.split = j.at("split").get<std::string>();
    s.box = j.at("box").get<std::array<std::int64_t, 4>>();
    s.area_fraction = j.at("area_fraction").get<double>();
    s.pixels = j.at("pixels").get<std::int64_t>();
    samples.push_back(std::move(s));
  });
  return samples;
}

}  // namespace samri::store
