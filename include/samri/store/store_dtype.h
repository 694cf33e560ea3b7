#pragma once

#include <string>

#include <torch/torch.h>

namespace samri::store {

// How a store keeps its embeddings. fp16 (the default) halves fp32's size at a rounding the
// decoder does not notice; int8 halves it again with a scale and an offset per (slice, channel).
enum class StoreDtype { kFloat16, kBFloat16, kFloat32, kInt8 };

// "fp16" | "bf16" | "fp32" | "int8"; anything else throws samri::Error naming `what`.
StoreDtype parse_store_dtype(const std::string& text, const std::string& what = "--store-dtype");
std::string to_string(StoreDtype dtype);
std::int64_t element_bytes(StoreDtype dtype);

// The int8 scheme: per (slice, channel), q = round((x - offset) / scale) in [-127, 127] and
// x ~ q * scale + offset. "minmax" spreads the 255 levels over [min, max] of the channel;
// "absmax" is symmetric (offset 0, scale = max |x| / 127). Chosen by measurement: see
// docs/benchmarks.md ("int8 scheme").
enum class Int8Scheme { kMinMax, kAbsMax };
constexpr Int8Scheme kDefaultInt8Scheme = Int8Scheme::kMinMax;
Int8Scheme parse_int8_scheme(const std::string& text);
std::string to_string(Int8Scheme scheme);

// A batch of embeddings in a store's representation: `values` (N, C, H, W) of kHalf, kBFloat16,
// kFloat or kChar; for int8 also `scales` and `offsets` (N, C) float32.
struct EncodedEmbeddings {
  torch::Tensor values;
  torch::Tensor scales;
  torch::Tensor offsets;
};

// (N, C, H, W) float embeddings (any device) to `dtype`, on the CPU, contiguous.
EncodedEmbeddings encode_embeddings(const torch::Tensor& embeddings, StoreDtype dtype,
                                    Int8Scheme scheme = kDefaultInt8Scheme);

// One stored embedding back to float32: `raw` points at C*H*W values of `dtype` (for int8,
// `scales` and `offsets` at C floats each); the result is written into `out`, a float32 (C, H, W)
// tensor (any strides, e.g. one row of a batch). `out` may also be of the store's own dtype
// (kHalf / kBFloat16 / kFloat, not int8), in which case the values are copied as they are.
void decode_embedding(const void* raw, StoreDtype dtype, const float* scales, const float* offsets,
                      torch::Tensor out);

}  // namespace samri::store
