#include "samri/core/progress.h"

#include <cmath>
#include <cstdio>

#include <spdlog/spdlog.h>

namespace samri {

Progress::Progress(std::string label, std::size_t total, std::chrono::milliseconds interval)
    : label_(std::move(label)),
      total_(total),
      interval_(interval),
      start_(Clock::now()),
      last_report_(start_) {}

std::string Progress::format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  }
  return buf;
}

void Progress::advance(std::size_t steps) {
  done_ += steps;
  const auto now = Clock::now();
  if (now - last_report_ >= interval_ && done_ < total_) {
    last_report_ = now;
    report();
  }
}

void Progress::report() {
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  const double rate = elapsed > 0 ? double(done_) / elapsed : 0.0;
  const double eta = rate > 0 ? double(total_ - done_) / rate : NAN;
  const double percent = total_ ? 100.0 * double(done_) / double(total_) : 100.0;
  spdlog::info("{} {}/{} ({:.0f}%), {:.2f}/s, elapsed {}, ETA {}", label_, done_, total_, percent,
               rate, format_duration(elapsed), format_duration(eta));
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  spdlog::info("{} done: {} in {}", label_, done_, format_duration(elapsed));
}

}  // namespace samri
