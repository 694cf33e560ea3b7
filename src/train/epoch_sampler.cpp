#include "samri/train/epoch_sampler.h"

#include <algorithm>
#include <utility>

#include "samri/core/error.h"
#include "samri/train/sample_random.h"

namespace samri::train {

namespace {

// Random streams of one epoch: one per dataset (its draw) and one for the final order.
constexpr std::uint64_t kStreamDraw = 1;
constexpr std::uint64_t kStreamOrder = 2;

void shuffle(std::vector<std::int64_t>& v, SampleRandom& random) {
  for (std::size_t i = v.size(); i > 1; --i) {
    std::swap(v[i - 1], v[random.below(i)]);
  }
}

}  // namespace

EpochSampler::EpochSampler(std::vector<DatasetSamples> datasets, std::int64_t quota,
                           bool keep_large, std::uint64_t seed)
    : datasets_(std::move(datasets)), quota_(quota), keep_large_(keep_large), seed_(seed) {
  std::sort(datasets_.begin(), datasets_.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  for (std::size_t d = 0; d < datasets_.size(); ++d) {
    if (datasets_[d].samples.empty()) continue;
    epoch_size_ += take(d);
  }
  if (epoch_size_ == 0) throw Error("the training set is empty (no training samples)");
}

std::int64_t EpochSampler::take(std::size_t d) const {
  const auto n = static_cast<std::int64_t>(datasets_[d].samples.size());
  if (quota_ <= 0) return n;
  return keep_large_ ? std::max(n, quota_) : quota_;
}

std::vector<std::int64_t> EpochSampler::epoch(std::int64_t epoch) const {
  std::vector<std::int64_t> order;
  order.reserve(static_cast<std::size_t>(epoch_size_));
  for (std::size_t d = 0; d < datasets_.size(); ++d) {
    const auto& pool = datasets_[d].samples;
    if (pool.empty()) continue;
    SampleRandom random(seed_, epoch, static_cast<std::int64_t>(d), kStreamDraw);
    const std::int64_t want = take(d);
    const auto n = static_cast<std::int64_t>(pool.size());
    if (want <= n) {
      // A partial Fisher-Yates shuffle: the first `want` are a subsample without replacement.
      std::vector<std::int64_t> copy = pool;
      for (std::int64_t i = 0; i < want; ++i) {
        const auto j =
            i + static_cast<std::int64_t>(random.below(static_cast<std::uint64_t>(n - i)));
        std::swap(copy[i], copy[j]);
        order.push_back(copy[i]);
      }
    } else {
      for (std::int64_t i = 0; i < want; ++i) {
        order.push_back(pool[random.below(static_cast<std::uint64_t>(n))]);
      }
    }
  }
  SampleRandom random(seed_, epoch, 0, kStreamOrder);
  shuffle(order, random);
  return order;
}

std::int64_t EpochSampler::steps_per_epoch(std::int64_t batch_size) const {
  return (epoch_size_ + batch_size - 1) / batch_size;
}

std::vector<std::int64_t> EpochSampler::rank_positions(std::int64_t step_in_epoch,
                                                       std::int64_t batch_size, int rank,
                                                       int world) const {
  if (world < 1 || rank < 0 || rank >= world) throw Error("sampler: bad rank/world size");
  const std::int64_t begin = step_in_epoch * batch_size;
  const std::int64_t end = std::min(epoch_size_, begin + batch_size);
  std::vector<std::int64_t> positions;
  for (std::int64_t p = begin + rank; p < end; p += world) positions.push_back(p);
  return positions;
}

}  // namespace samri::train
