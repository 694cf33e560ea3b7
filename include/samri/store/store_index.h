#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace samri::store {

// One distinct slice image of a store (encoded once however many samples it holds).
struct SliceEntry {
  std::int64_t id = 0;  // its place in the store's slice table, 0-based
  std::string name;     // "<dataset>/<image path in the preprocess folder>"
  std::string dataset;
  std::string patient;
  std::string split;
  std::int64_t height = 0;  // original size, SAM's view
  std::int64_t width = 0;
  // Its volume (data::ManifestSample's fields of the same names; empty or absent when the manifest
  // predates them): what lets samri-infer --embeddings find a volume's slices in a store.
  std::string source;
  std::string source_sha256;
  std::string channel;
  std::optional<int> axis;
  std::optional<std::int64_t> index;  // the slice's index along axis
};

// One sample: an object (label value) on a slice, as the manifest described it.
struct SampleEntry {
  std::int64_t slice = 0;  // SliceEntry::id
  std::int64_t label = 0;
  std::optional<std::string> label_name;
  std::string dataset;
  std::string patient;
  std::string split;
  std::array<std::int64_t, 4> box{};  // x0, y0, x1, y1 inclusive, x = column
  double area_fraction = 0;
  std::int64_t pixels = 0;
};

// The store's slices.jsonl and samples.jsonl, one JSON object a line.
std::string slices_to_jsonl(const std::vector<SliceEntry>& slices);
std::string samples_to_jsonl(const std::vector<SampleEntry>& samples);
std::vector<SliceEntry> read_slices(const std::filesystem::path& file);
std::vector<SampleEntry> read_samples(const std::filesystem::path& file);

}  // namespace samri::store
