#include "samri/train/train_config.h"

#include <variant>

#include <nlohmann/json.hpp>

#include "samri/core/error.h"
#include "samri/core/json_file.h"

namespace samri::train {

namespace {

using Member = std::variant<std::string TrainConfig::*, double TrainConfig::*,
                            std::int64_t TrainConfig::*, int TrainConfig::*, bool TrainConfig::*>;

struct Field {
  const char* name;
  Member member;
  const char* help;
};

const std::vector<Field>& fields() {
  using C = TrainConfig;
  static const std::vector<Field> table = {
      {"prompt", &C::prompt, "box | box_point"},
      {"box_jitter", &C::box_jitter, "box coordinates move by U(-j, j) px (1024 frame)"},
      {"box_jitter_min_extent", &C::box_jitter_min_extent,
       "jitter an axis only when the box is wider than this (px)"},
      {"point_rule", &C::point_rule, "uniform | middle_raster | interior"},
      {"samples_per_dataset", &C::samples_per_dataset,
       "samples each dataset gives per epoch (0: all, once)"},
      {"keep_large_datasets", &C::keep_large_datasets, "the quota is only a minimum"},
      {"epochs", &C::epochs, "epochs"},
      {"batch_size", &C::batch_size, "global batch (samples per optimiser step, all ranks)"},
      {"micro_batch", &C::micro_batch,
       "samples per gradient-accumulation step (0: the per-process batch)"},
      {"samples_per_pass", &C::samples_per_pass,
       "samples one forward and backward pass holds; a micro-batch runs in passes of this many "
       "with the same gradient (0: 4 on the CPU, the micro-batch on a GPU)"},
      {"lr", &C::lr, "AdamW learning rate"},
      {"weight_decay", &C::weight_decay, "AdamW weight decay"},
      {"beta1", &C::beta1, "AdamW beta1"},
      {"beta2", &C::beta2, "AdamW beta2"},
      {"adam_eps", &C::adam_eps, "AdamW epsilon"},
      {"schedule", &C::schedule, "constant | cosine"},
      {"warmup_steps", &C::warmup_steps, "linear learning-rate warm-up steps"},
      {"min_lr", &C::min_lr, "the cosine schedule's final learning rate"},
      {"grad_clip", &C::grad_clip, "max gradient norm (0: off)"},
      {"focal_weight", &C::focal_weight, "weight of the focal term"},
      {"dice_weight", &C::dice_weight, "weight of the Dice term"},
      {"focal_gamma", &C::focal_gamma, "focal gamma"},
      {"focal_alpha", &C::focal_alpha, "focal alpha (< 0: none)"},
      {"dice_smooth", &C::dice_smooth, "Dice smoothing"},
      {"iou_weight", &C::iou_weight,
       "weight of SAM's IoU-prediction loss (0, the paper's: the IoU head behind samri-infer's "
       "confidence flags stays untrained)"},
      {"precision", &C::precision, "fp32 | bf16 | fp16 (CUDA)"},
      {"device", &C::device, "cpu | cuda | cuda:N"},
      {"threads", &C::threads, "CPU threads (0: LibTorch's default)"},
      {"seed", &C::seed, "seed of sampling, box jitter and points"},
      {"deterministic", &C::deterministic, "deterministic algorithms (bit-exact resume)"},
      {"max_steps", &C::max_steps, "stop after this many optimiser steps (0: all epochs)"},
      {"val_every_steps", &C::val_every_steps, "validate every N steps (0: every epoch)"},
      {"val_max_samples", &C::val_max_samples, "samples per validation set (0: all)"},
      {"save_every_epochs", &C::save_every_epochs, "keep epoch_NNNN.pth every N epochs (0: no)"},
      {"state_every_steps", &C::state_every_steps, "save the resume point every N steps"},
      {"log_every_steps", &C::log_every_steps, "metrics.jsonl line every N steps"},
  };
  return table;
}

const Field& field(const std::string& key, const std::string& source) {
  for (const auto& f : fields()) {
    if (key == f.name) return f;
  }
  throw Error(source + ": unknown training config key '" + key + "'");
}

template <typename T>
T typed(const nlohmann::json& value, bool ok, const std::string& source, const std::string& key,
        const char* expected) {
  if (!ok) throw Error(source + ": '" + key + "' must be " + expected + ", not " + value.dump());
  return value.get<T>();
}

void check(bool ok, const std::string& key, const std::string& what) {
  if (!ok) throw Error("training config: '" + key + "' " + what);
}

}  // namespace

nlohmann::json TrainConfig::to_json() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& f : fields()) {
    std::visit([&](auto member) { out[f.name] = this->*member; }, f.member);
  }
  return out;
}

