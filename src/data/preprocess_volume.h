#pragma once
// Internal to samri_data: one case of run_preprocess (preprocess.cpp does the rest).

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "samri/data/dataset.h"
#include "samri/data/preprocess_options.h"
#include "samri/io/image.h"

namespace samri::data::detail {

// The file in parts/ that marks a case done and holds its samples and drops.
std::filesystem::path part_path(const std::filesystem::path& output, const DatasetCase& c);

// Sizes and modification times of a case's files: a part with another stamp is redone.
std::string input_stamp(const DatasetCase& c);

// Processes every channel of one case: writes its image and label slices under `output`, then
// its part file (atomically, last), and returns the part: {"image", "label", "volumes": [...],
// "samples": [...]} with the samples' manifest fields except dataset and split.
nlohmann::json process_case(const DatasetCase& c, const PreprocessOptions& options,
                            const std::map<std::int64_t, std::string>& label_names,
                            const std::filesystem::path& output);

// A label map on `target`'s grid by nearest-neighbour lookup (0 outside the label map).
io::Image resample_nearest(const io::Image& labels, const io::Geometry& target);

}  // namespace samri::data::detail
