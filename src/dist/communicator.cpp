#include "samri/dist/communicator.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if defined(USE_C10D_NCCL)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <algorithm>
#include <exception>
#include <thread>

#include "samri/core/error.h"

namespace samri::dist {

namespace {

std::string text_of(const std::vector<std::uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

std::vector<std::uint8_t> bytes_of(const std::string& text) {
  return std::vector<std::uint8_t>(text.begin(), text.end());
}

std::string choose_backend(const std::string& asked, const torch::Device& device) {
  if (asked == "auto") return device.is_cuda() && Communicator::has_nccl() ? "nccl" : "gloo";
  if (asked == "gloo") return asked;
  if (asked == "nccl") {
    if (!Communicator::has_nccl()) {
      throw Error(
          "--backend nccl: this build of LibTorch has no NCCL (Debian's is CPU-only); "
          "use --backend gloo, or build against a CUDA LibTorch");
    }
    if (!device.is_cuda()) throw Error("--backend nccl needs --device cuda");
    return asked;
  }
  throw Error("--backend '" + asked + "': expected auto, gloo or nccl");
}

// An exception's message without LibTorch's C++ backtrace.
std::string message_of(const std::exception& e) {
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) return c10->what_without_backtrace();
  return e.what();
}

}  // namespace

// The group is held as the concrete Gloo/NCCL class: LibTorch 1.13 derives them from ProcessGroup,
// 2.x from Backend, and both give them the same collective methods.
struct Communicator::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#if defined(USE_C10D_NCCL)
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  template <typename F>
  auto collective(F&& f) {
#if defined(USE_C10D_NCCL)
    if (nccl) return f(*nccl);
#endif
    return f(*gloo);
  }
};

bool Communicator::has_nccl() {
#if defined(USE_C10D_NCCL)
  return true;
#else
  return false;
#endif
}

Communicator::Communicator() = default;

Communicator::Communicator(const LaunchEnv& env, const std::string& backend,
                           std::chrono::seconds timeout, const torch::Device& device)
    : env_(env), timeout_(timeout) {
  const std::string chosen = choose_backend(backend, device);
  if (env.world == 1) return;
  backend_ = chosen;
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  impl_ = std::make_unique<Impl>();
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(env.master_port);
    options.isServer = env.rank == 0;
    options.numWorkers = static_cast<std::size_t>(env.world);
    options.waitWorkers = true;
    options.timeout = timeout;
    impl_->store = c10::make_intrusive<c10d::PrefixStore>(
        "samri", c10::make_intrusive<c10d::TCPStore>(env.master_addr, options));
  } catch (const std::exception& e) {
    throw Error("rank " + std::to_string(env.rank) + ": the rendezvous at " + where +
                " did not complete within " + std::to_string(timeout.count()) + " s (" +
                std::to_string(env.world) + " ranks expected): " + message_of(e));
  }
  rendezvous(where);
  try {
#if defined(USE_C10D_NCCL)
    if (backend_ == "nccl") {
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      impl_->nccl =
          c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, env.rank, env.world, options);
      return;
    }
#endif
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    impl_->gloo =
        c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, env.rank, env.world, options);
  } catch (const std::exception& e) {
    throw Error("rank " + std::to_string(env.rank) + ": cannot set up " + backend_ + " over " +
                where + ": " + message_of(e));
  }
}

