#include "samri/core/memory_reuse.h"

#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace samri {

namespace {

bool user_chose_malloc_settings() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  const char* system = std::getenv("SAMRI_SYSTEM_MALLOC");
  return (tunables && std::strstr(tunables, "glibc.malloc.")) ||
         (system && std::strcmp(system, "1") == 0);
}

bool apply() {
#if defined(__GLIBC__)
  if (user_chose_malloc_settings()) return false;
  // Every block from the heaps, never its own mapping; and the heaps' free top is never trimmed.
  // (mallopt takes an int: a free top of 2 GiB or more is still trimmed.)
  return mallopt(M_MMAP_MAX, 0) == 1 &&
         mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max()) == 1;
#else
  return false;
#endif
}

}  // namespace

bool keep_freed_memory_for_reuse() {
  static std::once_flag once;
  static bool result = false;
  std::call_once(once, [] { result = apply(); });
  return result;
}

}  // namespace samri
