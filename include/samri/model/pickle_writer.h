#pragma once

#include <string>

#include "samri/model/state_dict.h"

namespace samri::model::pickle {

// The data.pkl that torch.save writes for `state_dict`: a protocol-2 pickle of a
// collections.OrderedDict with a _metadata attribute, whose i-th tensor is
// torch._utils._rebuild_tensor_v2 of storage "i" (record data/i) viewed contiguously from offset 0.
// The storages themselves are written by the caller, one per tensor, contiguous. Throws
// samri::Error for a dtype that has no torch storage class.
std::string state_dict_pickle(const StateDict& state_dict);

}  // namespace samri::model::pickle
