// Times write_checkpoint and read_checkpoint on a randomly initialised state_dict with the keys
// and shapes of the official SAM ViT-B checkpoint (sam_vit_b_01ec64.pth, 375,042,383 bytes).
//   samri_bench_checkpoint [runs] [path]   (a given path is kept, for comparing with Python)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "samri/core/error.h"
#include "samri/model/checkpoint.h"
#include "samri/model/sam.h"

namespace {

using samri::model::StateDict;

// The keys and shapes of the official file, from the model itself, with random values.
StateDict vit_b_state_dict() {
  torch::manual_seed(0);
  return samri::model::module_state_dict(*samri::model::Sam(samri::model::SamConfig::vit_b()));
}

template <typename F>
std::vector<double> time_runs(int runs, F&& f) {
  std::vector<double> seconds;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    f();
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  return seconds;
}

void report(const char* what, const std::vector<double>& s, double megabytes) {
  const double best = s.front(), median = s[s.size() / 2];
  std::printf("%-6s best %.3f s (%.0f MB/s)  median %.3f s (%.0f MB/s)  over %zu runs\n", what,
              best, megabytes / best, median, megabytes / median, s.size());
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const int runs = argc > 1 ? std::max(1, std::stoi(argv[1])) : 5;
    const std::string path =
        argc > 2 ? argv[2]
                 : (std::filesystem::temp_directory_path() / "samri_bench_checkpoint_vit_b.pth")
                       .string();
    const StateDict sd = vit_b_state_dict();
    int64_t params = 0;
    for (const auto& item : sd.items()) params += item.second.numel();
    std::printf("ViT-B state_dict: %zu tensors, %lld parameters\n", sd.size(),
                static_cast<long long>(params));
    const auto write = time_runs(runs, [&] { samri::model::write_checkpoint(path, sd); });
    const double mb = std::filesystem::file_size(path) / 1e6;
    std::printf("file: %s, %llu bytes (official vit_b: 375042383)\n", path.c_str(),
                static_cast<unsigned long long>(std::filesystem::file_size(path)));
    std::size_t keys = 0;
    const auto read = time_runs(runs, [&] { keys = samri::model::read_checkpoint(path).size(); });
    if (keys != sd.size()) throw samri::Error("read back " + std::to_string(keys) + " keys");
    report("write", write, mb);
    report("read", read, mb);
    if (argc <= 2) std::filesystem::remove(path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "samri_bench_checkpoint: %s\n", e.what());
    return 1;
  }
  return 0;
}
