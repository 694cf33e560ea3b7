#include "samri/data/dataset.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

#include <nlohmann/json.hpp>

#include "samri/core/error.h"
#include "samri/core/json_file.h"

namespace samri::data {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* const kExtensions[] = {".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd"};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool has_image_extension(const fs::path& p) {
  const std::string name = lower(p.filename().string());
  for (const char* ext : kExtensions) {
    if (ends_with(name, ext)) return true;
  }
  return false;
}

// Sorted entries of `folder` that are image files or (for images) DICOM series folders.
std::vector<fs::path> list_entries(const fs::path& folder, bool allow_folders) {
  std::vector<fs::path> out;
  try {
    for (const auto& entry : fs::directory_iterator(folder)) {
      const std::string name = entry.path().filename().string();
      if (name.empty() || name[0] == '.') continue;
      if (entry.is_directory()) {
        if (allow_folders) out.push_back(entry.path());
      } else if (has_image_extension(entry.path())) {
        out.push_back(entry.path());
      }
    }
  } catch (const fs::filesystem_error& e) {
    throw Error(folder.string() + ": cannot read the folder: " + e.code().message());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// Splits one CSV line on commas; double-quoted fields may hold commas ("" is a quote).
std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  for (auto& f : fields) f = trim(f);
  return fields;
}

fs::path resolve(const fs::path& base, const std::string& p) {
  const fs::path path(p);
  return path.is_absolute() ? path : base / path;
}

void sort_cases(std::vector<DatasetCase>& cases) {
  std::sort(cases.begin(), cases.end(), [](const DatasetCase& a, const DatasetCase& b) {
    return std::tie(a.patient, a.modality) < std::tie(b.patient, b.modality);
  });
}

}  // namespace

std::string image_stem(const fs::path& path) {
  const std::string name = path.filename().string();
  const std::string low = lower(name);
  for (const char* ext : kExtensions) {
    if (ends_with(low, ext)) return name.substr(0, name.size() - std::string(ext).size());
  }
  return name;
}

std::vector<DatasetCase> find_dataset_cases(const fs::path& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) throw Error(folder.string() + ": dataset folder not found");
  bool nnunet = false;
  fs::path images = folder / "images", labels = folder / "labels";
  if (!fs::is_directory(images, ec) && fs::is_directory(folder / "imagesTr", ec)) {
    images = folder / "imagesTr";
    labels = folder / "labelsTr";
    nnunet = true;
  }
  if (!fs::is_directory(images, ec) || !fs::is_directory(labels, ec)) {
    throw Error(folder.string() +
                ": expected the folders images/ and labels/ (or nnU-Net's imagesTr/ and "
                "labelsTr/)");
  }
  std::map<std::string, fs::path> label_by_stem;
  for (const auto& p : list_entries(labels, false)) {
    if (!label_by_stem.emplace(image_stem(p), p).second) {
      throw Error(p.string() + ": two label maps share the name " + image_stem(p));
    }
  }
  std::vector<DatasetCase> cases;
  std::set<std::string> used;
  for (const auto& p : list_entries(images, true)) {
    DatasetCase c;
    c.image = p;
    std::string stem = image_stem(p);
    if (nnunet) {
      const auto us = stem.rfind('_');
      const bool channel = us != std::string::npos && stem.size() - us == 5 &&
                           std::all_of(stem.begin() + us + 1, stem.end(), ::isdigit);
      if (!channel) {
        throw Error(p.string() + ": nnU-Net images must be named CASE_XXXX (XXXX the channel)");
      }
      c.modality = stem.substr(us + 1);
      stem = stem.substr(0, us);
    }
    const auto it = label_by_stem.find(stem);
    if (it == label_by_stem.end()) {
      throw Error(p.string() + ": no label map named " + stem + ".* in " + labels.string());
    }
    c.patient = stem;
    c.label = it->second;
    used.insert(stem);
    cases.push_back(c);
  }
  for (const auto& [stem, p] : label_by_stem) {
    if (!used.count(stem))
      throw Error(p.string() + ": label map without an image in " + images.string());
  }
  if (cases.empty()) throw Error(images.string() + ": no images found");
  sort_cases(cases);
  check_unique_cases(cases, folder.string());
  return cases;
}

