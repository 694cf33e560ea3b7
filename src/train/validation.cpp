#include "samri/train/validation.h"

#include <algorithm>
#include <vector>

namespace samri::train {

namespace {

constexpr std::int64_t kValidationEpoch = -1;  // the prompt stream validation draws from

std::vector<std::int64_t> chosen_samples(std::int64_t size, std::int64_t max_samples) {
  const std::int64_t n = max_samples > 0 ? std::min(size, max_samples) : size;
  std::vector<std::int64_t> out;
  for (std::int64_t i = 0; i < n; ++i) out.push_back(i * size / n);
  return out;
}

}  // namespace

ValidationResult validate(DecoderTrainer& trainer, const SampleSource& source,
                          const PromptRules& rules, std::uint64_t seed, std::int64_t batch,
                          std::int64_t max_samples, const LossWeights& weights,
                          dist::Communicator& comm) {
  ValidationResult r;
  const std::vector<std::int64_t> all = chosen_samples(source.size(), max_samples);
  std::vector<std::int64_t> samples;
  for (std::size_t i = static_cast<std::size_t>(comm.rank()); i < all.size();
       i += static_cast<std::size_t>(comm.world())) {
    samples.push_back(all[i]);
  }
  double loss_sum = 0, dice_sum = 0;
  for (std::size_t begin = 0; begin < samples.size(); begin += static_cast<std::size_t>(batch)) {
    const std::size_t end = std::min(samples.size(), begin + static_cast<std::size_t>(batch));
    const std::vector<std::int64_t> ids(samples.begin() + static_cast<std::ptrdiff_t>(begin),
                                        samples.begin() + static_cast<std::ptrdiff_t>(end));
    const TrainBatch b = source.batch(ids, ids, kValidationEpoch, seed, rules);
    const torch::Tensor logits = trainer.predict(b);
    const auto n = static_cast<double>(ids.size());
    loss_sum += focal_dice_loss(logits, b.targets, weights).loss.item<double>() * n;
    dice_sum += hard_dice(logits, b.targets).sum().item<double>();
  }
  torch::Tensor sums = torch::tensor({loss_sum, dice_sum}, torch::kFloat64);
  comm.all_reduce_sum(sums);
  loss_sum = sums[0].item<double>();
  dice_sum = sums[1].item<double>();
  r.samples = static_cast<std::int64_t>(all.size());
  if (r.samples > 0) {
    r.loss = loss_sum / static_cast<double>(r.samples);
    r.dice = dice_sum / static_cast<double>(r.samples);
  }
  return r;
}

}  // namespace samri::train
