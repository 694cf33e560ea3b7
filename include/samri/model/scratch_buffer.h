#pragma once

#include <atomic>
#include <thread>

#include <torch/torch.h>

namespace samri::model {

// Memory reused from call to call for the largest temporaries of inference (the attention logits,
// 800 MB per ViT-B global block in float32). On a CPU a fresh tensor that large is fresh pages
// each time, and touching them the first time costs about as much as the work done in them (0.2 s
// of 0.45 s for one global block on 2 cores). CUDA's caching allocator already reuses memory.
// One thread at a time uses it: the one holding a Lease. A model that owns one stays safe to run
// from several threads at once; the threads without the lease use fresh memory.
class ScratchBuffer {
 public:
  // Claims the buffer for the calling thread while it lives, if no other thread holds it.
  class Lease {
   public:
    explicit Lease(ScratchBuffer& buffer);
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

   private:
    ScratchBuffer& buffer_;
    bool claimed_ = false;
  };

  bool held_by_this_thread() const { return owner_.load() == std::this_thread::get_id(); }
  // A contiguous tensor of `sizes` in this buffer's memory, which grows when needed. It is only
  // valid until the next take() or release(). Only for the thread holding the lease.
  torch::Tensor take(torch::IntArrayRef sizes, const torch::TensorOptions& options);
  void release() { memory_ = torch::Tensor(); }
  int64_t bytes() const { return memory_.defined() ? memory_.nbytes() : 0; }

 private:
  torch::Tensor memory_;  // 1-D
  std::atomic<std::thread::id> owner_{};
};

}  // namespace samri::model
