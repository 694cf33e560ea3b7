// Times SAM's image encoder alone on a batch of 1024x1024 inputs (default 1; random weights of
// the chosen size):
//   samri_bench_encoder [vit_b|vit_l|vit_h|CONFIG.json] [runs] [threads] [cpu|cuda] [batch]
// Memory is reused as in the tools (SAMRI_SYSTEM_MALLOC=1: glibc's defaults). Prints, per
// precision, the best and median seconds per slice (a batch's time over its slices) and slices
// per second.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "samri/core/blas_kernels.h"
#include "samri/core/huge_pages.h"
#include "samri/core/memory_reuse.h"
#include "samri/model/image_encoder.h"
#include "samri/model/runtime.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void bench(const samri::model::SamConfig& config, torch::Dtype dtype, const char* name, int runs,
           const torch::Device& device, int batch) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(0);
  samri::model::ImageEncoderViT encoder(config.image_encoder);
  encoder->eval();
  encoder->to(device, dtype);
  const int size = config.image_encoder.img_size;
  const auto x = torch::randn({batch, 3, size, size}).to(device, dtype);
  encoder->forward(x);  // warm-up: allocations, oneDNN/cuBLAS kernel selection
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto y = encoder->forward(x);
    if (device.is_cuda()) y.cpu();  // wait for the GPU
    times.push_back(seconds_since(start) / batch);
  }
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2];
  std::printf(
      "%s %s %dx%d on %s, batch %d: best %.3f s, median %.3f s per slice (%.2f slices/s) over %d "
      "runs\n",
      config.name.c_str(), name, size, size, device.str().c_str(), batch, times.front(), median,
      1.0 / median, runs);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string model = argc > 1 ? argv[1] : "vit_b";
  const int runs = argc > 2 ? std::stoi(argv[2]) : 3;
  const int threads = argc > 3 ? std::stoi(argv[3]) : 0;
  const torch::Device device = samri::model::parse_device(argc > 4 ? argv[4] : "cpu");
  const int batch = argc > 5 ? std::stoi(argv[5]) : 1;
  if (batch < 1) {
    std::fprintf(stderr, "batch must be at least 1\n");
    return 2;
  }
  if (threads > 0) torch::set_num_threads(threads);
  std::printf("threads: %d\n", torch::get_num_threads());
  std::printf("freed memory kept for reuse: %s\n",
              samri::keep_freed_memory_for_reuse() ? "yes" : "no (glibc's defaults)");
  std::printf("heap in transparent huge pages: %zu MiB\n",
              samri::back_heap_with_huge_pages() >> 20);
  if (const auto change = samri::upgrade_openblas_kernels()) {
    std::printf("%s\n", samri::describe(*change).c_str());
  }
  std::printf("OpenBLAS kernels: %s\n", samri::openblas_kernels().c_str());
  const auto config = samri::model::SamConfig::from_name_or_file(model);
  bench(config, torch::kFloat, "fp32", runs, device, batch);
  bench(config, torch::kBFloat16, "bf16", runs, device, batch);
  if (device.is_cuda()) bench(config, torch::kHalf, "fp16", runs, device, batch);
  return 0;
}
