#include "dicom_file.h"

#include <array>
#include <cstdio>
#include <fstream>
#include <limits>
#include <stdexcept>

#include "samri/core/error.h"

namespace samri::io::detail {

namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t kUndefinedLength = 0xFFFFFFFFu;
constexpr std::uint32_t kItem = 0xFFFEE000u;
constexpr std::uint32_t kItemEnd = 0xFFFEE00Du;
constexpr std::uint32_t kSequenceEnd = 0xFFFEE0DDu;
constexpr std::uint32_t kPixelData = 0x7FE00010u;
constexpr std::uint64_t kUntilItemEnd = std::numeric_limits<std::uint64_t>::max();
constexpr int kMaxSequenceDepth = 32;

// A problem with the file's structure; turned into samri::Error with the path at the top.
struct Malformed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string hex_tag(std::uint32_t tag) {
  char text[16];
  std::snprintf(text, sizeof text, "(%04X,%04X)", tag >> 16, tag & 0xFFFFu);
  return text;
}

struct Encoding {
  bool little_endian = true;
  bool explicit_vr = true;
};

// A bounded cursor over the file: every read first checks that the bytes exist.
class ByteReader {
 public:
  explicit ByteReader(const fs::path& path) : in_(path, std::ios::binary) {
    if (!in_) throw Malformed("cannot be opened");
    in_.seekg(0, std::ios::end);
    size_ = static_cast<std::uint64_t>(in_.tellg());
    in_.seekg(0);
  }

  std::uint64_t position() const { return position_; }
  std::uint64_t size() const { return size_; }

  void need(std::uint64_t count, const std::string& what) const {
    if (count > size_ - position_) {
      throw Malformed("truncated: " + what + " at byte " + std::to_string(position_) + " needs " +
                      std::to_string(count) + " bytes, but the file ends after " +
                      std::to_string(size_ - position_));
    }
  }

  std::string bytes(std::uint64_t count, const std::string& what) {
    need(count, what);
    std::string value(count, '\0');
    in_.read(value.data(), static_cast<std::streamsize>(count));
    if (!in_) throw Malformed("read error at byte " + std::to_string(position_));
    position_ += count;
    return value;
  }

  void seek(std::uint64_t position) {
    position_ = position;
    in_.seekg(static_cast<std::streamoff>(position_));
  }

  void skip(std::uint64_t count, const std::string& what) {
    need(count, what);
    position_ += count;
    in_.seekg(static_cast<std::streamoff>(position_));
  }

  std::uint16_t u16(bool little, const std::string& what) {
    const auto b = bytes(2, what);
    const auto lo = static_cast<std::uint8_t>(b[little ? 0 : 1]);
    const auto hi = static_cast<std::uint8_t>(b[little ? 1 : 0]);
    return static_cast<std::uint16_t>(lo | (hi << 8));
  }

  std::uint32_t u32(bool little, const std::string& what) {
    const std::uint32_t first = u16(little, what);
    const std::uint32_t second = u16(little, what);
    return little ? (first | (second << 16)) : ((first << 16) | second);
  }

 private:
  std::ifstream in_;
  std::uint64_t size_ = 0;
  std::uint64_t position_ = 0;
};

struct ElementHeader {
  std::uint32_t tag = 0;
  std::string vr;  // empty for items and delimiters, and in implicit VR
  std::uint32_t length = 0;
  std::uint64_t offset = 0;
};

bool has_long_length(const std::string& vr) {
  static const std::array<const char*, 13> kLong = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ",
                                                    "SV", "UC", "UN", "UR", "UT", "UV"};
  for (const char* candidate : kLong) {
    if (vr == candidate) return true;
  }
  return false;
}

ElementHeader read_header(ByteReader& reader, Encoding encoding) {
  ElementHeader header;
  header.offset = reader.position();
  const std::uint32_t group = reader.u16(encoding.little_endian, "an element tag");
  const std::uint32_t element = reader.u16(encoding.little_endian, "an element tag");
  header.tag = (group << 16) | element;
  const std::string what = "element " + hex_tag(header.tag);
  if (group == 0xFFFE || !encoding.explicit_vr) {
    header.length = reader.u32(encoding.little_endian, what);
    return header;
  }
  header.vr = reader.bytes(2, what);
  if (header.vr[0] < 'A' || header.vr[0] > 'Z' || header.vr[1] < 'A' || header.vr[1] > 'Z') {
    throw Malformed(what + " at byte " + std::to_string(header.offset) +
                    " has no valid value representation");
  }
  if (has_long_length(header.vr)) {
    reader.skip(2, what);
    header.length = reader.u32(encoding.little_endian, what);
  } else {
    header.length = reader.u16(encoding.little_endian, what);
  }
  return header;
}