std::vector<DatasetCase> read_dataset_list(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(file.string() + ": cannot open the dataset list");
  const fs::path base = file.parent_path();
  std::vector<DatasetCase> cases;
  auto make_case = [&](const std::string& image, const std::string& label,
                       const std::string& patient, const std::string& modality,
                       const std::string& where) {
    if (image.empty() || label.empty()) {
      throw Error(file.string() + ": " + where + " needs both an image and a label");
    }
    DatasetCase c;
    c.image = resolve(base, image);
    c.label = resolve(base, label);
    c.patient = patient.empty() ? image_stem(c.label) : patient;
    c.modality = modality;
    cases.push_back(c);
  };
  if (lower(file.extension().string()) == ".json") {
    json j = parse_json(in, file.string());
    if (j.is_object() && j.contains("cases")) j = j["cases"];
    if (!j.is_array()) throw Error(file.string() + ": expected an array of cases");
    for (std::size_t i = 0; i < j.size(); ++i) {
      const auto& c = j[i];
      const std::string where = "case " + std::to_string(i);
      if (!c.is_object()) throw Error(file.string() + ": " + where + " is not an object");
      auto text = [&](const char* key) {
        if (!c.contains(key)) return std::string();
        if (!c[key].is_string()) {
          throw Error(file.string() + ": " + where + ": \"" + key + "\" must be a string");
        }
        return c[key].get<std::string>();
      };
      make_case(text("image"), text("label"), text("patient"), text("modality"), where);
    }
  } else {
    std::string line;
    std::vector<std::string> header;
    int line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (trim(line).empty() || trim(line)[0] == '#') continue;
      auto fields = split_csv(line);
      if (header.empty()) {
        for (auto& f : fields) f = lower(f);
        header = fields;
        if (std::find(header.begin(), header.end(), "image") == header.end() ||
            std::find(header.begin(), header.end(), "label") == header.end()) {
          throw Error(file.string() +
                      ": the first line must name the columns, with at least "
                      "image and label (patient, modality optional)");
        }
        continue;
      }
      if (fields.size() != header.size()) {
        throw Error(file.string() + ": line " + std::to_string(line_no) + " has " +
                    std::to_string(fields.size()) + " fields, the header " +
                    std::to_string(header.size()));
      }
      std::map<std::string, std::string> row;
      for (std::size_t i = 0; i < header.size(); ++i) row[header[i]] = fields[i];
      make_case(row["image"], row["label"], row["patient"], row["modality"],
                "line " + std::to_string(line_no));
    }
  }
  if (cases.empty()) throw Error(file.string() + ": the dataset list holds no cases");
  check_unique_cases(cases, file.string());
  return cases;
}

void check_unique_cases(const std::vector<DatasetCase>& cases, const std::string& source) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& c : cases) {
    if (c.patient.empty() || c.patient.find_first_of("/\\") != std::string::npos) {
      throw Error(source + ": patient id '" + c.patient + "' (" + c.image.string() +
                  ") is empty or holds a path separator");
    }
    if (!seen.emplace(c.patient, c.modality).second) {
      throw Error(source + ": duplicate patient id '" + c.patient + "'" +
                  (c.modality.empty() ? "" : " with modality '" + c.modality + "'") + " (" +
                  c.image.string() + "); patient ids must be unique per modality");
    }
  }
}

bool is_image_file(const fs::path& path) { return has_image_extension(path); }

namespace {

// nnU-Net v2's dataset.json: {"background": 0, "liver": 1, "tumour": [1, 2]} (name -> value, or
// values for a region, which has no single value and is skipped).
bool read_name_to_value(const json& j, std::map<std::int64_t, std::string>& names) {
  for (const auto& [key, value] : j.items()) {
    if (!value.is_number_integer() && !value.is_array()) return false;
  }
  for (const auto& [key, value] : j.items()) {
    if (value.is_number_integer()) names[value.get<std::int64_t>()] = key;
  }
  return true;
}

}  // namespace

std::map<std::int64_t, std::string> read_label_names(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(file.string() + ": cannot open the label names file");
  std::map<std::int64_t, std::string> names;
  if (lower(file.extension().string()) == ".json") {
    json j = parse_json(in, file.string());
    if (j.is_object() && j.contains("labels")) j = j["labels"];
    if (!j.is_object()) throw Error(file.string() + ": expected {\"value\": \"name\", ...}");
    if (read_name_to_value(j, names)) return names;
    for (const auto& [key, value] : j.items()) {
      std::size_t used = 0;
      std::int64_t v = 0;
      try {
        v = std::stoll(key, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != key.size() || !value.is_string()) {
        throw Error(file.string() + ": entry \"" + key + "\" is not an integer value with a name");
      }
      names[v] = value.get<std::string>();
    }
    return names;
  }
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    std::istringstream fields(t);
    std::int64_t value = 0;
    std::string name;
    if (!(fields >> value >> name)) {
      throw Error(file.string() + ": line " + std::to_string(line_no) +
                  " is not 'value name [more columns]'");
    }
    names[value] = name;
  }
  return names;
}

}  // namespace samri::data
