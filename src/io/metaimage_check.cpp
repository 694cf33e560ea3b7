#include <zlib.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "file_completeness.h"
#include "samri/core/error.h"

namespace samri::io::detail {

namespace fs = std::filesystem;

namespace {

struct MetaHeader {
  std::map<std::string, std::string> fields;
  std::int64_t data_start = 0;  // byte after the ElementDataFile line
};

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

// "Key = Value" lines up to ElementDataFile, which ends the header.
MetaHeader read_meta_header(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  MetaHeader header;
  std::string line;
  while (std::getline(in, line)) {
    const auto equals = line.find('=');
    if (equals == std::string::npos) continue;
    const std::string key = trim(line.substr(0, equals));
    header.fields[key] = trim(line.substr(equals + 1));
    if (key == "ElementDataFile") {
      header.data_start = in.eof() ? -1 : static_cast<std::int64_t>(in.tellg());
      return header;
    }
  }
  throw Error(path.string() + ": MetaImage header without ElementDataFile");
}

// The number of bytes the zlib (or gzip) stream starting at `offset` inflates to.
std::int64_t inflated_size(const fs::path& file, std::int64_t offset) {
  std::ifstream in(file, std::ios::binary);
  in.seekg(offset);
  z_stream stream{};
  if (inflateInit2(&stream, 15 + 32) != Z_OK) throw Error(file.string() + ": zlib failed");
  std::vector<unsigned char> input(1 << 16), output(1 << 16);
  std::int64_t total = 0;
  int status = Z_OK;
  while (status != Z_STREAM_END) {
    in.read(reinterpret_cast<char*>(input.data()), static_cast<std::streamsize>(input.size()));
    stream.next_in = input.data();
    stream.avail_in = static_cast<uInt>(in.gcount());
    if (stream.avail_in == 0) break;
    do {
      stream.next_out = output.data();
      stream.avail_out = static_cast<uInt>(output.size());
      status = inflate(&stream, Z_NO_FLUSH);
      if (status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR) {
        inflateEnd(&stream);
        throw Error(file.string() + ": corrupt compressed voxel data");
      }
      total += static_cast<std::int64_t>(output.size() - stream.avail_out);
    } while (stream.avail_out == 0 && status != Z_STREAM_END);
  }
  inflateEnd(&stream);
  return total;
}

void check_data_file(const fs::path& file, std::int64_t offset, bool compressed,
                     std::int64_t expected_bytes, const fs::path& header_path) {
  std::error_code ec;
  const auto size = static_cast<std::int64_t>(fs::file_size(file, ec));
  if (ec) throw Error(header_path.string() + ": its data file " + file.string() + " is missing");
  const std::int64_t found = compressed ? inflated_size(file, offset) : size - offset;
  if (offset < 0 || found < expected_bytes) {
    throw Error(header_path.string() + ": truncated: " + std::to_string(expected_bytes) +
                " bytes of voxel data expected, " +
                std::to_string(std::max<std::int64_t>(found, 0)) + " found");
  }
}

}  // namespace

void check_metaimage_complete(const fs::path& path, std::int64_t expected_bytes) {
  const MetaHeader header = read_meta_header(path);
  const auto& fields = header.fields;
  const auto compressed_field = fields.find("CompressedData");
  const bool compressed = compressed_field != fields.end() && (compressed_field->second == "True" ||
                                                               compressed_field->second == "true");
  const std::string data_file = fields.at("ElementDataFile");
  if (data_file == "LOCAL" || data_file == "Local" || data_file == "local") {
    check_data_file(path, header.data_start, compressed, expected_bytes, path);
  } else if (data_file.find("LIST") != 0 && data_file.find('%') == std::string::npos &&
             fields.count("HeaderSize") == 0) {
    // One external file (.raw, .zraw) next to the header; lists and patterns are left to ITK.
    check_data_file(path.parent_path() / data_file, 0, compressed, expected_bytes, path);
  }
}

}  // namespace samri::io::detail
