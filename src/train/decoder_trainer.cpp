#include "samri/train/decoder_trainer.h"

#include <algorithm>
#include <cmath>

#include "samri/core/error.h"
#include "samri/model/predictor.h"
#include "samri/model/runtime.h"

namespace samri::train {

namespace {

constexpr double kInitialLossScale = 65536;
constexpr std::int64_t kLossScaleGrowthInterval = 2000;

// On the CPU a pass of 4 samples is as fast per sample as a larger one (docs/benchmarks.md) and
// holds a fraction of the activations; a GPU wants whole micro-batches.
constexpr std::int64_t kCpuSamplesPerPass = 4;

TrainBatch part_of(const TrainBatch& batch, std::int64_t begin, std::int64_t size) {
  TrainBatch part;
  part.embeddings = batch.embeddings.narrow(0, begin, size);
  part.boxes = batch.boxes.narrow(0, begin, size);
  if (batch.points.defined()) part.points = batch.points.narrow(0, begin, size);
  part.targets = batch.targets.narrow(0, begin, size);
  return part;
}

LossWeights loss_weights(const TrainConfig& c) {
  return {c.focal_weight, c.dice_weight, c.focal_gamma, c.focal_alpha, c.dice_smooth, c.iou_weight};
}

}  // namespace

DecoderTrainer::DecoderTrainer(const model::SamConfig& architecture,
                               const model::StateDict& weights, const std::string& source,
                               const TrainConfig& config, torch::Device device)
    : loss_(loss_weights(config)),
      grad_clip_(config.grad_clip),
      samples_per_pass_(config.samples_per_pass > 0 ? config.samples_per_pass
                        : device.is_cpu()           ? kCpuSamplesPerPass
                                                    : 0),
      device_(device) {
  dtype_ = model::dtype_of(model::parse_precision(config.precision, device));
  master_ = SamDecoder(architecture);
  load_decoder_weights(*master_, weights, source);
  master_->to(device_, torch::kFloat32);
  master_->train();
  if (dtype_ == torch::kFloat32) {
    compute_ = master_;
  } else {
    compute_ = SamDecoder(architecture);
    load_decoder_weights(*compute_, weights, source);
    compute_->to(device_);
    compute_->mask_decoder->to(device_, dtype_);
    compute_->train();
  }
  master_params_ = master_->mask_decoder->parameters();
  compute_params_ = compute_->mask_decoder->parameters();
  if (dtype_ == torch::kFloat16) loss_scale_ = kInitialLossScale;
  optimizer_ =
      std::make_unique<torch::optim::AdamW>(master_params_, torch::optim::AdamWOptions(config.lr)
                                                                .betas({config.beta1, config.beta2})
                                                                .eps(config.adam_eps)
                                                                .weight_decay(config.weight_decay));
  if (dtype_ != torch::kFloat32) copy_master_to_compute();
}

torch::Tensor DecoderTrainer::to_device(const torch::Tensor& t, torch::Dtype dtype) const {
  return t.to(device_, dtype, /*non_blocking=*/true);
}

LossTerms DecoderTrainer::accumulate(const TrainBatch& batch, double weight) {
  const std::int64_t n = batch.size();
  const std::int64_t per_pass = samples_per_pass_ > 0 ? std::min(samples_per_pass_, n) : n;
  if (per_pass == n) return accumulate_pass(batch, weight);
  LossTerms sum = LossTerms::zeros();
  for (std::int64_t begin = 0; begin < n; begin += per_pass) {
    const std::int64_t size = std::min(per_pass, n - begin);
    const double share = static_cast<double>(size) / static_cast<double>(n);
    const LossTerms t = accumulate_pass(part_of(batch, begin, size), weight * share);
    sum.add_weighted(t, share);
  }
  return sum;
}

LossTerms DecoderTrainer::accumulate_pass(const TrainBatch& batch, double weight) {
  const torch::Tensor points =
      batch.points.defined() ? to_device(batch.points, torch::kFloat32) : torch::Tensor();
  const auto [logits, predicted_iou] = compute_->forward_with_iou(
      to_device(batch.embeddings, dtype_), to_device(batch.boxes, torch::kFloat32), points);
  const torch::Tensor targets = to_device(batch.targets, torch::kFloat32);
  LossTerms terms = focal_dice_loss(logits, targets, loss_);
  if (loss_.iou_weight > 0) {
    terms.iou = iou_prediction_loss(predicted_iou, logits, targets);
    terms.loss = terms.loss + loss_.iou_weight * terms.iou;
  }
  (terms.loss * (weight * loss_scale_)).backward();
  if (dtype_ != torch::kFloat32) {
    // Into the float32 master after every pass: low-precision gradients summed over passes would
    // lose what each pass adds.
    torch::NoGradGuard no_grad;
    for (std::size_t i = 0; i < master_params_.size(); ++i) {
      auto& g = compute_params_[i].mutable_grad();
      if (!g.defined()) continue;
      auto& mg = master_params_[i].mutable_grad();
      if (!mg.defined()) {
        mg = g.to(torch::kFloat32);
      } else {
        mg.add_(g.to(torch::kFloat32));
      }
      g.zero_();
    }
  }
  return {terms.loss.detach().to(torch::kCPU), terms.focal.detach().to(torch::kCPU),
          terms.dice.detach().to(torch::kCPU), terms.iou.detach().to(torch::kCPU)};
}

bool DecoderTrainer::step(double lr) {
  torch::NoGradGuard no_grad;
  bool finite = true;
  if (loss_scale_ != 1) {
    for (auto& p : master_params_) {
      auto& g = p.mutable_grad();
      if (!g.defined()) continue;
      g.div_(loss_scale_);
      finite = finite && torch::isfinite(g).all().item<bool>();
    }
  }
  if (!finite) {
    loss_scale_ /= 2;
    good_steps_ = 0;
    optimizer_->zero_grad();
    return false;
  }
  if (grad_clip_ > 0) torch::nn::utils::clip_grad_norm_(master_params_, grad_clip_);
  for (auto& group : optimizer_->param_groups()) group.options().set_lr(lr);
  optimizer_->step();
  optimizer_->zero_grad();
  if (dtype_ != torch::kFloat32) copy_master_to_compute();
  if (dtype_ == torch::kFloat16 && ++good_steps_ % kLossScaleGrowthInterval == 0) loss_scale_ *= 2;
  return true;
}

std::string DecoderTrainer::first_non_finite_gradient() const {
  torch::NoGradGuard no_grad;
  for (const auto& item : master_->mask_decoder->named_parameters()) {
    const torch::Tensor& g = item.value().grad();
    if (g.defined() && !torch::isfinite(g).all().item<bool>()) return item.key();
  }
  return "";
}

std::vector<double> DecoderTrainer::all_reduce_gradients(dist::Communicator& comm,
                                                         const std::vector<double>& extras) {
  torch::NoGradGuard no_grad;
  const std::size_t n = master_params_.size();
  // Per parameter, whether this rank has its gradient; then the extras. float64 keeps the extras
  // (loss sums) exact enough; gradients stay float32.
  torch::Tensor meta =
      torch::zeros({static_cast<std::int64_t>(n + extras.size())}, torch::kFloat64);
  auto m = meta.accessor<double, 1>();
  std::vector<torch::Tensor> pieces;
  for (std::size_t i = 0; i < n; ++i) {
    const torch::Tensor& g = master_params_[i].grad();
    m[static_cast<std::int64_t>(i)] = g.defined() ? 1 : 0;
    pieces.push_back(g.defined()
                         ? g.reshape(-1)
                         : torch::zeros({master_params_[i].numel()}, master_params_[i].options()));
  }
  for (std::size_t j = 0; j < extras.size(); ++j) m[static_cast<std::int64_t>(n + j)] = extras[j];
  torch::Tensor flat = torch::cat(pieces);
  comm.all_reduce_sum(flat);
  comm.all_reduce_sum(meta);
  std::int64_t offset = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t numel = master_params_[i].numel();
    if (m[static_cast<std::int64_t>(i)] > 0) {
      master_params_[i].mutable_grad() =
          flat.narrow(0, offset, numel).view_as(master_params_[i]).clone();
    }
    offset += numel;
  }
  std::vector<double> out;
  for (std::size_t j = 0; j < extras.size(); ++j)
    out.push_back(m[static_cast<std::int64_t>(n + j)]);
  return out;
}

