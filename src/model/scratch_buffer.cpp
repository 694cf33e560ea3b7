#include "samri/model/scratch_buffer.h"

namespace samri::model {

ScratchBuffer::Lease::Lease(ScratchBuffer& buffer) : buffer_(buffer) {
  std::thread::id free;
  claimed_ = buffer_.owner_.compare_exchange_strong(free, std::this_thread::get_id());
}

ScratchBuffer::Lease::~Lease() {
  if (claimed_) buffer_.owner_.store(std::thread::id());
}

torch::Tensor ScratchBuffer::take(torch::IntArrayRef sizes, const torch::TensorOptions& options) {
  int64_t count = 1;
  for (const int64_t size : sizes) count *= size;
  const bool fits = memory_.defined() && memory_.scalar_type() == options.dtype() &&
                    memory_.device() == options.device() && memory_.numel() >= count &&
                    memory_.is_inference() == c10::InferenceMode::is_enabled();
  if (!fits) {
    memory_ = torch::Tensor();  // the old memory goes back before the new one is taken
    memory_ = torch::empty({count}, options);
  }
  return memory_.narrow(0, 0, count).view(sizes);
}

}  // namespace samri::model
