#include "samri/embed/embed_options.h"

#include <algorithm>
#include <sstream>

#include "samri/core/error.h"

namespace samri::embed {

std::pair<int, int> parse_shard_spec(const std::string& text) {
  const auto slash = text.find('/');
  auto number = [&](const std::string& part) {
    if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos ||
        part.size() > 6) {
      throw Error("--shard '" + text + "': expected I/N with 0 <= I < N (e.g. 0/4)");
    }
    return std::stoi(part);
  };
  if (slash == std::string::npos) {
    throw Error("--shard '" + text + "': expected I/N with 0 <= I < N (e.g. 0/4)");
  }
  const int index = number(text.substr(0, slash));
  const int count = number(text.substr(slash + 1));
  if (count < 1 || index >= count) {
    throw Error("--shard '" + text + "': part " + std::to_string(index) + " of " +
                std::to_string(count) + " does not exist (I is 0-based: 0 <= I < N)");
  }
  return {index, count};
}

std::vector<std::string> parse_splits(const std::string& text) {
  std::vector<std::string> splits;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item != "train" && item != "val" && item != "test") {
      throw Error("--splits: unknown split '" + item + "' (expected train, val, test)");
    }
    if (std::find(splits.begin(), splits.end(), item) == splits.end()) splits.push_back(item);
  }
  if (splits.empty()) throw Error("--splits: name at least one of train, val, test");
  return splits;
}

}  // namespace samri::embed
