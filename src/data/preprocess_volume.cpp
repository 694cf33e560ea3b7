#include "preprocess_volume.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "samri/core/atomic_file.h"
#include "samri/core/error.h"
#include "samri/core/sha256.h"
#include "samri/data/intensity.h"
#include "samri/data/label_boxes.h"
#include "samri/io/image_reader.h"
#include "samri/io/image_writer.h"
#include "samri/io/slicing.h"

namespace samri::data::detail {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A 2-D image as a 3-D volume with one slice along index axis 2.
io::Image promote_2d(io::Image image) {
  if (image.geometry.dimension() != 2) return image;
  if (image.natural) {
    throw Error(image.source +
                ": PNG, JPEG, BMP and TIFF are not MRI formats; give NIfTI, NRRD, MetaImage or "
                "DICOM");
  }
  if (image.components != 1) {
    throw Error(image.source + ": colour images are not MRI; give a grey-scale image");
  }
  io::Geometry& g = image.geometry;
  g.size.push_back(1);
  g.spacing.push_back(1.0);
  g.origin.push_back(0.0);
  const auto d = g.direction;
  g.direction = {d[0], d[1], 0, d[2], d[3], 0, 0, 0, 1};
  image.data = image.data.unsqueeze(0).contiguous();
  return image;
}

// One sample: a label (or one connected component of it) on a slice.
struct Sample {
  std::int64_t label = 0;
  std::int64_t pixels = 0;
  std::array<std::int64_t, 4> box{};
  int component = 0;  // 1-based with connected components, else 0
};

// Every 8-connected component of every non-zero label, ordered by label, then by the raster
// position of its first pixel.
std::vector<Sample> components(const torch::Tensor& slice) {
  const auto labels = slice.to(torch::kInt64).contiguous();
  const std::int64_t h = labels.size(0), w = labels.size(1);
  const auto* v = labels.data_ptr<std::int64_t>();
  std::vector<char> seen(static_cast<std::size_t>(h * w), 0);
  std::vector<Sample> out;
  std::vector<std::int64_t> stack;
  for (std::int64_t start = 0; start < h * w; ++start) {
    if (v[start] == 0 || seen[start]) continue;
    Sample s;
    s.label = v[start];
    s.box = {start % w, start / w, start % w, start / w};
    stack.assign(1, start);
    seen[start] = 1;
    while (!stack.empty()) {
      const std::int64_t p = stack.back();
      stack.pop_back();
      const std::int64_t y = p / w, x = p % w;
      ++s.pixels;
      s.box = {std::min(s.box[0], x), std::min(s.box[1], y), std::max(s.box[2], x),
               std::max(s.box[3], y)};
      for (std::int64_t dy = -1; dy <= 1; ++dy) {
        for (std::int64_t dx = -1; dx <= 1; ++dx) {
          const std::int64_t ny = y + dy, nx = x + dx;
          if (ny < 0 || ny >= h || nx < 0 || nx >= w) continue;
          const std::int64_t q = ny * w + nx;
          if (!seen[q] && v[q] == s.label) {
            seen[q] = 1;
            stack.push_back(q);
          }
        }
      }
    }
    out.push_back(s);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Sample& a, const Sample& b) { return a.label < b.label; });
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i].component = (i > 0 && out[i - 1].label == out[i].label) ? out[i - 1].component + 1 : 1;
  }
  return out;
}

std::vector<Sample> all_labels(const torch::Tensor& slice, bool connected) {
  if (connected) return components(slice);
  std::vector<Sample> out;
  for (const auto& b : label_boxes(slice, 1)) out.push_back({b.label, b.pixels, b.box, 0});
  return out;
}

// NumPy's default (linear) percentile of sorted values.
float percentile(const std::vector<float>& sorted, double q) {
  const double pos = q / 100.0 * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return static_cast<float>(sorted[lo] + (sorted[hi] - sorted[lo]) * frac);
}

