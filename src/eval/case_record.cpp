#include "samri/eval/case_record.h"

#include <cmath>
#include <set>
#include <sstream>

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
  if (columns.hd95) out << ',' << number(c.scores.hd95);
  if (columns.nsd) out << ',' << number(c.scores.nsd);
  out << '\n';
}

}  // namespace

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
  if (columns.hd95) out << ",hd95";
  if (columns.nsd) out << ",nsd";
  out << '\n';
  for (const auto& c : cases) write_row(out, c, columns);
  write_text_atomically(path, out.str());
}

}  // namespace samri::eval
