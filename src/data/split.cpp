#include "samri/data/split.h"

#include "samri/core/sha256.h"

namespace samri::data {

double patient_hash_unit(const std::string& dataset, const std::string& patient,
                         std::uint64_t seed) {
  const std::string key = dataset + "/" + patient + "/" + std::to_string(seed);
  Sha256 hash;
  hash.update(key.data(), key.size());
  const std::string hex = hash.hex_digest();
  const std::uint64_t top = std::stoull(hex.substr(0, 16), nullptr, 16);
  return static_cast<double>(top >> 11) / 9007199254740992.0;  // 53 bits: exact in [0, 1)
}

std::string patient_split(const std::string& dataset, const std::string& patient,
                          std::uint64_t seed, double train_fraction, double val_fraction) {
  const double u = patient_hash_unit(dataset, patient, seed);
  if (u < train_fraction) return "train";
  if (u < train_fraction + val_fraction) return "val";
  return "test";
}

}  // namespace samri::data
