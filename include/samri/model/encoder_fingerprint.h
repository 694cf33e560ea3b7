#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "samri/model/state_dict.h"

namespace samri::model {

// Identifies the image encoder whose embeddings a store holds: a hash of every image_encoder.*
// tensor's name, dtype, shape and bytes, in sorted key order, as "enc1-" + 32 hex digits. A
// fine-tuned SAMRI checkpoint keeps SAM's encoder and so its fingerprint, while the file's
// sha256 changes; converting the weights to another dtype changes it (the encoder's numbers do).
// It is a fast non-cryptographic hash (several GB/s), so that it costs nothing next to loading:
// it guards against accidents, not against forgery. Throws samri::Error if there is no
// image_encoder tensor.
std::string encoder_fingerprint(const StateDict& state_dict);

}  // namespace samri::model