torch::Tensor DecoderTrainer::predict(const TrainBatch& batch) {
  torch::NoGradGuard no_grad;
  const torch::Tensor points =
      batch.points.defined() ? to_device(batch.points, torch::kFloat32) : torch::Tensor();
  return compute_
      ->forward(to_device(batch.embeddings, dtype_), to_device(batch.boxes, torch::kFloat32),
                points)
      .to(torch::kCPU, torch::kFloat32);
}

void DecoderTrainer::copy_master_to_compute() {
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < master_params_.size(); ++i) {
    compute_params_[i].copy_(master_params_[i]);
  }
}

void DecoderTrainer::save(torch::serialize::OutputArchive& archive) const {
  torch::serialize::OutputArchive weights, optimizer;
  for (const auto& item : master_->mask_decoder->named_parameters()) {
    weights.write(item.key(), item.value().detach().to(torch::kCPU));
  }
  optimizer_->save(optimizer);
  archive.write("weights", weights);
  archive.write("optimizer", optimizer);
  archive.write("loss_scale", torch::tensor(loss_scale_, torch::kFloat64));
  archive.write("good_steps", torch::tensor(good_steps_, torch::kInt64));
}

void DecoderTrainer::load(torch::serialize::InputArchive& archive) {
  torch::serialize::InputArchive weights, optimizer;
  archive.read("weights", weights);
  archive.read("optimizer", optimizer);
  {
    torch::NoGradGuard no_grad;
    for (auto& item : master_->mask_decoder->named_parameters()) {
      torch::Tensor value;
      weights.read(item.key(), value);
      if (!value.sizes().equals(item.value().sizes())) {
        throw Error("training state: " + item.key() + " has the wrong shape");
      }
      item.value().copy_(value);
    }
  }
  optimizer_->load(optimizer);
  torch::Tensor scale, good;
  archive.read("loss_scale", scale);
  archive.read("good_steps", good);
  loss_scale_ = scale.item<double>();
  good_steps_ = good.item<std::int64_t>();
  if (dtype_ != torch::kFloat32) copy_master_to_compute();
}

}  // namespace samri::train
