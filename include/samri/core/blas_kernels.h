#pragma once

#include <optional>
#include <string>

namespace samri {

// The kernel family of the OpenBLAS this process loaded ("Haswell", "SkylakeX", ...), or "" when
// its BLAS is not OpenBLAS.
std::string openblas_kernels();

struct BlasKernelSwitch {
  std::string from;
  std::string to;
};

// OpenBLAS picks its kernels from the CPU model when it loads, and a release older than the CPU
// falls back to older kernels: Debian 12's 0.3.21 uses its SSE3 "Prescott" kernels on Emerald
// Rapids, which makes every float32 matrix product LibTorch sends to it about four times slower,
// and its AVX2 "Haswell" kernels on AMD Zen 5, which runs AVX-512 (float32 products at half the
// rate; newer OpenBLAS releases map AVX-512 Zen CPUs to the AVX-512 kernels themselves). This
// switches to the newest kernel family the CPU runs (AVX-512 BF16, AVX-512 or AVX2) when it is
// newer than the one picked, and says what it did. It does nothing when the BLAS is not a
// runtime-dispatching OpenBLAS or when OPENBLAS_CORETYPE is set (the user's choice wins). Call it
// before the first BLAS call of the process, from one thread; later calls return the first result.
std::optional<BlasKernelSwitch> upgrade_openblas_kernels();

// Makes OpenBLAS run each call on the calling thread alone. Tools that run only the mask decoder
// (samri-train, samri-eval) call it: their float32 products are small (batched attention over a
// handful of tokens) and OpenBLAS hands each to its own thread pool, whose start-up costs more
// than the product, and which stalls for milliseconds per call when the cores are busy. LibTorch's
// intra-op threads still parallelise everything else. Returns false, doing nothing, when the BLAS
// is not OpenBLAS or OPENBLAS_NUM_THREADS is set (the user's choice wins).
bool run_openblas_on_calling_thread();

// One line for the log: what was switched and how to override it.
std::string describe(const BlasKernelSwitch& change);

}  // namespace samri
