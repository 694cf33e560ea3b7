#pragma once

#include <optional>
#include <string>

#include <c10/core/ScalarType.h>

namespace samri::model::pickle {

// The dtype of a torch storage class named as a pickle GLOBAL ("torch.FloatStorage"), or nothing
// when the name is not one of the storage types a state_dict may use.
std::optional<c10::ScalarType> storage_dtype(const std::string& global_name);

// The storage class torch.save names for `dtype` ("FloatStorage"), or nothing for dtypes that the
// official layout does not cover (complex, quantised).
std::optional<std::string> storage_class(c10::ScalarType dtype);

}  // namespace samri::model::pickle
