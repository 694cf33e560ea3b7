#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace samri::dist {

// Where this process stands in a data-parallel job: its rank among `world` processes, its rank on
// its node (which GPU it takes), and the rendezvous address that rank 0 serves.
struct LaunchEnv {
  int rank = 0;
  int world = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string source = "single";  // "flags", "torchrun", "slurm" or "single"
};

// What the user gave on the command line; set values win over the environment.
struct LaunchFlags {
  std::optional<int> rank, world, local_rank, master_port;
  std::optional<std::string> master_addr;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process's own environment.
EnvLookup process_env();

// The launch from the flags, else torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
// MASTER_PORT), else SLURM's (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, the first host of
// SLURM_JOB_NODELIST), which count only inside a job step (SLURM_STEP_ID set by srun, and not the
// batch script's own step) so that a batch script's lone process does not wait for ranks that
// never come. Under SLURM the port is derived from SLURM_JOB_ID, so two jobs on a node differ.
// Throws samri::Error naming the variable or flag for values out of range or not numbers.
LaunchEnv detect_launch(const LaunchFlags& flags, const EnvLookup& env = process_env());

// A SLURM host list ("gpu[01-03,07],login2") as `scontrol show hostnames` writes it.
std::vector<std::string> expand_hostlist(const std::string& list);

// The rendezvous port of SLURM job `job_id`: in [20000, 40000), the same on every node of the job.
int slurm_port(long long job_id);

}  // namespace samri::dist
