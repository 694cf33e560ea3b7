#include "store/store_test_support.h"

#include "samri/model/sam_config.h"

namespace samri::test {

SyntheticStore::SyntheticStore(int slice_count, store::StoreDtype dtype) {
  torch::manual_seed(7);
  auto config = model::SamConfig::vit_b();
  metadata.checkpoint_file = "synthetic.pth";
  metadata.checkpoint_sha256 = std::string(64, 'a');
  metadata.encoder_fingerprint = "enc1-00000000000000000000000000000001";
  metadata.model_json = config.to_json();
  metadata.model_name = config.name;
  metadata.embedding_shape = {4, 3, 5};
  metadata.dtype = dtype;
  metadata.splits = {"train", "val", "test"};
  metadata.sources = {{"synth", "/nowhere/synth", std::string(64, 'b'), "{\"axis\": 2}",
                       slice_count, 2 * slice_count}};
  metadata.slices = slice_count;
  metadata.samples = 2 * slice_count;
  for (int i = 0; i < slice_count; ++i) {
    const std::string split = i % 3 == 0 ? "val" : "train";
    samri::store::SliceEntry slice;
    slice.id = i;
    slice.name = "synth/images/s" + std::to_string(i) + ".nii.gz";
    slice.dataset = "synth";
    slice.patient = "patient" + std::to_string(i % 2);
    slice.split = split;
    slice.height = 2 + i % 3;
    slice.width = 3;
    slices.push_back(slice);
    for (int label : {1, 2}) {
      samples.push_back({i,
                         label,
                         label == 1 ? std::optional<std::string>("one") : std::nullopt,
                         "synth",
                         slices.back().patient,
                         split,
                         {0, 0, 2, 1},
                         0.5,
                         3});
    }
    embeddings.push_back(torch::randn({4, 3, 5}) * (i + 1));
    label_maps.push_back(torch::full({2 + i % 3, 3}, i, torch::kInt));
  }
}

store::ShardRecord SyntheticStore::commit(store::StoreWriter& writer,
                                          const std::vector<std::int64_t>& ids) const {
  store::ShardContents c;
  c.dtype = metadata.dtype;
  std::vector<torch::Tensor> rows;
  for (auto id : ids) {
    rows.push_back(embeddings[id]);
    c.slice_ids.push_back(id);
    c.slice_names.push_back(slices[id].name);
    c.label_maps.push_back(label_maps[id]);
  }
  c.embeddings = store::encode_embeddings(torch::stack(rows), metadata.dtype);
  return writer.commit(c);
}

}  // namespace samri::test