std::string trim(std::string text) {
  const auto last = text.find_last_not_of(std::string(" \0", 2));
  text.erase(last == std::string::npos ? 0 : last + 1);
  const auto first = text.find_first_not_of(' ');
  return first == std::string::npos ? "" : text.substr(first);
}

std::int64_t parse_integer_string(const std::string& text, const std::string& what) {
  try {
    return std::stoll(trim(text));
  } catch (const std::exception&) {
    throw Malformed(what + " is not a number: '" + trim(text) + "'");
  }
}

class DatasetWalker {
 public:
  DatasetWalker(ByteReader& reader, DicomFileInfo& info) : reader_(reader), info_(info) {}

  // The length of native (not encapsulated) top-level pixel data.
  std::uint64_t pixel_data_length() const { return pixel_data_length_; }

  // Walks elements until `end` (a byte offset), or until an item end marker for kUntilItemEnd.
  void walk(Encoding encoding, std::uint64_t end, bool top_level, int depth) {
    while (reader_.position() < end) {
      const ElementHeader header = read_header(reader_, encoding);
      if (header.tag == kItemEnd && end == kUntilItemEnd) return;
      if ((header.tag >> 16) == 0xFFFE) {
        throw Malformed("unexpected item marker " + hex_tag(header.tag) + " at byte " +
                        std::to_string(header.offset));
      }
      if (header.length == kUndefinedLength) {
        walk_undefined_length(header, encoding, top_level, depth);
      } else {
        value(header, encoding, top_level);
      }
    }
    if (end != kUntilItemEnd && reader_.position() != end) {
      throw Malformed("an element runs past the end of its sequence item");
    }
  }

 private:
  void walk_undefined_length(const ElementHeader& header, Encoding encoding, bool top_level,
                             int depth) {
    if (header.tag == kPixelData) {
      if (top_level) info_.has_pixel_data = info_.encapsulated = true;
      walk_fragments();
      return;
    }
    // An undefined-length UN element holds implicit VR little endian data (PS3.5 6.2.2).
    const Encoding inner = header.vr == "UN" ? Encoding{true, false} : encoding;
    walk_sequence(inner, depth + 1);
  }

  void walk_sequence(Encoding encoding, int depth) {
    if (depth > kMaxSequenceDepth) throw Malformed("sequences are nested too deeply");
    for (;;) {
      const ElementHeader item = read_header(reader_, encoding);
      if (item.tag == kSequenceEnd) return;
      if (item.tag != kItem) {
        throw Malformed("expected a sequence item at byte " + std::to_string(item.offset) +
                        ", found " + hex_tag(item.tag));
      }
      if (item.length == kUndefinedLength) {
        walk(encoding, kUntilItemEnd, false, depth);
      } else {
        reader_.skip(item.length, "a sequence item");
      }
    }
  }

  void walk_fragments() {
    for (;;) {
      const ElementHeader item = read_header(reader_, Encoding{true, false});
      if (item.tag == kSequenceEnd) return;
      if (item.tag != kItem || item.length == kUndefinedLength) {
        throw Malformed("bad pixel data fragment at byte " + std::to_string(item.offset));
      }
      reader_.skip(item.length, "a pixel data fragment");
    }
  }

  void value(const ElementHeader& header, Encoding encoding, bool top_level) {
    const std::string what = "element " + hex_tag(header.tag);
    if (!top_level || !is_recorded(header.tag)) {
      reader_.skip(header.length, what);
      return;
    }
    if (header.tag == kPixelData) {
      reader_.need(header.length, "the pixel data");
      info_.has_pixel_data = true;
      pixel_data_length_ = header.length;
      reader_.skip(header.length, what);
      return;
    }
    const std::string text = reader_.bytes(header.length, what);
    record(header.tag, text, encoding, what);
  }

  static bool is_recorded(std::uint32_t tag) {
    switch (tag) {
      case 0x0020000Eu:
      case 0x00200013u:
      case 0x00200032u:
      case 0x00200037u:
      case 0x00280002u:
      case 0x00280008u:
      case 0x00280010u:
      case 0x00280011u:
      case 0x00280100u:
      case kPixelData:
        return true;
      default:
        return false;
    }
  }

