#include "samri/core/blas_kernels.h"

#include <dlfcn.h>

#include <array>
#include <cstdlib>
#include <mutex>
#include <utility>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace samri {
namespace {

using CoreNameFn = char* (*)();
using VoidFn = void (*)();

// Looked up at run time so that the project neither links OpenBLAS itself nor cares which BLAS
// LibTorch was given: the symbols are there only when the loaded BLAS is OpenBLAS.
template <typename Fn>
Fn openblas_symbol(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

// How much of the vector units a kernel family uses: 0 below AVX2 (Prescott, Nehalem...), 1 AVX2,
// 2 AVX-512, 3 AVX-512 with bf16 products, 4 AMX.
int family_rank(const std::string& kernels) {
  static const std::array<std::pair<const char*, int>, 6> kRanks = {{{"Haswell", 1},
                                                                     {"Zen", 1},
                                                                     {"Excavator", 1},
                                                                     {"SkylakeX", 2},
                                                                     {"Cooperlake", 3},
                                                                     {"SapphireRapids", 4}}};
  for (const auto& [family, rank] : kRanks) {
    if (kernels == family) return rank;
  }
  return 0;
}

bool cpu_has_avx512_bf16() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (eax & (1u << 5)) != 0;
#else
  return false;
#endif
}

// Kernel families to try, best first, that this CPU (and its OS) can run.
std::vector<std::string> supported_families() {
  std::vector<std::string> families;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                      __builtin_cpu_supports("avx512cd");
  if (avx512 && cpu_has_avx512_bf16()) families.emplace_back("Cooperlake");
  if (avx512) families.emplace_back("SkylakeX");
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    families.emplace_back("Haswell");
  }
#endif
  return families;
}

// OpenBLAS's dispatcher reads OPENBLAS_CORETYPE when it (re)initialises; the variable is set only
// for that moment so that the process environment ends as it began.
bool select_family(const std::string& family, VoidFn quit, VoidFn init, CoreNameFn corename) {
  setenv("OPENBLAS_CORETYPE", family.c_str(), 1);
  quit();
  init();
  unsetenv("OPENBLAS_CORETYPE");
  return std::string(corename()) == family;
}

std::optional<BlasKernelSwitch> upgrade_once() {
  const auto corename = openblas_symbol<CoreNameFn>("openblas_get_corename");
  const auto quit = openblas_symbol<VoidFn>("gotoblas_dynamic_quit");
  const auto init = openblas_symbol<VoidFn>("gotoblas_dynamic_init");
  if (!corename || !quit || !init || std::getenv("OPENBLAS_CORETYPE") != nullptr) {
    return std::nullopt;
  }
  const std::string before = corename();
  const auto families = supported_families();
  if (families.empty() || family_rank(families.front()) <= family_rank(before)) return std::nullopt;
  for (const auto& family : families) {
    if (family_rank(family) <= family_rank(before)) break;
    if (select_family(family, quit, init, corename)) return BlasKernelSwitch{before, family};
  }
  select_family(before, quit, init, corename);  // nothing better took: back to what it was
  return std::nullopt;
}

}  // namespace

std::string openblas_kernels() {
  const auto corename = openblas_symbol<CoreNameFn>("openblas_get_corename");
  return corename ? std::string(corename()) : std::string();
}

std::optional<BlasKernelSwitch> upgrade_openblas_kernels() {
  static std::once_flag once;
  static std::optional<BlasKernelSwitch> result;
  std::call_once(once, [] { result = upgrade_once(); });
  return result;
}

std::string describe(const BlasKernelSwitch& change) {
  return "OpenBLAS had picked its " + change.from +
         " kernels, which leave this CPU's vector units unused; switched to its " + change.to +
         " kernels (set OPENBLAS_CORETYPE to choose yourself)";
}

bool run_openblas_on_calling_thread() {
  using SetThreadsFn = void (*)(int);
  const auto set_threads = openblas_symbol<SetThreadsFn>("openblas_set_num_threads");
  if (!set_threads || std::getenv("OPENBLAS_NUM_THREADS") != nullptr) return false;
  set_threads(1);
  return true;
}

}  // namespace samri
