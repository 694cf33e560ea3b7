#include "samri/store/store_dtype.h"

#include "samri/core/error.h"

namespace samri::store {

StoreDtype parse_store_dtype(const std::string& text, const std::string& what) {
  if (text == "fp16") return StoreDtype::kFloat16;
  if (text == "bf16") return StoreDtype::kBFloat16;
  if (text == "fp32") return StoreDtype::kFloat32;
  if (text == "int8") return StoreDtype::kInt8;
  throw Error(what + " '" + text + "': expected fp16, bf16, fp32 or int8");
}

std::string to_string(StoreDtype dtype) {
  switch (dtype) {
    case StoreDtype::kFloat16:
      return "fp16";
    case StoreDtype::kBFloat16:
      return "bf16";
    case StoreDtype::kFloat32:
      return "fp32";
    case StoreDtype::kInt8:
      return "int8";
  }
  return "?";
}

std::int64_t element_bytes(StoreDtype dtype) {
  switch (dtype) {
    case StoreDtype::kFloat32:
      return 4;
    case StoreDtype::kInt8:
      return 1;
    default:
      return 2;
  }
}

Int8Scheme parse_int8_scheme(const std::string& text) {
  if (text == "minmax") return Int8Scheme::kMinMax;
  if (text == "absmax") return Int8Scheme::kAbsMax;
  throw Error("int8 scheme '" + text + "': expected minmax or absmax");
}

std::string to_string(Int8Scheme scheme) {
  return scheme == Int8Scheme::kMinMax ? "minmax" : "absmax";
}

namespace {

torch::ScalarType torch_type(StoreDtype dtype) {
  switch (dtype) {
    case StoreDtype::kFloat16:
      return torch::kHalf;
    case StoreDtype::kBFloat16:
      return torch::kBFloat16;
    case StoreDtype::kFloat32:
      return torch::kFloat;
    case StoreDtype::kInt8:
      return torch::kChar;
  }
  return torch::kFloat;
}

EncodedEmbeddings quantize(const torch::Tensor& x, Int8Scheme scheme) {
  const auto flat = x.flatten(2);  // (N, C, HW)
  torch::Tensor offsets, half_range;
  if (scheme == Int8Scheme::kMinMax) {
    const auto lo = std::get<0>(flat.min(2));
    const auto hi = std::get<0>(flat.max(2));
    offsets = (hi + lo) * 0.5;
    half_range = (hi - lo) * 0.5;
  } else {
    offsets = torch::zeros({x.size(0), x.size(1)}, x.options());
    half_range = std::get<0>(flat.abs().max(2));
  }
  // A constant channel gets scale 1 so that it decodes exactly to its offset.
  auto scales = half_range / 127.0;
  scales = torch::where(scales > 0, scales, torch::ones_like(scales));
  const auto q = ((flat - offsets.unsqueeze(2)) / scales.unsqueeze(2)).round().clamp(-127, 127);
  return {q.to(torch::kChar).view_as(x).contiguous(), scales.contiguous(), offsets.contiguous()};
}

}  // namespace

EncodedEmbeddings encode_embeddings(const torch::Tensor& embeddings, StoreDtype dtype,
                                    Int8Scheme scheme) {
  if (embeddings.dim() != 4) {
    throw Error("encode_embeddings: expected (N, C, H, W), got " + c10::str(embeddings.sizes()));
  }
  const torch::Tensor x = embeddings.detach().to(torch::kCPU, torch::kFloat);
  if (dtype == StoreDtype::kInt8) return quantize(x, scheme);
  return {x.to(torch_type(dtype)).contiguous(), {}, {}};
}

void decode_embedding(const void* raw, StoreDtype dtype, const float* scales, const float* offsets,
                      torch::Tensor out) {
  const auto shape = out.sizes();
  // from_blob never writes: the const_cast only satisfies its signature.
  const torch::Tensor stored = torch::from_blob(const_cast<void*>(raw), shape,
                                                torch::TensorOptions().dtype(torch_type(dtype)));
  if (dtype != StoreDtype::kInt8) {
    out.copy_(stored);
    return;
  }
  if (out.scalar_type() != torch::kFloat) throw Error("int8 embeddings decode to float32 only");
  const auto channels = shape[0];
  const auto opts = torch::TensorOptions().dtype(torch::kFloat);
  const auto s = torch::from_blob(const_cast<float*>(scales), {channels, 1, 1}, opts);
  const auto o = torch::from_blob(const_cast<float*>(offsets), {channels, 1, 1}, opts);
  out.copy_(stored);
  out.mul_(s).add_(o);
}

}  // namespace samri::store