// The intensity range for volume-wide modes (unused in slice mode).
std::pair<float, float> volume_range(const io::Image& image, const PreprocessOptions& o) {
  const torch::Tensor v = image.data.to(torch::kFloat32).contiguous();
  if (o.intensity == "volume") return {v.min().item<float>(), v.max().item<float>()};
  const float* p = v.data_ptr<float>();
  std::vector<float> values;
  for (std::int64_t i = 0; i < v.numel(); ++i) {
    if (p[i] != 0.0f) values.push_back(p[i]);
  }
  if (values.empty()) values.assign(p, p + v.numel());
  std::sort(values.begin(), values.end());
  return {percentile(values, o.percentile_low), percentile(values, o.percentile_high)};
}

torch::ScalarType label_dtype(const torch::Tensor& labels) {
  const auto max = labels.max().item<std::int64_t>();
  const auto min = labels.min().item<std::int64_t>();
  if (min >= 0 && max <= 255) return torch::kUInt8;
  if (min >= -32768 && max <= 32767) return torch::kInt16;
  if (min >= INT32_MIN && max <= INT32_MAX) return torch::kInt32;
  return torch::kInt64;
}

// A 2-D image holding `view` (rows, cols) so that SAM's view of the file is `view` again: ITK
// index 0 along the rows, index 1 along the columns, with the slice's in-plane spacing.
io::Image slice_image(const torch::Tensor& view, double row_spacing, double col_spacing) {
  io::Image image;
  image.geometry = io::identity_geometry({view.size(0), view.size(1)});
  image.geometry.spacing = {row_spacing, col_spacing};
  image.data = view.t().contiguous();
  return image;
}

// Consecutive slices dropped for the same reason, as one record.
void add_dropped_slice(json& ranges, std::int64_t slice, const std::string& reason) {
  if (!ranges.empty()) {
    json& last = ranges.back();
    if (last["reason"] == reason && last["slices"][1].get<std::int64_t>() == slice - 1) {
      last["slices"][1] = slice;
      return;
    }
  }
  ranges.push_back({{"slices", {slice, slice}}, {"reason", reason}});
}

std::string slice_name(const std::string& stem, std::int64_t slice) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "_s%04lld", static_cast<long long>(slice));
  return stem + buffer + ".nii.gz";
}

std::string case_key(const DatasetCase& c) {
  return c.modality.empty() ? c.patient : c.patient + "_" + c.modality;
}

io::Image read_labels_for(const DatasetCase& c, const io::Image& image,
                          const PreprocessOptions& o) {
  io::Image labels = promote_2d(io::read_label_map(c.label));
  if (labels.geometry.dimension() != 3) {
    throw Error(c.label.string() + ": expected a 2-D or 3-D label map");
  }
  const std::string mismatch =
      io::describe_geometry_mismatch(labels.geometry, image.geometry, o.geometry_tolerance);
  if (!mismatch.empty()) {
    if (!o.resample_labels) {
      throw Error(c.label.string() + ": label map does not match the image " + c.image.string() +
                  ": " + mismatch + " (--resample-labels resamples it, nearest neighbour)");
    }
    labels = resample_nearest(labels, image.geometry);
  }
  if (labels.data.abs().max().item<std::int64_t>() == 0) {
    throw Error(c.label.string() + ": the label map is empty (every voxel is 0)");
  }
  return labels;
}