Communicator::~Communicator() {
  if (!impl_ || std::uncaught_exceptions() > 0) return;
  // Rank 0 serves the store: leaving before the others have read their last messages would reset
  // their connections. Each rank says it is done; rank 0 waits (bounded) for all of them.
  try {
    impl_->store->set("done/" + std::to_string(rank()), bytes_of("1"));
    if (!is_root()) return;
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    for (int r = 1; r < world(); ++r) {
      const std::string key = "done/" + std::to_string(r);
      while (!impl_->store->check({key}) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
  } catch (const std::exception&) {
    // A store already gone: nothing left to protect.
  }
}

void Communicator::all_reduce_sum(torch::Tensor& tensor) {
  if (!impl_) return;
  ++reductions_;
  // Each rank records how many all-reduces it has entered, so that a failed one can name the ranks
  // that never came (Gloo's own error names a socket, not a rank). One small store write per step.
  try {
    impl_->store->set("entered/" + std::to_string(rank()), bytes_of(std::to_string(reductions_)));
  } catch (const std::exception& e) {
    throw Error(lost_store_message(message_of(e)));
  }
  std::vector<torch::Tensor> tensors{tensor};
  try {
    impl_->collective([&](auto& group) { group.allreduce(tensors)->wait(); });
  } catch (const std::exception& e) {
    throw Error("rank " + std::to_string(rank()) + ": all-reduce #" + std::to_string(reductions_) +
                " failed: " + absent_ranks() + " (" + message_of(e) + ")");
  }
}

std::string Communicator::lost_store_message(const std::string& cause) const {
  return "rank " + std::to_string(rank()) + ": lost the store at " + env_.master_addr + ":" +
         std::to_string(env_.master_port) + " that rank 0 serves: rank 0 died or hung? (" + cause +
         ")";
}

std::string Communicator::absent_ranks() {
  // Ranks that are alive fail this all-reduce too and say so through the store; those that stay
  // silent for a few seconds died or hung.
  const auto grace = std::min<std::chrono::milliseconds>(timeout_, std::chrono::seconds(10));
  const auto deadline = std::chrono::steady_clock::now() + grace;
  std::string absent;
  try {
    impl_->store->set("failed/" + std::to_string(rank()), bytes_of("1"));
    for (int r = 0; r < world(); ++r) {
      if (r == rank() || reported_failure(r, deadline)) continue;
      const std::string key = "entered/" + std::to_string(r);
      const long long entered =
          impl_->store->check({key}) ? std::stoll(text_of(impl_->store->get(key))) : 0;
      absent += (absent.empty() ? "" : "; ") + std::string("rank ") + std::to_string(r) +
                (entered < reductions_ ? " never reached it" : " stopped during it") +
                " and went silent: it died or hung";
    }
  } catch (const std::exception&) {
    return "rank 0, which serves the store at " + env_.master_addr + ":" +
           std::to_string(env_.master_port) + ", is gone (it died)";
  }
  return absent.empty() ? "every rank is alive and saw it fail" : absent;
}

bool Communicator::reported_failure(int other, std::chrono::steady_clock::time_point deadline) {
  // Polled with check(): a wait() that times out leaves TCPStore 1.13's client socket out of step.
  const std::string key = "failed/" + std::to_string(other);
  while (!impl_->store->check({key})) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

void Communicator::rendezvous(const std::string& where) {
  try {
    barrier();
  } catch (const Error& e) {
    throw Error("rank " + std::to_string(rank()) + ": the rendezvous at " + where +
                " did not complete within " + std::to_string(timeout_.count()) + " s: " + e.what());
  }
}

void Communicator::barrier() {
  if (!impl_) return;
  // Through the store, not the process group: NCCL's barrier needs a device set per rank, and a
  // store barrier names the ranks that never came.
  const std::string key = message_key("barrier");
  impl_->store->set(key + "/" + std::to_string(rank()), bytes_of("1"));
  std::vector<std::string> keys;
  for (int r = 0; r < world(); ++r) keys.push_back(key + "/" + std::to_string(r));
  try {
    impl_->store->wait(keys, std::chrono::milliseconds(timeout_));
  } catch (const std::exception& e) {
    std::string missing;
    for (int r = 0; r < world(); ++r) {
      if (!impl_->store->check({keys[static_cast<std::size_t>(r)]})) {
        missing += (missing.empty() ? "" : ", ") + std::to_string(r);
      }
    }
    throw Error("rank(s) " + missing + " did not reach the barrier within " +
                std::to_string(timeout_.count()) + " s (" + message_of(e) + ")");
  }
}

std::string Communicator::message_key(const std::string& kind) {
  return kind + "/" + std::to_string(messages_++);
}

std::string Communicator::broadcast(const std::string& value) {
  if (!impl_) return value;
  const std::string key = message_key("broadcast");
  if (is_root()) {
    impl_->store->set(key, bytes_of(value));
    return value;
  }
  try {
    impl_->store->wait({key}, std::chrono::milliseconds(timeout_));
    return text_of(impl_->store->get(key));
  } catch (const std::exception& e) {
    throw Error("rank " + std::to_string(rank()) + ": no word from rank 0 within " +
                std::to_string(timeout_.count()) + " s (" + message_of(e) + ")");
  }
}

std::vector<std::string> Communicator::all_gather(const std::string& value) {
  return collect(value, true);
}

std::vector<std::string> Communicator::gather(const std::string& value) {
  return collect(value, false);
}

std::vector<std::string> Communicator::collect(const std::string& value, bool everyone) {
  if (!impl_) return {value};
  const std::string key = message_key("gather");
  impl_->store->set(key + "/" + std::to_string(rank()), bytes_of(value));
  if (!everyone && !is_root()) return {};
  std::vector<std::string> out;
  for (int r = 0; r < world(); ++r) {
    const std::string k = key + "/" + std::to_string(r);
    try {
      impl_->store->wait({k}, std::chrono::milliseconds(timeout_));
    } catch (const std::exception&) {
      throw Error("rank " + std::to_string(rank()) + ": no word from rank " + std::to_string(r) +
                  " within " + std::to_string(timeout_.count()) + " s");
    }
    out.push_back(text_of(impl_->store->get(k)));
  }
  return out;
}

void Communicator::check_same(const std::string& what, const std::string& value) {
  const std::vector<std::string> values = all_gather(value);
  for (std::size_t r = 1; r < values.size(); ++r) {
    if (values[r] != values[0]) {
      throw Error("rank " + std::to_string(r) + " was started with another " + what +
                  " than rank 0; every rank must get the same command line");
    }
  }
}

}  // namespace samri::dist
