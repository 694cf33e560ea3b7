// The image encoder against the machine's matrix-product rate: measures the fp32 and bf16 GEMM
// rate on the encoder's own MLP product (4096x768 by 768x3072), counts the encoder's
// floating-point operations, times the encoder (random weights) and prints how close it runs to
// the GEMM rate. With a second argument it writes LibTorch's profile of one forward per precision
// (PREFIX_fp32.json, PREFIX_bf16.json; scripts/encoder_roofline.sh sorts them into categories).
//   samri_bench_encoder_roofline [threads] [profile-prefix]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>

#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include "samri/core/blas_kernels.h"
#include "samri/core/memory_reuse.h"
#include "samri/model/image_encoder.h"

namespace {

using Clock = std::chrono::steady_clock;

template <typename F>
double best_seconds(int runs, F&& run) {
  run();  // warm-up: allocations, kernel selection
  double best = 1e30;
  for (int i = 0; i < runs; ++i) {
    const auto start = Clock::now();
    run();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - start).count());
  }
  return best;
}

double gemm_gflops(torch::Dtype dtype) {
  const int64_t m = 4096, k = 768, n = 3072;
  const auto a = torch::randn({m, k}).to(dtype);
  const auto b = torch::randn({k, n}).to(dtype);
  auto c = torch::empty({m, n}, a.options());
  const double s = best_seconds(5, [&] { at::mm_out(c, a, b); });
  return 2.0 * m * k * n / s / 1e9;
}

// Multiply-adds count two. Windowed blocks run qkv, the attention and the projection on the
// windows' padded grid, as SAM's code does; the MLP on the unpadded tokens.
double encoder_gflop(const samri::model::ImageEncoderConfig& e) {
  const double grid = e.img_size / e.patch_size, tokens = grid * grid, c = e.embed_dim;
  const double head_dim = c / e.num_heads;
  double flop = 2 * tokens * (3.0 * e.patch_size * e.patch_size) * c;  // patch embedding
  for (int i = 0; i < e.depth; ++i) {
    const bool global = std::count(e.global_attn_indexes.begin(), e.global_attn_indexes.end(), i);
    const double side = global ? grid : e.window_size;
    const double windows = global ? 1 : std::pow(std::ceil(grid / e.window_size), 2);
    const double per_window = side * side, attended = windows * per_window;
    flop += 2 * attended * c * 3 * c + 2 * attended * c * c;                      // qkv, projection
    flop += 2 * 2 * e.num_heads * windows * per_window * per_window * head_dim;   // q k^T, a v
    if (e.use_rel_pos) flop += 2 * e.num_heads * attended * head_dim * 2 * side;  // rel_h, rel_w
    flop += 2 * 2 * tokens * c * (e.mlp_ratio * c);                               // MLP
  }
  flop += 2 * tokens * c * e.out_chans + 2 * tokens * e.out_chans * e.out_chans * 9;  // neck
  return flop / 1e9;
}

void run(const samri::model::ImageEncoderConfig& config, torch::Dtype dtype, const char* name,
         double gemm_rate, double gflop, const std::string& profile_prefix) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(0);
  samri::model::ImageEncoderViT encoder(config);
  encoder->eval();
  encoder->to(dtype);
  const auto x = torch::randn({1, 3, config.img_size, config.img_size}).to(dtype);
  const double s = best_seconds(2, [&] { encoder->forward(x); });
  std::printf(
      "%s encoder: %.3f s, %.1f GFLOP/s = %.0f%% of the GEMM rate (lower bound at that "
      "rate: %.3f s)\n",
      name, s, gflop / s, 100 * gflop / s / gemm_rate, gflop / gemm_rate);
  if (!profile_prefix.empty()) {
    torch::autograd::profiler::RecordProfile guard(profile_prefix + "_" + name + ".json");
    encoder->forward(x);
  }
}

}  // namespace

int main(int argc, char** argv) {
  torch::set_num_threads(argc > 1 ? std::stoi(argv[1]) : 2);
  const std::string profile_prefix = argc > 2 ? argv[2] : "";
  samri::upgrade_openblas_kernels();
  samri::keep_freed_memory_for_reuse();
  const auto config = samri::model::SamConfig::vit_b().image_encoder;
  const double gflop = encoder_gflop(config);
  std::printf("threads: %d, OpenBLAS kernels: %s\n", torch::get_num_threads(),
              samri::openblas_kernels().c_str());
  std::printf("ViT-B encoder at %dx%d: %.1f GFLOP\n", config.img_size, config.img_size, gflop);
  for (const auto& [dtype, name] :
       {std::pair{torch::kFloat, "fp32"}, std::pair{torch::kBFloat16, "bf16"}}) {
    const double rate = gemm_gflops(dtype);
    std::printf("%s GEMM 4096x768 x 768x3072: %.1f GFLOP/s\n", name, rate);
    run(config, dtype, name, rate, gflop, profile_prefix);
  }
  return 0;
}
