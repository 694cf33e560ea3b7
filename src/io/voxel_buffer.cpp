#include "voxel_buffer.h"

#include <limits>

#include "samri/core/error.h"

namespace samri::io::detail {

namespace {

constexpr std::int64_t kMaxAxis = 65536;
constexpr std::int64_t kMaxValues = std::int64_t{1} << 31;

template <typename From, typename To>
torch::Tensor widen(const torch::Tensor& bytes, torch::ScalarType dtype) {
  const std::int64_t count = bytes.numel() / static_cast<std::int64_t>(sizeof(From));
  auto out = torch::empty({count}, torch::TensorOptions().dtype(dtype));
  const auto* in = reinterpret_cast<const From*>(bytes.data_ptr<std::uint8_t>());
  auto* to = out.data_ptr<To>();
  for (std::int64_t i = 0; i < count; ++i) to[i] = static_cast<To>(in[i]);
  return out;
}

}  // namespace

std::size_t voxel_type_size(VoxelType type) {
  switch (type) {
    case VoxelType::kUInt8:
    case VoxelType::kInt8:
      return 1;
    case VoxelType::kUInt16:
    case VoxelType::kInt16:
      return 2;
    case VoxelType::kUInt32:
    case VoxelType::kInt32:
    case VoxelType::kFloat32:
      return 4;
    default:
      return 8;
  }
}

void check_grid_size(const std::filesystem::path& path, const std::vector<std::int64_t>& size,
                     int components) {
  std::int64_t values = components;
  for (std::size_t d = 0; d < size.size(); ++d) {
    if (size[d] < 1 || size[d] > kMaxAxis) {
      throw Error(path.string() + ": axis " + std::to_string(d) + " has " +
                  std::to_string(size[d]) + " voxels; refusing (1 to " + std::to_string(kMaxAxis) +
                  " allowed)");
    }
    values *= size[d];  // cannot overflow: at most 65536^4 * 4 < 2^63
    if (values > kMaxValues) {
      throw Error(path.string() + ": the image holds more than 2^31 values; refusing to read it");
    }
  }
}

torch::Tensor allocate_voxel_bytes(VoxelType type, std::int64_t count) {
  return torch::empty({count * static_cast<std::int64_t>(voxel_type_size(type))},
                      torch::TensorOptions().dtype(torch::kUInt8));
}

torch::Tensor voxels_from_bytes(const torch::Tensor& bytes, VoxelType type,
                                const std::filesystem::path& path) {
  switch (type) {
    case VoxelType::kUInt8:
      return bytes;
    case VoxelType::kInt8:
      return bytes.view(torch::kInt8);
    case VoxelType::kInt16:
      return bytes.view(torch::kInt16);
    case VoxelType::kInt32:
      return bytes.view(torch::kInt32);
    case VoxelType::kInt64:
      return bytes.view(torch::kInt64);
    case VoxelType::kFloat32:
      return bytes.view(torch::kFloat32);
    case VoxelType::kFloat64:
      return bytes.view(torch::kFloat64);
    case VoxelType::kUInt16:
      return widen<std::uint16_t, std::int32_t>(bytes, torch::kInt32);
    case VoxelType::kUInt32:
      return widen<std::uint32_t, std::int64_t>(bytes, torch::kInt64);
    case VoxelType::kUInt64: {
      const auto* in = reinterpret_cast<const std::uint64_t*>(bytes.data_ptr<std::uint8_t>());
      const std::int64_t count = bytes.numel() / 8;
      for (std::int64_t i = 0; i < count; ++i) {
        if (in[i] > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
          throw Error(path.string() + ": a uint64 voxel value exceeds the int64 range");
        }
      }
      return bytes.view(torch::kInt64);
    }
  }
  throw Error(path.string() + ": unknown voxel type");
}

}  // namespace samri::io::detail
