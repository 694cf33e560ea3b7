#include "samri/core/atomic_file.h"

#include <unistd.h>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "samri/core/error.h"

namespace samri {

namespace fs = std::filesystem;

fs::path temporary_sibling(const fs::path& path) {
  static std::atomic<unsigned> counter{0};
  const std::string name = path.filename().string();
  // Keep every extension (".nii.gz") after the temporary marker.
  const auto dot = name.find('.', name.empty() ? 0 : 1);
  const std::string stem = dot == std::string::npos ? name : name.substr(0, dot);
  const std::string ext = dot == std::string::npos ? "" : name.substr(dot);
  const std::string tmp =
      "." + stem + ".tmp" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ext;
  return path.parent_path() / tmp;
}

void write_atomically(const fs::path& path, const std::function<void(const fs::path&)>& write) {
  if (path.empty()) throw Error("output path is empty");
  const fs::path parent = path.parent_path();
  if (!parent.empty() && !fs::is_directory(parent)) {
    throw Error(path.string() + ": output folder " + parent.string() + " does not exist");
  }
  const fs::path tmp = temporary_sibling(path);
  try {
    write(tmp);
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error(path.string() + ": cannot move the finished file into place: " + ec.message());
  }
}

std::string read_text_file(const fs::path& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open the " + what);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(path.string() + ": cannot read the " + what);
  return text;
}

void write_text_atomically(const fs::path& path, const std::string& text) {
  write_atomically(path, [&](const fs::path& tmp) {
    errno = 0;
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    if (!out.flush()) {
      const int err = errno;
      throw Error(path.string() + ": cannot write" +
                  (err != 0 ? std::string(" (") + std::strerror(err) + ")" : std::string()));
    }
  });
}

}  // namespace samri
