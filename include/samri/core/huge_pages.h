#pragma once

#include <cstddef>

namespace samri {

// Extends the main thread's malloc heap by `bytes` of address space up front and asks the kernel
// for transparent huge pages there (madvise MADV_HUGEPAGE), so that the tensors the main thread
// allocates later are faulted in 2 MiB at a time instead of 4 KiB. On this project's development
// VM every 4 KiB first touch costs about 8 us (2 ms per MB), which made the first encoder slice of
// a process 0.5 s slower than the next and casting ViT-B's weights to bf16 take 0.45 s instead of
// 0.1 s (docs/benchmarks.md). Nothing is touched here: pages still come into use only when written.
//
// Works only together with keep_freed_memory_for_reuse() (which it calls): the reserved heap must
// never be trimmed or bypassed by per-block mappings. Call it from the main thread at start-up.
// Returns the bytes given huge pages: 0 when SAMRI_HUGE_PAGES=0 asks for none, when the kernel's
// THP mode is "never", when malloc is not
// glibc's or its settings are the user's, or when the heap could not grow (a sanitizer's malloc, a
// strict overcommit policy). `bytes` stays below 2 GiB, which glibc would trim again.
std::size_t back_heap_with_huge_pages(std::size_t bytes = std::size_t{1536} << 20);

}  // namespace samri
