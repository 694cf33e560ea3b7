#include "samri/model/stored_zip_record.h"

#include <cstdint>
#include <cstring>

namespace samri::model {
namespace {

// Zip local file header: signature, then fields at these offsets (little-endian).
constexpr std::size_t kHeaderSize = 30;
constexpr std::size_t kFlags = 6, kMethod = 8, kCompressedSize = 18, kSize = 22, kNameLength = 26,
                      kExtraLength = 28;
constexpr std::uint64_t kEncrypted = 1, kSizesAfterData = 8;
constexpr std::size_t kAlignment = 64;

std::uint64_t le(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// `name` itself, or `name` inside the archive's top folder ("archive/data/0" for "data/0").
bool names(const unsigned char* text, std::size_t length, const std::string& name) {
  if (length < name.size() ||
      std::memcmp(text + length - name.size(), name.data(), name.size()) != 0) {
    return false;
  }
  return length == name.size() || text[length - name.size() - 1] == '/';
}

// The local header of the record whose data starts at `data_offset`, or nullptr.
const unsigned char* local_header(const unsigned char* file, std::size_t data_offset,
                                  const std::string& name) {
  // The name and the extra field are at most 64 KiB each.
  const std::size_t nearest = kHeaderSize + name.size(), farthest = kHeaderSize + 2 * 0xFFFFu;
  for (std::size_t back = nearest; back <= farthest && back <= data_offset; ++back) {
    const unsigned char* h = file + data_offset - back;
    if (std::memcmp(h, "PK\x03\x04", 4) != 0) continue;
    const std::size_t name_length = le(h + kNameLength, 2);
    if (kHeaderSize + name_length + le(h + kExtraLength, 2) != back) continue;
    if (names(h + kHeaderSize, name_length, name)) return h;
  }
  return nullptr;
}

// The data descriptor after the data: an optional signature, the CRC, then both sizes in 4 bytes
// each (or 8 in zip64).
bool descriptor_says(const unsigned char* p, std::size_t available, std::size_t size) {
  if (available >= 4 && std::memcmp(p, "PK\x07\x08", 4) == 0) {
    p += 4;
    available -= 4;
  }
  if (available >= 12 && le(p + 4, 4) == size && le(p + 8, 4) == size) return true;
  return available >= 20 && le(p + 4, 8) == size && le(p + 12, 8) == size;
}

}  // namespace

bool is_stored_zip_record(const unsigned char* file, std::size_t file_size, std::size_t data_offset,
                          const std::string& name, std::size_t size) {
  if (data_offset % kAlignment != 0 || data_offset > file_size || size > file_size - data_offset) {
    return false;
  }
  const unsigned char* h = local_header(file, data_offset, name);
  if (!h) return false;
  const std::uint64_t flags = le(h + kFlags, 2);
  if ((flags & kEncrypted) != 0 || le(h + kMethod, 2) != 0) return false;
  if ((flags & kSizesAfterData) == 0) {
    return le(h + kCompressedSize, 4) == size && le(h + kSize, 4) == size;
  }
  const std::size_t end = data_offset + size;
  return descriptor_says(file + end, file_size - end, size);
}

}  // namespace samri::model