  static std::int64_t unsigned_short(const std::string& text, Encoding encoding,
                                     const std::string& what) {
    if (text.size() != 2) throw Malformed(what + " should hold 2 bytes");
    const auto lo = static_cast<std::uint8_t>(text[encoding.little_endian ? 0 : 1]);
    const auto hi = static_cast<std::uint8_t>(text[encoding.little_endian ? 1 : 0]);
    return lo | (hi << 8);
  }

  void record(std::uint32_t tag, const std::string& text, Encoding encoding,
              const std::string& what) {
    switch (tag) {
      case 0x0020000Eu:
        info_.series_uid = trim(text);
        break;
      case 0x00200013u:
        if (!trim(text).empty()) info_.instance_number = parse_integer_string(text, what);
        break;
      case 0x00200032u:
        info_.image_position = trim(text);
        break;
      case 0x00200037u:
        info_.image_orientation = trim(text);
        break;
      case 0x00280002u:
        info_.samples_per_pixel = unsigned_short(text, encoding, what);
        break;
      case 0x00280008u:
        info_.frames = parse_integer_string(text, what);
        break;
      case 0x00280010u:
        info_.rows = unsigned_short(text, encoding, what);
        break;
      case 0x00280011u:
        info_.columns = unsigned_short(text, encoding, what);
        break;
      case 0x00280100u:
        info_.bits_allocated = unsigned_short(text, encoding, what);
        break;
      default:
        break;
    }
  }

 private:
  ByteReader& reader_;
  DicomFileInfo& info_;
  std::uint64_t pixel_data_length_ = 0;
};

// Reads the file meta information (group 0002, always explicit VR little endian) and returns the
// transfer syntax; leaves the cursor on the first dataset element.
std::string read_meta_information(ByteReader& reader) {
  reader.skip(132, "the preamble");
  std::string transfer_syntax;
  while (reader.position() < reader.size()) {
    const std::uint64_t start = reader.position();
    if (reader.u16(true, "an element tag") != 0x0002) {
      reader.seek(start);
      break;
    }
    reader.seek(start);
    const ElementHeader header = read_header(reader, Encoding{true, true});
    const std::string what = "meta element " + hex_tag(header.tag);
    if (header.length == kUndefinedLength) throw Malformed(what + " has an undefined length");
    const std::string text = reader.bytes(header.length, what);
    if (header.tag == 0x00020010u) transfer_syntax = trim(text);
  }
  if (transfer_syntax.empty()) throw Malformed("no transfer syntax in its file meta information");
  return transfer_syntax;
}

Encoding dataset_encoding(const std::string& transfer_syntax) {
  if (transfer_syntax == "1.2.840.10008.1.2") return {true, false};
  if (transfer_syntax == "1.2.840.10008.1.2.2") return {false, true};
  if (transfer_syntax == "1.2.840.10008.1.2.1.99") {
    throw Malformed("uses the deflated transfer syntax, which is not supported");
  }
  return {true, true};
}

std::int64_t native_pixel_bytes(const DicomFileInfo& info) {
  const std::int64_t samples = info.rows * info.columns * info.frames * info.samples_per_pixel;
  return info.bits_allocated == 1 ? (samples + 7) / 8 : samples * (info.bits_allocated / 8);
}

void check_pixel_data(const DicomFileInfo& info, std::uint64_t length) {
  if (!info.has_pixel_data || info.encapsulated) return;
  if (info.rows <= 0 || info.columns <= 0 || info.frames <= 0 || info.bits_allocated <= 0) {
    throw Malformed("has pixel data but no valid rows, columns, frames or bits allocated");
  }
  const std::int64_t expected = native_pixel_bytes(info);
  if (static_cast<std::int64_t>(length) < expected) {
    throw Malformed("truncated pixel data: " + std::to_string(length) + " bytes, but " +
                    std::to_string(info.rows) + " rows x " + std::to_string(info.columns) +
                    " columns x " + std::to_string(info.frames) + " frames need " +
                    std::to_string(expected));
  }
}

}  // namespace

bool has_dicom_preamble(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {0, 0, 0, 0};
  in.seekg(128);
  in.read(magic, 4);
  return in && std::string(magic, 4) == "DICM";
}

DicomFileInfo inspect_dicom_file(const fs::path& path) {
  try {
    ByteReader reader(path);
    DicomFileInfo info;
    info.transfer_syntax = read_meta_information(reader);
    DatasetWalker walker(reader, info);
    walker.walk(dataset_encoding(info.transfer_syntax), reader.size(), true, 0);
    check_pixel_data(info, walker.pixel_data_length());
    return info;
  } catch (const Malformed& problem) {
    throw Error(path.string() + ": damaged or unsupported DICOM file: " + problem.what());
  }
}

}  // namespace samri::io::detail
