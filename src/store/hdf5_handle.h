#pragma once

#include <hdf5.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>

#include "samri/core/error.h"

namespace samri::store {

// Debian's HDF5 is built without thread safety: every HDF5 call in the project runs under this
// one lock. The first use also turns off HDF5's own error printing (errors become samri::Error).
inline std::mutex& hdf5_mutex() {
  static std::mutex mutex;
  static const bool silenced = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)silenced;
  return mutex;
}

// ": <strerror>" when the C library left a reason (ENOSPC, EFBIG, ...), else "".
inline std::string io_error_suffix() {
  const int err = errno;
  return err != 0 ? std::string(" (") + std::strerror(err) + ")" : std::string();
}

// An HDF5 identifier closed when it goes out of scope; a negative id (a failed call) throws
// samri::Error with `what`.
class Hid {
 public:
  using Closer = herr_t (*)(hid_t);
  Hid(hid_t id, Closer closer, const std::string& what) : id_(id), closer_(closer) {
    if (id_ < 0) throw Error(what);
  }
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  Hid(Hid&& other) noexcept : id_(other.id_), closer_(other.closer_) { other.id_ = -1; }
  ~Hid() { close(); }
  herr_t close() {
    herr_t rc = 0;
    if (id_ >= 0) rc = closer_(id_);
    id_ = -1;
    return rc;
  }
  operator hid_t() const { return id_; }  // NOLINT: used where HDF5 wants an id

 private:
  hid_t id_;
  Closer closer_;
};

}  // namespace samri::store
