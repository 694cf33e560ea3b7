#include "common/app_common.h"

#include <unistd.h>

#include <c10/util/Exception.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "samri/core/error.h"
#include "samri/core/huge_pages.h"
#include "samri/core/memory_reuse.h"
#include "samri/core/version.h"

namespace samri::app {

void add_common_options(CLI::App& cli, LogOptions& log) {
  cli.set_version_flag("--version", std::string("samri ") + samri::kVersion);
  cli.add_flag("-v,--verbose", log.verbosity, "More log output (debug level)");
  cli.add_flag("-q,--quiet", log.quiet, "Only warnings and errors");
  cli.add_option("--log-file", log.log_file, "Also write the log to this file");
}

void configure_logging(const LogOptions& log) {
  std::vector<spdlog::sink_ptr> sinks;
  if (isatty(STDERR_FILENO)) {
    sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  } else {
    sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
  }
  if (!log.log_file.empty()) {
    sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(log.log_file));
  }
  // -q quiets the console only: a log file always gets the whole story. Ranks other than 0 keep
  // the console for warnings and errors; their full log is their file.
  const auto level = log.verbosity > 0 ? spdlog::level::debug : spdlog::level::info;
  sinks.front()->set_level(log.quiet || log.rank > 0 ? spdlog::level::warn : level);
  auto logger = std::make_shared<spdlog::logger>("samri", sinks.begin(), sinks.end());
  const std::string rank = log.rank >= 0 ? "[rank " + std::to_string(log.rank) + "] " : "";
  logger->set_pattern("[%Y-%m-%d %H:%M:%S] [%l] " + rank + "%v");
  logger->set_level(sinks.size() > 1 ? level : sinks.front()->level());
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

int run_main(CLI::App& cli, int argc, char** argv, LogOptions& log,
             const std::function<void()>& body, const std::function<void()>& before_logging) {
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : 2;
  }
  try {
    if (before_logging) before_logging();
    configure_logging(log);
    if (keep_freed_memory_for_reuse()) spdlog::debug("freed memory is kept for reuse (malloc)");
    if (const auto bytes = back_heap_with_huge_pages()) {
      spdlog::debug("heap: {} MiB in transparent huge pages", bytes >> 20);
    }
    body();
    return 0;
  } catch (const samri::Error& e) {
    spdlog::error("{}", e.what());
  } catch (const c10::Error& e) {
    spdlog::error("{}", e.what_without_backtrace());
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
  }
  return 1;
}

}  // namespace samri::app
