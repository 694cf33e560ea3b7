#include "dicom_series.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>
#include <sstream>

#include "itk_reading.h"
#include "samri/core/error.h"
#include "voxel_buffer.h"

namespace samri::io::detail {

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> regular_files(const fs::path& directory) {
  std::vector<fs::path> files;
  try {
    for (const auto& entry : fs::directory_iterator(directory)) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
  } catch (const fs::filesystem_error& e) {
    throw Error(directory.string() + ": cannot read the folder: " + e.code().message());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Backslash-separated decimal strings ("0\1\0\0\0\-1") as exactly N numbers, if they parse.
template <std::size_t N>
std::optional<std::array<double, N>> parse_numbers(const std::string& text) {
  std::array<double, N> values{};
  std::istringstream in(text);
  std::string item;
  std::size_t count = 0;
  while (std::getline(in, item, '\\')) {
    if (count == N) return std::nullopt;
    try {
      values[count++] = std::stod(item);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  if (count != N) return std::nullopt;
  return values;
}

std::string series_list(const std::vector<DicomSeries>& all) {
  std::string text;
  for (const auto& series : all) {
    text += "\n  " + series.uid + " (" + std::to_string(series.files.size()) + " files)";
  }
  return text;
}

const DicomSeries& choose_series(const std::vector<DicomSeries>& all, const fs::path& directory,
                                 const std::string& series_uid) {
  if (all.empty()) {
    throw Error(directory.string() +
                ": no DICOM image series found (files need the DICOM Part 10 preamble)");
  }
  if (series_uid.empty()) {
    if (all.size() == 1) return all.front();
    throw Error(directory.string() + ": holds " + std::to_string(all.size()) +
                " DICOM series; choose one by its series instance UID (option --series):" +
                series_list(all));
  }
  for (const auto& series : all) {
    if (series.uid == series_uid) return series;
  }
  throw Error(directory.string() + ": no DICOM series with UID " + series_uid +
              "; the folder holds:" + series_list(all));
}

void check_same_grid(const DicomSeries& series, const fs::path& directory) {
  const DicomFileInfo& first = series.infos.front();
  for (std::size_t i = 0; i < series.infos.size(); ++i) {
    const DicomFileInfo& info = series.infos[i];
    if (info.rows != first.rows || info.columns != first.columns || info.frames != 1 ||
        info.samples_per_pixel != 1) {
      throw Error(directory.string() + ": series " + series.uid +
                  " is not a stack of equal "
                  "single-frame grey slices (" +
                  series.files[i].filename().string() + " differs); not a volume");
    }
  }
}

struct SlicePosition {
  double distance;  // along the slice normal
  std::size_t file;
};

// Slice positions along the normal, or nothing when some file lacks position or orientation.
std::optional<std::vector<SlicePosition>> slice_positions(const DicomSeries& series,
                                                          const fs::path& directory) {
  const auto first = parse_numbers<6>(series.infos.front().image_orientation);
  if (!first) return std::nullopt;
  const auto& o = *first;
  const std::array<double, 3> normal = {o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5],
                                        o[0] * o[4] - o[1] * o[3]};
  std::vector<SlicePosition> positions;
  for (std::size_t i = 0; i < series.infos.size(); ++i) {
    const auto orientation = parse_numbers<6>(series.infos[i].image_orientation);
    const auto position = parse_numbers<3>(series.infos[i].image_position);
    if (!orientation || !position) return std::nullopt;
    for (int c = 0; c < 6; ++c) {
      if (std::abs((*orientation)[c] - o[c]) > 1e-4) {
        throw Error(directory.string() + ": the slices of series " + series.uid +
                    " have different orientations (" + series.files[i].filename().string() +
                    "), as in a multi-plane localizer; not a volume");
      }
    }
    const auto& p = *position;
    positions.push_back({p[0] * normal[0] + p[1] * normal[1] + p[2] * normal[2], i});
  }
  return positions;
}

void check_spacing(const std::vector<SlicePosition>& sorted, const DicomSeries& series,
                   const fs::path& directory) {
  std::vector<double> gaps;
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    gaps.push_back(sorted[i].distance - sorted[i - 1].distance);
  }
  const auto [low, high] = std::minmax_element(gaps.begin(), gaps.end());
  const std::string where = directory.string() + ": series " + series.uid;
  if (*low < 1e-4) {
    throw Error(where +
                " has several slices at one position (echoes, phases or repeats); "
                "not a single volume");
  }
  if (*high - *low > 0.01 * *high + 1e-3) {
    std::ostringstream message;
    message << where << " has uneven slice spacing (" << *low << " to " << *high
            << " mm): slices are missing or it is not one volume";
    throw Error(message.str());
  }
}

// File names in slice order: along the slice normal when every file has a position and an
// orientation (as GDCM's IPPSorter), otherwise by instance number, otherwise by name.
std::vector<std::string> sorted_files(const DicomSeries& series, const fs::path& directory) {
  std::vector<std::size_t> order(series.files.size());
  std::iota(order.begin(), order.end(), 0);
  if (auto positions = slice_positions(series, directory)) {
    std::stable_sort(positions->begin(), positions->end(),
                     [](const auto& a, const auto& b) { return a.distance < b.distance; });
    check_spacing(*positions, series, directory);
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = (*positions)[i].file;
  } else if (std::all_of(series.infos.begin(), series.infos.end(),
                         [](const auto& info) { return info.instance_number.has_value(); })) {
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return *series.infos[a].instance_number < *series.infos[b].instance_number;
    });
  }
  std::vector<std::string> files;
  for (const auto i : order) files.push_back(series.files[i].string());
  return files;
}

}  // namespace

std::vector<DicomSeries> scan_dicom_directory(const fs::path& directory) {
  std::map<std::string, DicomSeries> by_uid;
  for (const auto& file : regular_files(directory)) {
    if (!has_dicom_preamble(file)) continue;
    DicomFileInfo info = inspect_dicom_file(file);
    if (!info.has_pixel_data || info.rows <= 0 || info.columns <= 0) continue;  // DICOMDIR, SR
    DicomSeries& series = by_uid[info.series_uid];
    series.uid = info.series_uid;
    series.files.push_back(file);
    series.infos.push_back(std::move(info));
  }
  std::vector<DicomSeries> all;
  for (auto& entry : by_uid) all.push_back(std::move(entry.second));
  return all;
}

Image read_dicom_directory(const fs::path& directory, const std::string& series_uid) {
  const auto all = scan_dicom_directory(directory);
  const DicomSeries& series = choose_series(all, directory, series_uid);
  if (series.files.size() == 1) return read_dicom_file(series.files.front());
  check_same_grid(series, directory);
  const DicomFileInfo& first = series.infos.front();
  check_grid_size(directory, {first.columns, first.rows, std::int64_t(series.files.size())}, 1);
  return read_dicom_slices_with_itk(sorted_files(series, directory), directory);
}

Image read_dicom_file(const fs::path& path) {
  const DicomFileInfo info = inspect_dicom_file(path);
  if (!info.has_pixel_data) throw Error(path.string() + ": a DICOM file without an image");
  check_grid_size(path, {info.columns, info.rows, info.frames}, 1);
  return read_dicom_file_with_itk(path);
}

}  // namespace samri::io::detail
