#pragma once

// Helpers shared by the io tests.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "samri/core/error.h"
#include "samri/io/image.h"

namespace samri::io::test {

// Files shipped by Debian packages, used in place (tests skip when a package is missing).
inline const std::string kPydicomFiles = "/usr/lib/python3/dist-packages/pydicom/data/test_files";
inline const std::string kNibabelData = "/usr/lib/python3/dist-packages/nibabel/tests/data";
inline const std::string kMricron = "/usr/share/mricron/templates";

#define SAMRI_SKIP_IF_MISSING(path) \
  if (!std::filesystem::exists(path)) GTEST_SKIP() << (path) << " is not installed"

// Geometry equal within `tolerance`, element by element, with a readable failure.
inline ::testing::AssertionResult same_geometry(const Geometry& actual, const Geometry& expected,
                                                double tolerance) {
  const std::string mismatch = describe_geometry_mismatch(actual, expected, tolerance);
  if (mismatch.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << mismatch;
}

// Runs `read` and checks that it throws samri::Error whose message contains `needle`.
template <typename F>
::testing::AssertionResult throws_error_containing(F&& read, const std::string& needle) {
  try {
    read();
  } catch (const samri::Error& e) {
    if (std::string(e.what()).find(needle) != std::string::npos) {
      return ::testing::AssertionSuccess() << e.what();
    }
    return ::testing::AssertionFailure() << "message '" << e.what() << "' lacks '" << needle << "'";
  }
  return ::testing::AssertionFailure() << "no samri::Error thrown";
}

}  // namespace samri::io::test
