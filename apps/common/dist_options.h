#pragma once

#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

#include "common/app_common.h"
#include "samri/dist/launch_env.h"

namespace samri::app {

// The data-parallel options that samri-train and samri-eval share.
struct DistOptions {
  int rank = -1, world = -1, local_rank = -1, master_port = -1;  // -1: not given
  std::string master_addr;
};

// Adds --rank, --world-size, --local-rank, --master-addr, --master-port, --backend and
// --dist-timeout to `cli` (or to an option group of it).
void add_dist_options(CLI::App& cli, DistOptions& dist, std::string& backend, int& timeout_s);

// The launch the flags, torchrun's variables or SLURM describe. With more than one rank, sends
// this rank's log to OUTPUT/logs/rank-K.log (creating the folder) and marks its lines.
dist::LaunchEnv launch_with_rank_log(const DistOptions& dist, const std::filesystem::path& output,
                                     LogOptions& log);

}  // namespace samri::app
