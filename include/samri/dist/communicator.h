#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "samri/dist/launch_env.h"

namespace samri::dist {

// The collectives a data-parallel job needs, over LibTorch's c10d: a TCPStore that rank 0 serves
// for the rendezvous and small key/value messages, and a Gloo (CPU) or NCCL (GPU) process group for
// tensors. A world of one needs neither and every call returns at once, so single-process code
// runs the same path.
class Communicator {
 public:
  // A world of one.
  Communicator();
  // Joins the job `env` describes. `backend` is "auto" (NCCL for a CUDA device where this build
  // has it, Gloo otherwise), "gloo" or "nccl". A rendezvous, collective or message that takes
  // longer than `timeout` throws samri::Error naming the address, port and what was awaited.
  Communicator(const LaunchEnv& env, const std::string& backend, std::chrono::seconds timeout,
               const torch::Device& device);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return env_.rank; }
  int world() const { return env_.world; }
  bool is_root() const { return env_.rank == 0; }
  const std::string& backend() const { return backend_; }

  // Sums `tensor` over the ranks in place (every rank gets the sum). When a rank dies or hangs,
  // the others throw samri::Error naming it (after `timeout` for a hung one).
  void all_reduce_sum(torch::Tensor& tensor);
  void barrier();
  // Rank 0's `value` on every rank (the others' argument is ignored).
  std::string broadcast(const std::string& value);
  // Every rank's `value`, in rank order.
  std::vector<std::string> all_gather(const std::string& value);
  // On rank 0: every rank's `value`, in rank order; on the others: nothing (they do not wait).
  std::vector<std::string> gather(const std::string& value);
  // Throws samri::Error on every rank when the ranks' `value`s differ, naming `what` and the first
  // rank whose value differs from rank 0's.
  void check_same(const std::string& what, const std::string& value);

  // Whether this build can run NCCL.
  static bool has_nccl();

 private:
  struct Impl;
  std::string message_key(const std::string& kind);
  void rendezvous(const std::string& where);
  std::vector<std::string> collect(const std::string& value, bool everyone);
  std::string lost_store_message(const std::string& cause) const;
  // After a failed all-reduce: the ranks that died or hung, for the error message.
  std::string absent_ranks();
  bool reported_failure(int other, std::chrono::steady_clock::time_point deadline);
  LaunchEnv env_;
  std::string backend_ = "none";
  std::chrono::seconds timeout_{300};
  std::unique_ptr<Impl> impl_;
  long long messages_ = 0;
  long long reductions_ = 0;
};

}  // namespace samri::dist
