#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace samri {

// Incremental SHA-256 (FIPS 180-4), used to report checkpoint digests that users can compare with
// the published ones.
class Sha256 {
 public:
  Sha256();
  void update(const void* data, std::size_t size);
  std::string hex_digest();  // finishes the hash; call once

 private:
  void compress(const std::uint8_t* block);
  std::uint32_t state_[8];
  std::uint8_t buffer_[64];
  std::size_t buffered_ = 0;
  std::uint64_t total_bytes_ = 0;
};

std::string sha256_file(const std::filesystem::path& path);

// sha256_file of a file; of a folder (a DICOM series), the sha256 of its regular files' relative
// names and sha256s, in name order, so that the same series copied elsewhere hashes the same.
std::string sha256_path(const std::filesystem::path& path);

}  // namespace samri
