#include "samri/embed/embed_plan.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "samri/core/atomic_file.h"
#include "samri/core/error.h"
#include "samri/data/manifest.h"

namespace samri::embed {

namespace fs = std::filesystem;

EmbedPlan make_plan(const std::vector<std::string>& folders,
                    const std::vector<std::string>& splits) {
  if (folders.empty()) throw Error("--data: give at least one samri-preprocess output folder");
  EmbedPlan plan;
  std::unordered_map<std::string, std::int64_t> ids;
  for (const auto& folder : folders) {
    const data::Manifest manifest = data::read_manifest(folder);
    store::StoreSource source;
    source.folder = folder;
    source.manifest_sha256 = manifest.sha256;
    source.rules_json = read_text_file(fs::path(folder) / "rules.json", "preprocessing rules");
    const auto slices_before = plan.slices.size();
    for (const auto& m : manifest.samples) {
      if (source.dataset.empty()) source.dataset = m.dataset;
      if (!splits.empty() && std::find(splits.begin(), splits.end(), m.split) == splits.end()) {
        continue;
      }
      const std::string name = m.dataset + "/" + m.image;
      auto [it, inserted] = ids.emplace(name, static_cast<std::int64_t>(plan.slices.size()));
      if (inserted) {
        plan.slices.push_back({it->second, name, m.dataset, m.patient, m.split, m.height, m.width,
                               m.source, m.source_sha256, m.channel, m.axis, m.slice});
        plan.files.push_back({fs::path(folder) / m.image, fs::path(folder) / m.labels});
      } else if (it->second < static_cast<std::int64_t>(slices_before)) {
        throw Error(folder + ": slice " + name +
                    " is also in an earlier --data folder (two folders of one dataset?)");
      }
      const auto& slice = plan.slices[it->second];
      if (slice.height != m.height || slice.width != m.width || slice.patient != m.patient ||
          slice.split != m.split) {
        throw Error(folder + "/manifest.jsonl: the samples of " + m.image +
                    " disagree about its size, patient or split");
      }
      plan.samples.push_back({it->second, m.label, m.label_name, m.dataset, m.patient, m.split,
                              m.box, m.area_fraction, m.pixels});
    }
    if (source.dataset.empty()) source.dataset = fs::path(folder).filename().string();
    source.slices = static_cast<std::int64_t>(plan.slices.size() - slices_before);
    source.samples = 0;
    for (const auto& s : plan.samples)
      source.samples += s.slice >= static_cast<std::int64_t>(slices_before);
    plan.sources.push_back(std::move(source));
  }
  return plan;
}

std::vector<std::int64_t> part_slices(std::int64_t slice_count, int index, int count) {
  std::vector<std::int64_t> ids;
  for (std::int64_t id = index; id < slice_count; id += count) ids.push_back(id);
  return ids;
}

}  // namespace samri::embed