// One channel of one case; returns its "volumes" record and appends samples.
json process_volume(const DatasetCase& c, const std::string& source_sha256, const io::Image& image,
                    const std::string& channel, const io::Image& labels, const PreprocessOptions& o,
                    const std::map<std::int64_t, std::string>& names, const fs::path& output,
                    json& samples) {
  if (io::has_non_finite(image)) {
    throw Error(c.image.string() + ": the image holds NaN or infinite intensities");
  }
  const float vmin = image.data.min().item<float>(), vmax = image.data.max().item<float>();
  if (vmin == vmax) {
    throw Error(c.image.string() + ": the image is constant (every voxel is " +
                std::to_string(vmin) + ")");
  }
  const int axis = o.axis ? *o.axis : io::default_slice_axis(image.geometry.size);
  const std::int64_t n = image.geometry.size[axis];
  const auto margin = static_cast<std::int64_t>(std::floor(n * o.peripheral_fraction));
  std::array<int, 2> in_plane{};
  for (int d = 0, k = 0; d < 3; ++d) {
    if (d != axis) in_plane[k++] = d;
  }
  const double row_spacing = image.geometry.spacing[in_plane[0]];
  const double col_spacing = image.geometry.spacing[in_plane[1]];
  std::pair<float, float> range{0, 0};
  if (o.intensity != "slice") range = volume_range(image, o);
  const torch::ScalarType ldtype = label_dtype(labels.data);

  std::string stem = case_key(c);
  if (!channel.empty()) stem += "_" + channel;
  json dropped_slices = json::array(), dropped_labels = json::array();
  std::int64_t written = 0;
  for (std::int64_t s = 0; s < n; ++s) {
    if (s < margin || s >= n - margin) {
      add_dropped_slice(dropped_slices, s, "peripheral");
      continue;
    }
    const torch::Tensor label_view = io::extract_slice(labels, axis, s);
    const std::vector<Sample> found = all_labels(label_view, o.connected_components);
    std::vector<Sample> kept;
    for (const auto& f : found) {
      if (f.pixels >= o.min_pixels) {
        kept.push_back(f);
      } else {
        json d = {{"slice", s},
                  {"label", f.label},
                  {"pixels", f.pixels},
                  {"reason", "fewer than " + std::to_string(o.min_pixels) + " pixels"}};
        if (f.component) d["component"] = f.component;
        dropped_labels.push_back(d);
      }
    }
    if (found.empty()) {
      add_dropped_slice(dropped_slices, s, "no label");
      continue;
    }
    if (kept.empty()) {
      add_dropped_slice(dropped_slices, s, "every label below the minimum pixels");
      continue;
    }
    const torch::Tensor image_view = io::extract_slice(image, axis, s);
    const bool constant = (image_view.max() == image_view.min()).item<bool>();
    if (constant && o.intensity == "slice") {
      add_dropped_slice(dropped_slices, s, "constant intensity");
      continue;
    }
    const torch::Tensor grey = o.intensity == "slice"
                                   ? normalize_to_uint8(image_view)
                                   : normalize_to_uint8(image_view, range.first, range.second);
    const std::string name = slice_name(stem, s);
    const std::string image_rel = "images/" + name, label_rel = "labels/" + name;
    io::write_image(output / image_rel, slice_image(grey, row_spacing, col_spacing));
    io::write_image(output / label_rel,
                    slice_image(label_view.to(ldtype), row_spacing, col_spacing));
    ++written;
    const std::int64_t h = label_view.size(0), w = label_view.size(1);
    for (const auto& k : kept) {
      json sample = {{"patient", c.patient},
                     {"modality", c.modality},
                     {"channel", channel},
                     {"image", image_rel},
                     {"labels", label_rel},
                     {"source", c.image.string()},
                     {"source_sha256", source_sha256},
                     {"label_source", c.label.string()},
                     {"axis", axis},
                     {"slice", s},
                     {"label", k.label}};
      const auto it = names.find(k.label);
      sample["label_name"] = it == names.end() ? json(nullptr) : json(it->second);
      if (k.component) sample["component"] = k.component;
      sample["pixels"] = k.pixels;
      sample["area_fraction"] = static_cast<double>(k.pixels) / static_cast<double>(h * w);
      sample["box"] = k.box;
      sample["height"] = h;
      sample["width"] = w;
      samples.push_back(sample);
    }
  }
  return {{"stem", stem},
          {"channel", channel},
          {"axis", axis},
          {"slices_total", n},
          {"kept_range", {margin, n - margin - 1}},
          {"slices_written", written},
          {"dropped_slices", dropped_slices},
          {"dropped_labels", dropped_labels}};
}

std::array<double, 9> inverse3(const std::vector<double>& m) {
  const double det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
                     m[2] * (m[3] * m[7] - m[4] * m[6]);
  if (std::abs(det) < 1e-12) throw Error("a label map has a singular direction matrix");
  return {(m[4] * m[8] - m[5] * m[7]) / det, (m[2] * m[7] - m[1] * m[8]) / det,
          (m[1] * m[5] - m[2] * m[4]) / det, (m[5] * m[6] - m[3] * m[8]) / det,
          (m[0] * m[8] - m[2] * m[6]) / det, (m[2] * m[3] - m[0] * m[5]) / det,
          (m[3] * m[7] - m[4] * m[6]) / det, (m[1] * m[6] - m[0] * m[7]) / det,
          (m[0] * m[4] - m[1] * m[3]) / det};
}

}  // namespace

