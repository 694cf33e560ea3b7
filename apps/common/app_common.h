#pragma once

#include <functional>
#include <string>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

namespace samri::app {

struct LogOptions {
  int verbosity = 0;  // -v: debug
  bool quiet = false;
  std::string log_file;
  int rank = -1;  // data-parallel rank: lines carry "[rank K]"; >0 keeps only warnings on stderr
};

// Adds --version, -v/--verbose, -q/--quiet and --log-file to `cli`.
void add_common_options(CLI::App& cli, LogOptions& log);

// Sets up the default spdlog logger (stderr, plus a file when asked). Lines carry a timestamp and
// level and no colour when stderr is not a terminal, so SLURM logs stay readable. -q and a rank
// above 0 quiet stderr only (warnings and errors); the file gets info, or debug with -v.
void configure_logging(const LogOptions& log);

// Parses the command line, configures logging and runs `body`. Every error the library raises
// (samri::Error, c10::Error, std::exception) becomes one message on stderr and exit code 1;
// a command-line error exits 2 with CLI11's message.
// `before_logging` runs after parsing and before logging is set up (to choose the log file).
int run_main(CLI::App& cli, int argc, char** argv, LogOptions& log,
             const std::function<void()>& body, const std::function<void()>& before_logging = {});

}  // namespace samri::app
