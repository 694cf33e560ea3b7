#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace samri {

// A whole file mapped copy-on-write: reads come straight from the page cache, and a write to the
// memory gives the process a private page, never changing the file. Files written by
// write_atomically are replaced, not changed in place, so a mapping of the old file stays valid;
// a file truncated in place while mapped makes reads past its new end fault (SIGBUS).
class MappedFile {
 public:
  // nullptr where the file cannot be mapped (empty, or a file system without mmap): callers then
  // read it the ordinary way.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  unsigned char* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  MappedFile(unsigned char* data, std::size_t size) : data_(data), size_(size) {}
  unsigned char* data_;
  std::size_t size_;
};

}  // namespace samri
