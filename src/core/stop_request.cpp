#include "samri/core/stop_request.h"

#include <time.h>
#include <unistd.h>

#include <atomic>
#include <initializer_list>

namespace samri {

namespace {

// Plain lock-free atomics: the only things a signal handler may touch.
std::atomic<int> g_stop_signal{0};
std::atomic<long long> g_first_signal_ms{0};

// A repeat within this time is the same request delivered twice: SLURM's scancel signals srun and
// its tasks alike, and srun forwards the signal to the tasks again.
constexpr long long kEchoMs = 2000;

long long monotonic_ms() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);  // async-signal-safe
  return static_cast<long long>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

extern "C" void record_stop_signal(int signal) {
  const long long now = monotonic_ms();
  const int previous = g_stop_signal.exchange(signal);
  if (previous == 0) {
    g_first_signal_ms.store(now);
    return;
  }
  if (signal != SIGUSR1 && now - g_first_signal_ms.load() > kEchoMs) {
    // The user insists (a second Ctrl-C, or TERM after USR1): stop now, as without a handler.
    ::_exit(128 + signal);
  }
}

}  // namespace

void install_stop_handlers() {
  static_assert(std::atomic<int>::is_always_lock_free);
  struct sigaction action {};
  action.sa_handler = record_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int signal : {SIGTERM, SIGUSR1, SIGINT}) sigaction(signal, &action, nullptr);
}

bool stop_requested() { return g_stop_signal.load() != 0; }

int stop_signal() { return g_stop_signal.load(); }

void request_stop(int signal) { g_stop_signal.store(signal); }

void clear_stop_request() { g_stop_signal.store(0); }

}  // namespace samri
