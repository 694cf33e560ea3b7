#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "file_completeness.h"
#include "samri/core/error.h"

namespace samri::io::detail {

namespace fs = std::filesystem;

namespace {

std::vector<unsigned char> file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::uint32_t little_endian(const std::vector<unsigned char>& bytes, std::size_t at, int width) {
  std::uint32_t value = 0;
  for (int b = width - 1; b >= 0; --b) value = (value << 8) | bytes.at(at + b);
  return value;
}

[[noreturn]] void truncated(const fs::path& path, const std::string& what) {
  throw Error(path.string() + ": truncated or corrupt: " + what);
}

// Byte positions of JPEG markers: FF, any FF fill bytes, then the marker code.
class JpegWalker {
 public:
  JpegWalker(const fs::path& path) : path_(path), bytes_(file_bytes(path)) {}

  void walk() {
    if (bytes_.size() < 4 || bytes_[0] != 0xFF || bytes_[1] != 0xD8) {
      truncated(path_, "no JPEG start-of-image marker");
    }
    std::size_t at = 2;
    for (;;) {
      const unsigned marker = next_marker(at);
      if (marker == 0xD9) return;                                          // end of image
      if ((marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) continue;  // no length
      if (at + 2 > bytes_.size()) truncated(path_, "a JPEG segment is cut short");
      const std::size_t length = (bytes_[at] << 8) | bytes_[at + 1];
      if (length < 2 || at + length > bytes_.size()) {
        truncated(path_, "a JPEG segment is cut short");
      }
      at += length;
      if (marker == 0xDA) at = end_of_scan(at);
    }
  }

 private:
  unsigned next_marker(std::size_t& at) const {
    if (at >= bytes_.size()) truncated(path_, "the JPEG data ends before its end-of-image marker");
    if (bytes_[at] != 0xFF) truncated(path_, "a JPEG marker is missing");
    while (at < bytes_.size() && bytes_[at] == 0xFF) ++at;
    if (at >= bytes_.size()) truncated(path_, "the JPEG data ends before its end-of-image marker");
    return bytes_[at++];
  }

  // Entropy-coded data runs until an FF that is neither stuffing (FF 00) nor a restart marker.
  std::size_t end_of_scan(std::size_t at) const {
    for (; at + 1 < bytes_.size(); ++at) {
      if (bytes_[at] != 0xFF) continue;
      const unsigned next = bytes_[at + 1];
      if (next != 0x00 && next != 0xFF && !(next >= 0xD0 && next <= 0xD7)) return at;
    }
    truncated(path_, "the JPEG data ends before its end-of-image marker");
  }

  const fs::path& path_;
  std::vector<unsigned char> bytes_;
};

}  // namespace

void check_bmp_complete(const fs::path& path) {
  const auto bytes = file_bytes(path);
  if (bytes.size() < 26 || bytes[0] != 'B' || bytes[1] != 'M') truncated(path, "no BMP header");
  const std::uint32_t data_offset = little_endian(bytes, 10, 4);
  const std::uint32_t info_size = little_endian(bytes, 14, 4);
  std::int64_t width = 0, height = 0, bits = 0, compression = 0, image_size = 0;
  if (info_size == 12) {  // OS/2 core header
    width = little_endian(bytes, 18, 2);
    height = little_endian(bytes, 20, 2);
    bits = little_endian(bytes, 24, 2);
  } else {
    if (bytes.size() < 38) truncated(path, "the BMP header is cut short");
    width = static_cast<std::int32_t>(little_endian(bytes, 18, 4));
    height = std::llabs(static_cast<std::int32_t>(little_endian(bytes, 22, 4)));
    bits = little_endian(bytes, 28, 2);
    compression = little_endian(bytes, 30, 4);
    image_size = little_endian(bytes, 34, 4);
  }
  // Uncompressed rows are padded to 4 bytes; RLE data states its size.
  const bool uncompressed = compression == 0 || compression == 3 || compression == 6;
  const std::int64_t needed = uncompressed ? (width * bits + 31) / 32 * 4 * height : image_size;
  if (static_cast<std::int64_t>(bytes.size()) < static_cast<std::int64_t>(data_offset) + needed) {
    truncated(path, "the BMP pixel data needs " + std::to_string(needed) + " bytes");
  }
}

void check_jpeg_complete(const fs::path& path) { JpegWalker(path).walk(); }

}  // namespace samri::io::detail
