#include "gz_file.h"

#include <algorithm>
#include <string>
#include <vector>

#include "samri/core/error.h"

namespace samri::io::detail {

namespace fs = std::filesystem;

GzFile open_gz(const fs::path& path) {
  GzFile file(gzopen(path.c_str(), "rb"));
  if (!file) throw Error(path.string() + ": cannot be opened");
  gzbuffer(file.get(), 1 << 17);
  return file;
}

std::int64_t read_up_to(gzFile_s* file, void* out, std::int64_t count, const fs::path& path) {
  auto* bytes = static_cast<char*>(out);
  std::int64_t done = 0;
  while (done < count) {
    const auto chunk = static_cast<unsigned>(std::min<std::int64_t>(count - done, 1 << 30));
    const int got = gzread(file, bytes + done, chunk);
    if (got < 0) {
      int code = 0;
      throw Error(path.string() + ": corrupt compressed data (" + gzerror(file, &code) + ")");
    }
    if (got == 0) break;
    done += got;
  }
  // zlib reports a gzip stream cut short (Z_BUF_ERROR) only through gzerror.
  int code = 0;
  const char* message = gzerror(file, &code);
  if (code == Z_BUF_ERROR) {
    throw Error(path.string() + ": truncated: the compressed data ends early");
  }
  if (code != Z_OK) throw Error(path.string() + ": corrupt compressed data (" + message + ")");
  return done;
}

void read_exactly(gzFile_s* file, void* out, std::int64_t count, const fs::path& path,
                  const char* what) {
  const std::int64_t done = read_up_to(file, out, count, path);
  if (done < count) {
    throw Error(path.string() + ": truncated: " + what + " needs " + std::to_string(count) +
                " bytes, the file holds " + std::to_string(done));
  }
}

void skip_to(gzFile_s* file, std::int64_t offset, const fs::path& path) {
  const std::int64_t here = gztell(file);
  if (offset < here) throw Error(path.string() + ": invalid data offset");
  std::vector<char> scratch(
      static_cast<std::size_t>(std::min<std::int64_t>(offset - here, 1 << 16)));
  for (std::int64_t left = offset - here; left > 0;) {
    const std::int64_t step =
        std::min<std::int64_t>(left, static_cast<std::int64_t>(scratch.size()));
    read_exactly(file, scratch.data(), step, path, "the header and extensions");
    left -= step;
  }
}

void read_to_end(gzFile_s* file, const fs::path& path) {
  std::vector<char> scratch(1 << 16);
  while (read_up_to(file, scratch.data(), static_cast<std::int64_t>(scratch.size()), path) ==
         static_cast<std::int64_t>(scratch.size())) {
  }
}

}  // namespace samri::io::detail
