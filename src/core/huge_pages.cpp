#include "samri/core/huge_pages.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>

#include "samri/core/memory_reuse.h"

#if defined(__GLIBC__)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace samri {

namespace {

constexpr std::uintptr_t kHugePage = std::uintptr_t{2} << 20;

bool kernel_may_give_huge_pages() {
  const char* choice = std::getenv("SAMRI_HUGE_PAGES");
  if (choice && std::string(choice) == "0") return false;
  std::ifstream mode("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  return std::getline(mode, line) && line.find("[never]") == std::string::npos;
}

std::size_t reserve(std::size_t bytes) {
#if defined(__GLIBC__) && defined(MADV_HUGEPAGE)
  if (!keep_freed_memory_for_reuse() || !kernel_may_give_huge_pages()) return 0;
  // With per-block mappings off, a large block comes from the top of the main heap; freed, it
  // stays there as untouched address space for the allocations that follow.
  const auto before = reinterpret_cast<std::uintptr_t>(sbrk(0));
  void* block = std::malloc(bytes);
  const auto after = reinterpret_cast<std::uintptr_t>(sbrk(0));
  std::free(block);
  const std::uintptr_t start = (before + kHugePage - 1) & ~(kHugePage - 1);
  const std::uintptr_t end = after & ~(kHugePage - 1);
  if (block == nullptr || end <= start) return 0;
  if (madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE) != 0) return 0;
  return end - start;
#else
  (void)bytes;
  return 0;
#endif
}

}  // namespace

std::size_t back_heap_with_huge_pages(std::size_t bytes) {
  static std::once_flag once;
  static std::size_t result = 0;
  std::call_once(
      once, [bytes] { result = reserve(std::min<std::size_t>(bytes, std::size_t{1920} << 20)); });
  return result;
}

}  // namespace samri
