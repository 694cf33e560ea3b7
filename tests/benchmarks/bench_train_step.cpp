// Times samri-train's decoder step on the ViT-B decoder (DecoderTrainer: forward, focal + Dice
// loss, backward, the bf16 gradients added to the float32 master, AdamW) on random embeddings and
// box prompts, best of 3 after a warm-up, with OpenBLAS on the calling thread and freed memory
// reused as in samri-train (SAMRI_SYSTEM_MALLOC=1: glibc's defaults). With a fourth argument it
// also writes LibTorch's profile of one step (chrome trace JSON).
//   samri_bench_train_step [batch] [threads] [fp32|bf16] [profile.json]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include "samri/core/blas_kernels.h"
#include "samri/core/memory_reuse.h"
#include "samri/model/sam_config.h"
#include "samri/train/decoder_trainer.h"

namespace {

samri::model::StateDict random_decoder_weights(const samri::model::SamConfig& config) {
  torch::manual_seed(0);
  samri::train::SamDecoder decoder(config);
  samri::model::StateDict weights;
  for (const auto& item : decoder->named_parameters()) weights.insert(item.key(), item.value());
  for (const auto& item : decoder->named_buffers()) weights.insert(item.key(), item.value());
  return weights;
}

samri::train::TrainBatch random_batch(std::int64_t batch) {
  samri::train::TrainBatch b;
  b.embeddings = torch::randn({batch, 256, 64, 64});
  b.boxes = torch::tensor({100.f, 200.f, 400.f, 500.f}).repeat({batch, 1});
  b.targets = torch::zeros({batch, 1, 256, 256});
  b.targets.index_put_({torch::indexing::Slice(), 0, torch::indexing::Slice(50, 125),
                        torch::indexing::Slice(25, 100)},
                       1.0);
  for (std::int64_t i = 0; i < batch; ++i) b.samples.push_back(i);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t batch = argc > 1 ? std::stoi(argv[1]) : 8;
  torch::set_num_threads(argc > 2 ? std::stoi(argv[2]) : 2);
  samri::run_openblas_on_calling_thread();
  std::printf("freed memory kept for reuse: %s\n",
              samri::keep_freed_memory_for_reuse() ? "yes" : "no (glibc's defaults)");
  samri::train::TrainConfig config;
  config.precision = argc > 3 ? argv[3] : "fp32";
  const auto architecture = samri::model::SamConfig::vit_b();
  samri::train::DecoderTrainer trainer(architecture, random_decoder_weights(architecture), "random",
                                       config, torch::kCPU);
  const samri::train::TrainBatch b = random_batch(batch);
  const auto step = [&] {
    const auto start = std::chrono::steady_clock::now();
    trainer.accumulate(b, 1.0);
    trainer.step(config.lr);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  step();
  double best = 1e30;
  for (int i = 0; i < 3; ++i) best = std::min(best, step());
  std::printf(
      "ViT-B decoder training step %s, batch %lld: %.3f s, %.3f s per sample, %.2f "
      "samples/s\n",
      config.precision.c_str(), static_cast<long long>(batch), best,
      best / static_cast<double>(batch), static_cast<double>(batch) / best);
  if (argc > 4) {
    torch::autograd::profiler::RecordProfile guard(argv[4]);
    step();
  }
  return 0;
}
