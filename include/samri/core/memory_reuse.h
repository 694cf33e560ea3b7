#pragma once

namespace samri {

// Makes glibc's malloc keep the memory LibTorch frees for its next tensors, instead of handing
// every block above its mmap threshold (128 KiB to 32 MiB) back to the kernel on free. Each new
// tensor would otherwise start on fresh pages, and the kernel faults in and zeroes every 4 KiB page
// on first touch: on this project's development VM a 32 MB tensor took 75 ms to fill that way and
// 1 ms once its memory was reused, which made the ViT-B decoder's training step 4.8x slower in
// bf16 and 2.5x in float32, and the encoder 1.5x slower in float32 (docs/benchmarks.md). The
// tools call it at start-up. The cost: freed memory stays in the process, so RSS no longer falls
// after a peak, and fragmentation can raise the peak (a ViT-B decoder training step on 64 samples
// in one pass: 6.2 -> 9.9 GB; samri-train therefore runs its micro-batches in small passes).
//
// Returns false, doing nothing, when malloc is not glibc's, when GLIBC_TUNABLES sets a
// glibc.malloc tunable (the user's choice wins), or when SAMRI_SYSTEM_MALLOC=1 asks for glibc's
// defaults. Later calls return the first call's result.
bool keep_freed_memory_for_reuse();

}  // namespace samri
