#include "samri/embed/slice_encoder.h"

#include <chrono>
#include <filesystem>
#include <future>

#include <spdlog/spdlog.h>

#include "samri/core/error.h"
#include "samri/core/sha256.h"
#include "samri/model/checkpoint.h"
#include "samri/model/encoder_fingerprint.h"

namespace samri::embed {

SliceEncoder::SliceEncoder(const std::string& checkpoint, const model::SamConfig& config,
                           torch::Device device, model::Precision precision)
    : device_(device), dtype_(model::dtype_of(precision)) {
  if (!std::filesystem::is_regular_file(checkpoint)) {
    throw Error(checkpoint + ": checkpoint file not found");
  }
  // The file's digest is only recorded, so it is computed while the model is set up.
  const auto start = std::chrono::steady_clock::now();
  auto lap = [&](const char* what) {
    spdlog::debug("{}: {:.2f} s", what,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  };
  auto digest = std::async(std::launch::async, [&] { return sha256_file(checkpoint); });
  const model::StateDict weights = model::read_checkpoint(checkpoint);
  lap("checkpoint read");
  // The fingerprint only reads the weights, so it too runs while the encoder is set up.
  auto fingerprint =
      std::async(std::launch::async, [&] { return model::encoder_fingerprint(weights); });
  encoder_ = model::ImageEncoderViT(config.image_encoder, model::WeightInit::kNone);
  lap("encoder built");
  model::adopt_state_dict(*encoder_, weights.part("image_encoder."),
                          checkpoint + " (image_encoder.*)");
  encoder_->eval();
  encoder_->to(device_, dtype_);
  lap("weights loaded");
  info_.fingerprint = fingerprint.get();
  lap("encoder fingerprint");
  info_.checkpoint_sha256 = digest.get();
  lap("checkpoint sha256");
}

torch::Tensor SliceEncoder::encode(const torch::Tensor& inputs) {
  torch::NoGradGuard no_grad;
  return encoder_->forward(inputs.to(device_, dtype_)).to(torch::kCPU, torch::kFloat);
}

}  // namespace samri::embed