void TrainConfig::set(const std::string& key, const nlohmann::json& value,
                      const std::string& source) {
  const Field& f = field(key, source);
  std::visit(
      [&](auto member) {
        using T = std::decay_t<decltype(this->*member)>;
        if constexpr (std::is_same_v<T, std::string>) {
          this->*member = typed<T>(value, value.is_string(), source, key, "a string");
        } else if constexpr (std::is_same_v<T, bool>) {
          this->*member = typed<T>(value, value.is_boolean(), source, key, "true or false");
        } else if constexpr (std::is_same_v<T, double>) {
          this->*member = typed<T>(value, value.is_number(), source, key, "a number");
        } else {
          this->*member = typed<T>(value, value.is_number_integer(), source, key, "an integer");
        }
      },
      f.member);
}

void TrainConfig::apply_file(const std::filesystem::path& file) {
  const nlohmann::json json = read_json_file(file.string(), "training config");
  if (!json.is_object()) throw Error(file.string() + ": a training config is a JSON object");
  for (const auto& [key, value] : json.items()) {
    if (!key.empty() && key[0] == '_') continue;  // "_comment" and the like
    set(key, value, file.string());
  }
}

void TrainConfig::validate() const {
  check(prompt == "box" || prompt == "box_point", "prompt", "must be box or box_point");
  check(point_rule == "uniform" || point_rule == "middle_raster" || point_rule == "interior",
        "point_rule", "must be uniform, middle_raster or interior");
  check(schedule == "constant" || schedule == "cosine", "schedule", "must be constant or cosine");
  check(precision == "fp32" || precision == "bf16" || precision == "fp16", "precision",
        "must be fp32, bf16 or fp16");
  check(box_jitter >= 0 && box_jitter_min_extent >= 0, "box_jitter", "must be >= 0");
  check(samples_per_dataset >= 0, "samples_per_dataset", "must be >= 0");
  check(epochs >= 1, "epochs", "must be >= 1");
  check(batch_size >= 1, "batch_size", "must be >= 1");
  check(micro_batch >= 0, "micro_batch", "must be >= 0");
  check(samples_per_pass >= 0, "samples_per_pass", "must be >= 0");
  check(lr > 0, "lr", "must be > 0");
  check(weight_decay >= 0, "weight_decay", "must be >= 0");
  check(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "beta1", "and beta2 must be in [0, 1)");
  check(adam_eps > 0, "adam_eps", "must be > 0");
  check(warmup_steps >= 0 && min_lr >= 0 && grad_clip >= 0, "warmup_steps",
        "min_lr and grad_clip must be >= 0");
  check(focal_weight >= 0 && dice_weight >= 0 && focal_weight + dice_weight > 0, "focal_weight",
        "and dice_weight must be >= 0, not both 0");
  check(focal_gamma >= 0, "focal_gamma", "must be >= 0");
  check(focal_alpha <= 1, "focal_alpha", "must be <= 1 (or < 0 for none)");
  check(dice_smooth >= 0, "dice_smooth", "must be >= 0");
  check(iou_weight >= 0, "iou_weight", "must be >= 0");
  check(threads >= 0, "threads", "must be >= 0");
  check(max_steps >= 0 && val_every_steps >= 0 && val_max_samples >= 0 && save_every_epochs >= 0,
        "max_steps", "and the other step counts must be >= 0");
  check(state_every_steps >= 1 && log_every_steps >= 1, "state_every_steps",
        "and log_every_steps must be >= 1");
}

const std::vector<TrainConfig::Key>& TrainConfig::keys() {
  static const std::vector<Key> out = [] {
    std::vector<Key> k;
    for (const auto& f : fields()) k.push_back({f.name, f.help});
    return k;
  }();
  return out;
}

}  // namespace samri::train
