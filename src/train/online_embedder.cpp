#include "samri/train/online_embedder.h"

#include <filesystem>

#include "samri/core/error.h"
#include "samri/infer/sam_input.h"
#include "samri/io/image_reader.h"
#include "samri/io/slicing.h"
#include "samri/model/image_preprocessing.h"
#include "samri/model/runtime.h"

namespace samri::train {

namespace fs = std::filesystem;

OnlineEmbedder::OnlineEmbedder(const std::string& checkpoint, const model::SamConfig& config,
                               torch::Device device, const std::string& precision)
    : config_(config),
      encoder_(std::make_unique<embed::SliceEncoder>(checkpoint, config, device,
                                                     model::parse_precision(precision, device))) {}

void OnlineEmbedder::embed(const store::EmbeddingStore& store, std::int64_t slice,
                           torch::Tensor out) {
  const store::SliceEntry& entry = store.slices().at(static_cast<std::size_t>(slice));
  const std::string prefix = entry.dataset + "/";
  fs::path folder;
  for (const auto& source : store.metadata().sources) {
    if (source.dataset == entry.dataset) folder = source.folder;
  }
  if (folder.empty() || entry.name.compare(0, prefix.size(), prefix) != 0) {
    throw Error(store.root().string() + ": no preprocess folder recorded for slice " + entry.name);
  }
  const fs::path image = folder / entry.name.substr(prefix.size());
  const torch::Tensor view = io::sam_view_2d(io::read_image(image));
  if (view.size(0) != entry.height || view.size(1) != entry.width) {
    throw Error(image.string() + ": is not the slice the store was made from (size differs)");
  }
  const auto input =
      model::prepare_encoder_input(infer::sam_input_image(view), config_.image_encoder.img_size,
                                   config_.pixel_mean, config_.pixel_std);
  out.copy_(encoder_->encode(input.tensor)[0]);
}

}  // namespace samri::train
