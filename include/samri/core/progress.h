#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace samri {

// Progress of a long job as plain log lines ("label 12/200 (6%), 1.3 it/s, ETA 2m24s"), which a
// SLURM log file reads as well as a terminal. Lines are rate-limited to one per `interval`.
class Progress {
 public:
  Progress(std::string label, std::size_t total,
           std::chrono::milliseconds interval = std::chrono::seconds(5));
  void advance(std::size_t steps = 1);
  void finish();  // logs the final line with the total time
  std::size_t done() const { return done_; }

  static std::string format_duration(double seconds);

 private:
  void report();
  using Clock = std::chrono::steady_clock;
  std::string label_;
  std::size_t total_;
  std::size_t done_ = 0;
  std::chrono::milliseconds interval_;
  Clock::time_point start_;
  Clock::time_point last_report_;
  bool finished_ = false;
};

}  // namespace samri
