#pragma once

#include <torch/torch.h>

namespace samri::model {

// Memory reused from call to call for the largest temporaries of inference (the attention logits,
// 800 MB per ViT-B global block in float32). On a CPU a fresh tensor that large is fresh pages
// each time, and touching them the first time costs about as much as the work done in them (0.2 s
// of 0.45 s for one global block on 2 cores). CUDA's caching allocator already reuses memory.
// Not thread-safe: one per model, used by one forward at a time.
class ScratchBuffer {
 public:
  // A contiguous tensor of `sizes` in this buffer's memory, which grows when needed. It is only
  // valid until the next take() or release().
  torch::Tensor take(torch::IntArrayRef sizes, const torch::TensorOptions& options);
  void release() { memory_ = torch::Tensor(); }
  int64_t bytes() const { return memory_.defined() ? memory_.nbytes() : 0; }

 private:
  torch::Tensor memory_;  // 1-D
};

}  // namespace samri::model
