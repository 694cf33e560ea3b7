#include "samri/model/runtime.h"

#include <filesystem>

#include "samri/core/error.h"
#include "samri/model/checkpoint.h"

namespace samri::model {

torch::Device parse_device(const std::string& text) {
  std::optional<torch::Device> device;
  try {
    device = torch::Device(text);
  } catch (const c10::Error&) {
    throw Error("--device '" + text + "': expected cpu, cuda or cuda:N");
  }
  if (device->is_cpu()) return *device;
  if (!device->is_cuda()) throw Error("--device '" + text + "': only cpu and cuda are supported");
  if (!torch::cuda::is_available()) {
    throw Error(
        "--device '" + text +
        "': CUDA is not available (this LibTorch has no CUDA support or no GPU is visible)");
  }
  const auto count = static_cast<int>(torch::cuda::device_count());
  if (device->has_index() && device->index() >= count) {
    throw Error("--device '" + text + "': only " + std::to_string(count) + " CUDA device(s)");
  }
  return *device;
}

Precision parse_precision(const std::string& text, const torch::Device& device) {
  if (text == "fp32") return Precision::kFloat32;
  if (text == "bf16") return Precision::kBFloat16;
  if (text == "fp16") {
    if (!device.is_cuda()) throw Error("--precision fp16 needs a CUDA device; use bf16 on CPU");
    return Precision::kFloat16;
  }
  throw Error("--precision '" + text + "': expected fp32, bf16 or fp16");
}

Sam load_sam(const std::string& checkpoint, const SamConfig& config, const torch::Device& device) {
  if (!std::filesystem::is_regular_file(checkpoint)) {
    throw Error(checkpoint + ": checkpoint file not found");
  }
  // Read first: a bad file then fails before the model's (seconds-long, for ViT-H) construction.
  return load_sam(read_checkpoint(checkpoint), checkpoint, config, device);
}

Sam load_sam(StateDict weights, const std::string& checkpoint, const SamConfig& config,
             const torch::Device& device) {
  Sam sam(config, WeightInit::kNone);
  adopt_state_dict(*sam, std::move(weights), checkpoint);
  sam->eval();
  sam->to(device);
  return sam;
}

}  // namespace samri::model
