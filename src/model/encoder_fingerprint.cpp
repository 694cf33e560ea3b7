#include "samri/model/encoder_fingerprint.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "samri/core/error.h"
#include "samri/core/fast_hash.h"

namespace samri::model {

namespace {

// Chains `value` into `acc`: the hash of the pair.
std::uint64_t chain(std::uint64_t acc, std::uint64_t value, std::uint64_t seed) {
  const std::uint64_t pair[2] = {acc, value};
  return fast_hash64(pair, sizeof pair, seed);
}

}  // namespace

std::string encoder_fingerprint(const StateDict& state_dict) {
  std::vector<const std::pair<std::string, torch::Tensor>*> items;
  for (const auto& item : state_dict.items()) {
    if (item.first.rfind("image_encoder.", 0) == 0) items.push_back(&item);
  }
  if (items.empty()) throw Error("the checkpoint has no image_encoder weights to fingerprint");
  std::sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
  std::uint64_t lanes[2] = {0, 0};
  for (const auto* item : items) {
    const torch::Tensor t = item->second.contiguous();
    const std::string header =
        item->first + "|" + std::string(c10::toString(t.scalar_type())) + "|" + c10::str(t.sizes());
    const std::uint64_t h = fast_hash64(t.data_ptr(), t.numel() * t.element_size(),
                                        fast_hash64(header.data(), header.size(), 0));
    lanes[0] = chain(lanes[0], h, 1);
    lanes[1] = chain(lanes[1], h, 2);
  }
  char hex[40];
  std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(lanes[0]),
                static_cast<unsigned long long>(lanes[1]));
  return std::string("enc1-") + hex;
}

}  // namespace samri::model
