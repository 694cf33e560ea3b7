#include "samri/infer/infer_options.h"

#include <cstdio>

#include "samri/core/error.h"

namespace samri::infer {

std::pair<std::int64_t, std::int64_t> parse_slice_range(const std::string& text) {
  long long begin = 0, end = 0;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%lld:%lld%c", &begin, &end, &extra) != 2 || begin < 0 ||
      end <= begin) {
    throw Error("--slices '" + text + "': expected A:B with 0 <= A < B (0-based, half-open)");
  }
  return {begin, end};
}

}  // namespace samri::infer
