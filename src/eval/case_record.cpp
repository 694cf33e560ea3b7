#include "samri/eval/case_record.h"

#include <cmath>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>

#include "samri/core/atomic_file.h"

namespace samri::eval {

namespace {

std::string number(double v) {
  if (std::isnan(v)) return "";
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

// RFC 4180: quote a field holding a comma, a quote or a line break.
std::string field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

void write_row(std::ostream& out, const CaseRecord& c, const CaseColumns& columns) {
  out << field(c.dataset) << ',' << field(c.patient) << ',' << field(c.image) << ','
      << (c.slice >= 0 ? std::to_string(c.slice) : "") << ',' << c.label << ','
      << field(c.label_name) << ',' << c.pixels << ',' << number(c.area_fraction) << ','
      << c.size_bin << ',' << c.prompt << ',' << field(c.model) << ',' << number(c.scores.dice)
      << ',' << number(c.scores.hd) << ',' << number(c.scores.msd);
  for (const double v : c.box) out << ',' << number(v);
  for (const double v : c.point) out << ',' << number(v);
  out << ',' << to_string(c.scores.empty) << ',' << c.scores.prediction_pixels;
  if (columns.predicted_iou) out << ',' << number(c.predicted_iou);
  if (columns.hd95) out << ',' << number(c.scores.hd95);
  if (columns.nsd) out << ',' << number(c.scores.nsd);
  out << '\n';
}

// JSON numbers cannot hold NaN or infinities: those travel as strings.
nlohmann::json real(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

double real_of(const nlohmann::json& j) {
  if (j.is_number()) return j.get<double>();
  const std::string s = j.get<std::string>();
  if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (s == "inf") return std::numeric_limits<double>::infinity();
  if (s == "-inf") return -std::numeric_limits<double>::infinity();
  throw std::invalid_argument("not a number: " + s);
}

}  // namespace

nlohmann::json case_to_json(const CaseRecord& c) {
  const MaskScores& m = c.scores;
  return {{"dataset", c.dataset},
          {"patient", c.patient},
          {"image", c.image},
          {"slice", c.slice},
          {"label", c.label},
          {"label_name", c.label_name},
          {"pixels", c.pixels},
          {"area_fraction", real(c.area_fraction)},
          {"size_bin", c.size_bin},
          {"prompt", c.prompt},
          {"model", c.model},
          {"scores",
           {real(m.dice), real(m.hd), real(m.msd), real(m.hd95), real(m.nsd), m.prediction_pixels,
            m.reference_pixels, static_cast<int>(m.empty)}},
          {"box", {real(c.box[0]), real(c.box[1]), real(c.box[2]), real(c.box[3])}},
          {"point", {real(c.point[0]), real(c.point[1])}},
          {"predicted_iou", real(c.predicted_iou)}};
}

CaseRecord case_from_json(const nlohmann::json& j) {
  CaseRecord c;
  c.dataset = j.at("dataset").get<std::string>();
  c.patient = j.at("patient").get<std::string>();
  c.image = j.at("image").get<std::string>();
  c.slice = j.at("slice").get<std::int64_t>();
  c.label = j.at("label").get<std::int64_t>();
  c.label_name = j.at("label_name").get<std::string>();
  c.pixels = j.at("pixels").get<std::int64_t>();
  c.area_fraction = real_of(j.at("area_fraction"));
  c.size_bin = j.at("size_bin").get<std::string>();
  c.prompt = j.at("prompt").get<std::string>();
  c.model = j.at("model").get<std::string>();
  const nlohmann::json& s = j.at("scores");
  c.scores.dice = real_of(s.at(0));
  c.scores.hd = real_of(s.at(1));
  c.scores.msd = real_of(s.at(2));
  c.scores.hd95 = real_of(s.at(3));
  c.scores.nsd = real_of(s.at(4));
  c.scores.prediction_pixels = s.at(5).get<std::int64_t>();
  c.scores.reference_pixels = s.at(6).get<std::int64_t>();
  c.scores.empty = static_cast<EmptyMasks>(s.at(7).get<int>());
  for (std::size_t k = 0; k < 4; ++k) c.box[k] = real_of(j.at("box").at(k));
  for (std::size_t k = 0; k < 2; ++k) c.point[k] = real_of(j.at("point").at(k));
  c.predicted_iou = real_of(j.at("predicted_iou"));
  return c;
}

std::string CaseRecord::method(bool with_prompt) const {
  return with_prompt && !prompt.empty() ? model + " (" + prompt + ")" : model;
}

std::string CaseRecord::pair_key() const {
  return dataset + '\x1f' + patient + '\x1f' + image + '\x1f' + std::to_string(slice) + '\x1f' +
         std::to_string(label);
}

bool mixes_prompts(const std::vector<CaseRecord>& cases) {
  std::set<std::string> prompts;
  for (const auto& c : cases) prompts.insert(c.prompt);
  return prompts.size() > 1;
}

void write_cases_csv(const std::filesystem::path& path, const std::vector<CaseRecord>& cases,
                     const CaseColumns& columns) {
  std::ostringstream out;
  out << "dataset,patient,image,slice,label,label_name,pixels,area_fraction,size_bin,prompt,"
         "model,dice,hd,msd,box_x0,box_y0,box_x1,box_y1,point_x,point_y,empty,"
         "prediction_pixels";
  if (columns.predicted_iou) out << ",predicted_iou";
  if (columns.hd95) out << ",hd95";
  if (columns.nsd) out << ",nsd";
  out << '\n';
  for (const auto& c : cases) write_row(out, c, columns);
  write_text_atomically(path, out.str());
}

}  // namespace samri::eval
