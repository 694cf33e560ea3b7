#include "samri/model/pickle_storage_types.h"

#include <array>
#include <utility>

namespace samri::model::pickle {
namespace {

// The storage classes torch.save writes for the dtypes of a state_dict.
constexpr std::array<std::pair<const char*, c10::ScalarType>, 10> kStorageClasses{{
    {"FloatStorage", c10::ScalarType::Float},
    {"HalfStorage", c10::ScalarType::Half},
    {"BFloat16Storage", c10::ScalarType::BFloat16},
    {"DoubleStorage", c10::ScalarType::Double},
    {"LongStorage", c10::ScalarType::Long},
    {"IntStorage", c10::ScalarType::Int},
    {"ShortStorage", c10::ScalarType::Short},
    {"CharStorage", c10::ScalarType::Char},
    {"ByteStorage", c10::ScalarType::Byte},
    {"BoolStorage", c10::ScalarType::Bool},
}};

}  // namespace

std::optional<c10::ScalarType> storage_dtype(const std::string& global_name) {
  for (const auto& [name, dtype] : kStorageClasses) {
    if (global_name == std::string("torch.") + name) return dtype;
  }
  return std::nullopt;
}

std::optional<std::string> storage_class(c10::ScalarType dtype) {
  for (const auto& [name, candidate] : kStorageClasses) {
    if (candidate == dtype) return std::string(name);
  }
  return std::nullopt;
}

}  // namespace samri::model::pickle
