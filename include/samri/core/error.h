#pragma once

#include <stdexcept>
#include <string>

namespace samri {

// The one exception type of the project. Messages name the file (or option) and the problem, so
// that `main` can print them as they are and exit non-zero.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace samri
