#include "samri/core/blas_kernels.h"

#include <cstdlib>
#include <set>

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace samri {
namespace {

bool cpu_runs_avx2() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

bool cpu_runs_avx512() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512cd");
#else
  return false;
#endif
}

TEST(BlasKernels, UpgradeEndsOnTheWidestVectorsTheCpuRuns) {
  const bool user_choice = std::getenv("OPENBLAS_CORETYPE") != nullptr;
  const auto change = upgrade_openblas_kernels();
  const std::string kernels = openblas_kernels();
  if (kernels.empty() || user_choice || !cpu_runs_avx2()) {
    EXPECT_FALSE(change.has_value());
    GTEST_SKIP() << "not OpenBLAS, OPENBLAS_CORETYPE set, or no AVX2 here (kernels: '" << kernels
                 << "')";
  }
  const std::set<std::string> avx512_families = {"SkylakeX", "Cooperlake", "SapphireRapids"};
  std::set<std::string> avx2_families = {"Haswell", "Zen", "Excavator"};
  avx2_families.insert(avx512_families.begin(), avx512_families.end());
  const auto& expected = cpu_runs_avx512() ? avx512_families : avx2_families;
  EXPECT_TRUE(expected.count(kernels)) << kernels;
  if (change) {
    EXPECT_EQ(change->to, kernels);
    EXPECT_FALSE(expected.count(change->from)) << change->from;
  }
  // The switch goes through the environment, which must end as it began.
  EXPECT_EQ(std::getenv("OPENBLAS_CORETYPE"), nullptr);
}

TEST(BlasKernels, SecondCallReportsTheFirstResult) {
  const auto first = upgrade_openblas_kernels();
  const auto second = upgrade_openblas_kernels();
  ASSERT_EQ(first.has_value(), second.has_value());
  if (first) {
    EXPECT_EQ(first->from, second->from);
    EXPECT_EQ(first->to, second->to);
  }
}

// After a switch, float32 products of awkward sizes (edges of every kernel block) still agree with
// float64 ones.
TEST(BlasKernels, ProductsAfterTheSwitchAreRight) {
  upgrade_openblas_kernels();
  torch::manual_seed(3);
  for (const auto& [m, k, n] :
       {std::array<int64_t, 3>{257, 129, 65}, {1, 768, 3072}, {4096, 64, 196}, {33, 17, 1}}) {
    const auto a = torch::randn({m, k});
    const auto b = torch::randn({k, n});
    const auto exact = torch::mm(a.to(torch::kDouble), b.to(torch::kDouble));
    const double err = (torch::mm(a, b).to(torch::kDouble) - exact).abs().max().item<double>();
    EXPECT_LT(err, 1e-4 * std::sqrt(static_cast<double>(k))) << m << "x" << k << "x" << n;
    const auto batched =
        torch::bmm(a.unsqueeze(0).expand({3, m, k}), b.unsqueeze(0).expand({3, k, n}));
    EXPECT_LT((batched[2].to(torch::kDouble) - exact).abs().max().item<double>(),
              1e-4 * std::sqrt(static_cast<double>(k)));
  }
}

}  // namespace
}  // namespace samri
