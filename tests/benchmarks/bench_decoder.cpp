// Times the ViT-B mask decoder (with its prompt encoder) on random embeddings and box prompts:
// inference and a training step's forward + backward, best of 3 after a warm-up.
//   samri_bench_decoder [batch] [threads] [fp32|bf16]
// OpenBLAS threads follow OPENBLAS_NUM_THREADS, as in any program; samri-train and samri-eval
// run OpenBLAS on the calling thread (set OPENBLAS_NUM_THREADS=1 here to compare like with like).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include <torch/torch.h>

#include "samri/core/memory_reuse.h"
#include "samri/model/sam_config.h"
#include "samri/train/sam_decoder.h"

int main(int argc, char** argv) {
  const int64_t batch = argc > 1 ? std::stoi(argv[1]) : 8;
  torch::set_num_threads(argc > 2 ? std::stoi(argv[2]) : 2);
  std::printf("freed memory kept for reuse: %s\n",
              samri::keep_freed_memory_for_reuse() ? "yes" : "no (glibc's defaults)");
  const std::string precision = argc > 3 ? argv[3] : "fp32";
  const auto dtype = precision == "bf16" ? torch::kBFloat16 : torch::kFloat;
  torch::manual_seed(0);
  samri::train::SamDecoder decoder(samri::model::SamConfig::vit_b());
  decoder->mask_decoder->to(dtype);
  const auto embeddings = torch::randn({batch, 256, 64, 64}).to(dtype);
  const auto boxes = torch::tensor({100.f, 200.f, 400.f, 500.f}).repeat({batch, 1});
  const auto step = [&](bool backward) {
    const auto start = std::chrono::steady_clock::now();
    if (backward) {
      decoder->forward(embeddings, boxes, {}).to(torch::kFloat).sum().backward();
    } else {
      torch::NoGradGuard no_grad;
      decoder->forward(embeddings, boxes, {});
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  for (const bool backward : {false, true}) {
    step(backward);
    double best = 1e30;
    for (int i = 0; i < 3; ++i) best = std::min(best, step(backward));
    std::printf("ViT-B decoder %s, batch %lld, %s: %.3f s, %.3f s per sample\n", precision.c_str(),
                static_cast<long long>(batch), backward ? "forward + backward" : "forward", best,
                best / static_cast<double>(batch));
  }
  return 0;
}
