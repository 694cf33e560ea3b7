#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "samri/store/store_index.h"
#include "samri/store/store_metadata.h"

namespace samri::embed {

// Where a planned slice's files are.
struct SliceFiles {
  std::filesystem::path image;
  std::filesystem::path labels;
};

// The store's contents, decided from the preprocess folders before anything is encoded: every
// distinct slice image of the chosen splits (in manifest order, folder after folder) and every
// sample on them. The same inputs always give the same plan, which is what lets the parts of a
// SLURM array and later reruns agree on slice ids.
struct EmbedPlan {
  std::vector<store::SliceEntry> slices;
  std::vector<SliceFiles> files;  // parallel to slices
  std::vector<store::SampleEntry> samples;
  std::vector<store::StoreSource> sources;
};

// Reads each folder's manifest (data::read_manifest: errors name the folder and line). Two
// folders giving the same dataset/image name, or a slice whose samples disagree about its size,
// patient or split, throw samri::Error.
EmbedPlan make_plan(const std::vector<std::string>& folders,
                    const std::vector<std::string>& splits);

// The slice ids of part `index` of `count` (ids congruent to index mod count): disjoint parts that
// cover the plan, each spread over all datasets.
std::vector<std::int64_t> part_slices(std::int64_t slice_count, int index, int count);

}  // namespace samri::embed
