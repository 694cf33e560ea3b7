#include "samri/core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace samri {
namespace {

#ifdef MADV_POPULATE_READ
constexpr int kPopulateRead = MADV_POPULATE_READ;
#else
constexpr int kPopulateRead = 22;  // Linux's value, for older C libraries' headers
#endif

}  // namespace

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat st {};
  void* data = MAP_FAILED;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    // Private and writable: copy-on-write. MAP_POPULATE would copy every page of such a mapping.
    data = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ | PROT_WRITE,
                  MAP_PRIVATE, fd, 0);
  }
  ::close(fd);  // the mapping keeps the file
  if (data == MAP_FAILED) return nullptr;
  const auto size = static_cast<std::size_t>(st.st_size);
  // Callers read every byte: map the cached pages now, in one call, instead of one fault per
  // page (Linux 5.14+; older kernels refuse it and are only asked to read ahead).
  if (::madvise(data, size, kPopulateRead) != 0) ::madvise(data, size, MADV_WILLNEED);
  return std::shared_ptr<MappedFile>(new MappedFile(static_cast<unsigned char*>(data), size));
}

MappedFile::~MappedFile() { ::munmap(data_, size_); }

}  // namespace samri
