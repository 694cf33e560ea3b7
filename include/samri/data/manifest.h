#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace samri::data {

// One line of a samri-preprocess manifest.jsonl: one object (label value) on one slice.
struct ManifestSample {
  std::string dataset;
  std::string patient;
  std::string split;   // train | val | test
  std::string image;   // image slice, relative to the preprocess folder
  std::string labels;  // label-map slice, relative to the preprocess folder
  std::int64_t label = 0;
  std::optional<std::string> label_name;
  std::int64_t pixels = 0;
  double area_fraction = 0;
  std::array<std::int64_t, 4> box{};  // x0, y0, x1, y1, inclusive (x = column)
  std::int64_t height = 0;            // of the slice in SAM's view
  std::int64_t width = 0;
  // Where the slice came from (absent in manifests older than these fields): the volume as given
  // to samri-preprocess, its content's sha256 (sha256_path), its channel ("" for one), the slicing
  // axis and the slice's index along it.
  std::string source;
  std::string source_sha256;
  std::string channel;
  std::optional<int> axis;
  std::optional<std::int64_t> slice;
};

// A preprocess folder's manifest: its samples in file order and the file's sha256.
struct Manifest {
  std::filesystem::path folder;
  std::vector<ManifestSample> samples;
  std::string sha256;
};

// Reads folder/manifest.jsonl. A folder that is not samri-preprocess output (no manifest.jsonl
// or rules.json), a malformed line, or a line whose image or label file is missing throws
// samri::Error naming the file (and the line).
Manifest read_manifest(const std::filesystem::path& folder);

}  // namespace samri::data
