#pragma once

#include <cstdint>
#include <string>

namespace samri::data {

// A patient's position in [0, 1): the first 53 bits of SHA-256("dataset/patient/seed") (seed in
// decimal) as a big-endian integer divided by 2^53. It depends on nothing else, so adding patients
// or datasets never moves an existing patient to another split.
double patient_hash_unit(const std::string& dataset, const std::string& patient,
                         std::uint64_t seed);

// "train" if u < train_fraction, "val" if u < train_fraction + val_fraction, else "test", where u
// is patient_hash_unit(dataset, patient, seed).
std::string patient_split(const std::string& dataset, const std::string& patient,
                          std::uint64_t seed, double train_fraction = 0.8,
                          double val_fraction = 0.1);

}  // namespace samri::data
