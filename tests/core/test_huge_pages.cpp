#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "samri/core/huge_pages.h"
#include "samri/core/memory_reuse.h"

namespace samri {
namespace {

// Bytes of the mappings whose VmFlags carry "hg" (advised for huge pages), from /proc/self/smaps.
std::size_t huge_page_advised_bytes() {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  std::size_t size_kb = 0, total = 0;
  while (std::getline(smaps, line)) {
    std::istringstream fields(line);
    std::string key;
    fields >> key;
    if (key == "Size:") fields >> size_kb;
    if (key == "VmFlags:" && (line + " ").find(" hg ") != std::string::npos) {
      total += size_kb * 1024;
    }
  }
  return total;
}

// The reservation is whole 2 MiB pages within what was asked, and the kernel sees exactly that
// range advised for huge pages (or nothing was done: THP off, a sanitizer's malloc).
TEST(HugePages, AdvisesWholeHugePagesOfTheHeapOnce) {
  const std::size_t asked = std::size_t{64} << 20;
  const std::size_t before = huge_page_advised_bytes();
  const std::size_t given = back_heap_with_huge_pages(asked);
  EXPECT_EQ(given % (std::size_t{2} << 20), 0u);
  EXPECT_LE(given, asked);
  if (given == 0) return;
  EXPECT_TRUE(keep_freed_memory_for_reuse());
  EXPECT_GE(huge_page_advised_bytes(), before + given);
  EXPECT_EQ(back_heap_with_huge_pages(asked), given) << "a second call changes nothing";
}

}  // namespace
}  // namespace samri
