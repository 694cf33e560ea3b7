// How much the store's dtypes change the decoder's masks: for every sample of an fp32 store, the
// box-prompted mask decoded from the stored embedding is compared (Dice) with the masks decoded
// from that embedding after a round trip through fp16, bf16 and both int8 schemes.
//   samri_bench_store_fidelity STORE CHECKPOINT [max_samples]
// The model is the store's architecture; the checkpoint gives the prompt encoder and decoder.
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "samri/model/predictor.h"
#include "samri/model/runtime.h"
#include "samri/store/embedding_store.h"

using namespace samri;

namespace {

double dice(const torch::Tensor& a, const torch::Tensor& b) {
  const double inter = (a & b).sum().item<double>();
  const double total = a.sum().item<double>() + b.sum().item<double>();
  return total == 0 ? 1.0 : 2 * inter / total;
}

torch::Tensor round_trip(const torch::Tensor& x, store::StoreDtype dtype,
                         store::Int8Scheme scheme) {
  const auto enc = store::encode_embeddings(x.unsqueeze(0), dtype, scheme);
  auto out = torch::empty_like(x);
  store::decode_embedding(enc.values[0].data_ptr(), dtype,
                          enc.scales.defined() ? enc.scales[0].data_ptr<float>() : nullptr,
                          enc.offsets.defined() ? enc.offsets[0].data_ptr<float>() : nullptr, out);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: samri_bench_store_fidelity STORE CHECKPOINT [max_samples]\n");
    return 2;
  }
  const store::EmbeddingStore s(argv[1]);
  if (s.metadata().dtype != store::StoreDtype::kFloat32) {
    std::fprintf(stderr, "the store must be fp32 (the reference)\n");
    return 2;
  }
  const std::size_t max_samples = argc > 3 ? std::stoul(argv[3]) : 1000000;
  model::SamPredictor predictor(model::load_sam(argv[2], s.config(), torch::kCPU));
  const std::vector<std::pair<std::string, std::pair<store::StoreDtype, store::Int8Scheme>>>
      variants = {{"fp16", {store::StoreDtype::kFloat16, store::Int8Scheme::kMinMax}},
                  {"bf16", {store::StoreDtype::kBFloat16, store::Int8Scheme::kMinMax}},
                  {"int8 minmax", {store::StoreDtype::kInt8, store::Int8Scheme::kMinMax}},
                  {"int8 absmax", {store::StoreDtype::kInt8, store::Int8Scheme::kAbsMax}}};
  std::map<std::string, double> sum;
  std::map<std::string, double> worst;
  std::size_t n = 0;
  std::int64_t cached_slice = -1;
  torch::Tensor x;
  std::map<std::string, torch::Tensor> variant_embedding;
  for (const auto& sample : s.samples()) {
    if (n >= max_samples) break;
    if (!s.has(sample.slice)) continue;
    const auto& slice = s.slices()[sample.slice];
    const std::array<int, 2> size{static_cast<int>(slice.height), static_cast<int>(slice.width)};
    if (sample.slice != cached_slice) {
      x = s.embedding(sample.slice);
      for (const auto& [name, v] : variants)
        variant_embedding[name] = round_trip(x, v.first, v.second);
      cached_slice = sample.slice;
    }
    model::Prompt prompt;
    prompt.box = std::array<float, 4>{float(sample.box[0]), float(sample.box[1]),
                                      float(sample.box[2]), float(sample.box[3])};
    predictor.set_embedding(x.unsqueeze(0), size);
    const auto want = predictor.predict(prompt, false).logits[0] > 0;
    for (const auto& [name, v] : variants) {
      predictor.set_embedding(variant_embedding[name].unsqueeze(0), size);
      const double d = dice(predictor.predict(prompt, false).logits[0] > 0, want);
      sum[name] += d;
      worst[name] = worst.count(name) ? std::min(worst[name], d) : d;
    }
    ++n;
  }
  std::printf("%zu box prompts of %s, model %s\n", n, argv[1], s.metadata().model_name.c_str());
  for (const auto& [name, v] : variants) {
    std::printf("%-12s mean Dice vs fp32 %.6f, worst %.6f\n", name.c_str(), sum[name] / n,
                worst[name]);
  }
  return 0;
}
