#pragma once

#include <string>

namespace samri::test {

// The Colin27 crop (write_colin_crop_list, one patient "colin", dataset "colin") preprocessed into
// ROOT/slices and embedded by the tiny model into an fp32 store at ROOT/store, so that stored
// embeddings equal what the encoder gives. `split` puts the one patient in train|val|test ("" =
// by hash, as samri-preprocess does).
void make_tiny_colin_store(const std::string& root, const std::string& split = "");

}  // namespace samri::test
