#include "samri/dist/launch_env.h"

#include <cstdlib>

#include "samri/core/error.h"

namespace samri::dist {

namespace {

int parse_int(const std::string& text, const std::string& what) {
  std::size_t used = 0;
  int value = 0;
  try {
    value = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size()) {
    throw Error(what + "='" + text + "': expected a whole number");
  }
  return value;
}

std::optional<int> env_int(const EnvLookup& env, const std::string& name) {
  const auto text = env(name);
  if (!text || text->empty()) return std::nullopt;
  return parse_int(*text, name);
}

bool from_torchrun(const EnvLookup& env, LaunchEnv& out) {
  const auto rank = env_int(env, "RANK"), world = env_int(env, "WORLD_SIZE");
  if (!rank || !world) return false;
  out.rank = *rank;
  out.world = *world;
  out.local_rank = env_int(env, "LOCAL_RANK").value_or(*rank);
  if (const auto addr = env("MASTER_ADDR"); addr && !addr->empty()) out.master_addr = *addr;
  out.master_port = env_int(env, "MASTER_PORT").value_or(out.master_port);
  out.source = "torchrun";
  return true;
}

bool from_slurm(const EnvLookup& env, LaunchEnv& out) {
  const auto step = env("SLURM_STEP_ID");
  // The batch script runs as step "batch" (or 4294967294, SLURM_BATCH_SCRIPT); srun's steps count.
  if (!step || step->empty() || *step == "batch" || *step == "4294967294") return false;
  const auto rank = env_int(env, "SLURM_PROCID"), world = env_int(env, "SLURM_NTASKS");
  if (!rank || !world) return false;
  out.rank = *rank;
  out.world = *world;
  out.local_rank = env_int(env, "SLURM_LOCALID").value_or(0);
  const auto nodes =
      env("SLURM_STEP_NODELIST") ? env("SLURM_STEP_NODELIST") : env("SLURM_JOB_NODELIST");
  if (nodes && !nodes->empty()) out.master_addr = expand_hostlist(*nodes).front();
  if (const auto job = env("SLURM_JOB_ID"); job && !job->empty()) {
    out.master_port = slurm_port(parse_int(*job, "SLURM_JOB_ID"));
  }
  out.source = "slurm";
  return true;
}

// "01-03" or "7" within brackets, keeping the zero padding of the range's first number.
void expand_range(const std::string& prefix, const std::string& range, const std::string& suffix,
                  std::vector<std::string>& out) {
  const auto dash = range.find('-');
  if (dash == std::string::npos) {
    out.push_back(prefix + range + suffix);
    return;
  }
  const std::string first = range.substr(0, dash), last = range.substr(dash + 1);
  const int a = parse_int(first, "host list range " + range);
  const int b = parse_int(last, "host list range " + range);
  for (int i = a; i <= b; ++i) {
    std::string n = std::to_string(i);
    if (n.size() < first.size()) n.insert(0, first.size() - n.size(), '0');
    out.push_back(prefix + n + suffix);
  }
}

// One comma-free host term: "node", "gpu[01-03,07]" or "rack[1-2]-n[1-2]" (the last bracket
// is expanded first so nested terms expand left to right).
void expand_term(const std::string& term, std::vector<std::string>& out) {
  const auto open = term.find('[');
  if (open == std::string::npos) {
    out.push_back(term);
    return;
  }
  const auto close = term.find(']', open);
  if (close == std::string::npos) throw Error("host list '" + term + "': unmatched '['");
  const std::string prefix = term.substr(0, open), rest = term.substr(close + 1);
  const std::string inner = term.substr(open + 1, close - open - 1);
  std::vector<std::string> heads;
  std::size_t start = 0;
  while (start <= inner.size()) {
    const auto comma = inner.find(',', start);
    const auto end = comma == std::string::npos ? inner.size() : comma;
    expand_range(prefix, inner.substr(start, end - start), "", heads);
    start = end + 1;
  }
  for (const auto& head : heads) expand_term(head + rest, out);
}

}  // namespace

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

std::vector<std::string> expand_hostlist(const std::string& list) {
  std::vector<std::string> out;
  int depth = 0;
  std::string term;
  for (const char c : list + ",") {
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (c == ',' && depth == 0) {
      if (!term.empty()) expand_term(term, out);
      term.clear();
    } else {
      term += c;
    }
  }
  if (out.empty()) throw Error("host list '" + list + "': no host in it");
  return out;
}

int slurm_port(long long job_id) { return 20000 + static_cast<int>(job_id % 20000); }

LaunchEnv detect_launch(const LaunchFlags& flags, const EnvLookup& env) {
  LaunchEnv out;
  if (!from_torchrun(env, out)) from_slurm(env, out);
  if (flags.rank || flags.world) out.source = "flags";
  if (flags.rank) out.rank = *flags.rank;
  if (flags.world) out.world = *flags.world;
  if (flags.local_rank) out.local_rank = *flags.local_rank;
  if (flags.master_addr) out.master_addr = *flags.master_addr;
  if (flags.master_port) out.master_port = *flags.master_port;
  if (out.world < 1)
    throw Error("world size " + std::to_string(out.world) + ": must be at least 1");
  if (out.rank < 0 || out.rank >= out.world) {
    throw Error("rank " + std::to_string(out.rank) + " is out of range for world size " +
                std::to_string(out.world) + " (from " + out.source + ")");
  }
  if (out.local_rank < 0)
    throw Error("local rank " + std::to_string(out.local_rank) + ": negative");
  if (out.master_port < 1 || out.master_port > 65535) {
    throw Error("rendezvous port " + std::to_string(out.master_port) + ": not in 1-65535");
  }
  return out;
}

}  // namespace samri::dist
