#include "common/dist_options.h"

namespace samri::app {

void add_dist_options(CLI::App& cli, DistOptions& dist, std::string& backend, int& timeout_s) {
  cli.add_option("--rank", dist.rank, "data-parallel rank (default: from SLURM or RANK)");
  cli.add_option("--world-size", dist.world,
                 "number of ranks (default: SLURM_NTASKS or WORLD_SIZE)");
  cli.add_option("--local-rank", dist.local_rank, "rank on this node: the GPU it takes");
  cli.add_option("--master-addr", dist.master_addr, "rendezvous host (rank 0's) [127.0.0.1]");
  cli.add_option("--master-port", dist.master_port,
                 "rendezvous port [29500; under SLURM derived from the job id]");
  cli.add_option("--backend", backend, "c10d backend: auto, gloo or nccl [auto]");
  cli.add_option("--dist-timeout", timeout_s,
                 "seconds after which a rank that died or hangs stops the others [300]");
}

dist::LaunchEnv launch_with_rank_log(const DistOptions& dist, const std::filesystem::path& output,
                                     LogOptions& log) {
  dist::LaunchFlags flags;
  if (dist.rank >= 0) flags.rank = dist.rank;
  if (dist.world >= 0) flags.world = dist.world;
  if (dist.local_rank >= 0) flags.local_rank = dist.local_rank;
  if (dist.master_port >= 0) flags.master_port = dist.master_port;
  if (!dist.master_addr.empty()) flags.master_addr = dist.master_addr;
  const dist::LaunchEnv launch = dist::detect_launch(flags);
  if (launch.world > 1) {
    const auto logs = output / "logs";
    std::filesystem::create_directories(logs);
    log.rank = launch.rank;
    log.log_file = (logs / ("rank-" + std::to_string(launch.rank) + ".log")).string();
  }
  return launch;
}

}  // namespace samri::app
