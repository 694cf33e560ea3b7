#pragma once

// Internal to samri_io: reading files that may be gzip-compressed (zlib reads plain files
// transparently), with every short read or corrupt stream reported as samri::Error.

#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <memory>

namespace samri::io::detail {

struct GzCloser {
  void operator()(gzFile_s* file) const { gzclose(file); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

GzFile open_gz(const std::filesystem::path& path);

// Reads up to `count` bytes and returns how many there were; throws on corrupt data.
std::int64_t read_up_to(gzFile_s* file, void* out, std::int64_t count,
                        const std::filesystem::path& path);

// Reads exactly `count` bytes, or throws "truncated: <what> needs N bytes, the file holds M".
void read_exactly(gzFile_s* file, void* out, std::int64_t count, const std::filesystem::path& path,
                  const char* what);

// Skips forward to byte `offset` of the (uncompressed) stream.
void skip_to(gzFile_s* file, std::int64_t offset, const std::filesystem::path& path);

// Reads whatever follows to the end, so that a damaged gzip trailer (CRC) is noticed.
void read_to_end(gzFile_s* file, const std::filesystem::path& path);

}  // namespace samri::io::detail