std::string input_stamp(const DatasetCase& c) {
  std::string stamp;
  for (const fs::path& p : {c.image, c.label}) {
    std::error_code ec;
    const auto size = fs::is_regular_file(p, ec) ? fs::file_size(p, ec) : 0;
    const auto time = fs::last_write_time(p, ec).time_since_epoch().count();
    stamp += std::to_string(size) + ":" + std::to_string(time) + ";";
  }
  return stamp;
}

fs::path part_path(const fs::path& output, const DatasetCase& c) {
  return output / "parts" / (case_key(c) + ".json");
}

io::Image resample_nearest(const io::Image& labels, const io::Geometry& target) {
  const io::Geometry& src = labels.geometry;
  if (src.dimension() != 3 || target.dimension() != 3) {
    throw Error(labels.source + ": resampling needs 3-D grids");
  }
  // Continuous label index q = A * i + b for image index i.
  const auto inv = inverse3(src.direction);
  std::array<double, 9> a{};
  std::array<double, 3> b{};
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) {
      double sum = 0;
      for (int k = 0; k < 3; ++k) sum += inv[r * 3 + k] * target.direction[k * 3 + c];
      a[r * 3 + c] = sum * target.spacing[c] / src.spacing[r];
    }
    double sum = 0;
    for (int k = 0; k < 3; ++k) sum += inv[r * 3 + k] * (target.origin[k] - src.origin[k]);
    b[r] = sum / src.spacing[r];
  }
  const auto in = labels.data.to(torch::kInt64).contiguous();
  const auto* v = in.data_ptr<std::int64_t>();
  auto out = torch::zeros(io::buffer_shape(target), torch::kInt64);
  auto* o = out.data_ptr<std::int64_t>();
  const auto& ts = target.size;
  const auto& ss = src.size;
  for (std::int64_t k = 0; k < ts[2]; ++k) {
    for (std::int64_t j = 0; j < ts[1]; ++j) {
      for (std::int64_t i = 0; i < ts[0]; ++i) {
        std::array<std::int64_t, 3> q{};
        bool inside = true;
        for (int r = 0; r < 3 && inside; ++r) {
          const double x = a[r * 3] * i + a[r * 3 + 1] * j + a[r * 3 + 2] * k + b[r];
          q[r] = static_cast<std::int64_t>(std::floor(x + 0.5));
          inside = q[r] >= 0 && q[r] < ss[r];
        }
        if (inside) o[(k * ts[1] + j) * ts[0] + i] = v[(q[2] * ss[1] + q[1]) * ss[0] + q[0]];
      }
    }
  }
  io::Image result;
  result.geometry = target;
  result.data = out;
  result.source = labels.source;
  return result;
}

nlohmann::json process_case(const DatasetCase& c, const PreprocessOptions& o,
                            const std::map<std::int64_t, std::string>& names,
                            const fs::path& output) {
  std::vector<io::Image> channels = io::read_image_channels(c.image, o.series_uid);
  for (auto& ch : channels) ch = promote_2d(std::move(ch));
  if (channels.front().geometry.dimension() != 3 || channels.front().components != 1) {
    throw Error(c.image.string() + ": expected a grey-scale 2-D, 3-D or 4-D image");
  }
  if (o.axis && channels.front().geometry.size[*o.axis] < 1) {
    throw Error(c.image.string() + ": no slices along axis " + std::to_string(*o.axis));
  }
  const io::Image labels = read_labels_for(c, channels.front(), o);
  // Lets samri-infer --embeddings prove that a store's slices came from the volume it is given.
  const std::string source_sha256 = sha256_path(c.image);
  json part = {{"image", c.image.string()}, {"label", c.label.string()}, {"patient", c.patient},
               {"modality", c.modality},    {"stamp", input_stamp(c)},   {"volumes", json::array()},
               {"samples", json::array()}};
  for (std::size_t k = 0; k < channels.size(); ++k) {
    const std::string channel = channels.size() > 1 ? "c" + std::to_string(k) : "";
    part["volumes"].push_back(process_volume(c, source_sha256, channels[k], channel, labels, o,
                                             names, output, part["samples"]));
  }
  write_text_atomically(part_path(output, c), part.dump() + "\n");
  return part;
}

}  // namespace samri::data::detail
