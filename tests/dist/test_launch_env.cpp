#include "samri/dist/launch_env.h"

#include <gtest/gtest.h>

#include <map>

#include "samri/core/error.h"

namespace samri::dist {
namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Hostlist, ExpandsAsScontrolShowHostnames) {
  using V = std::vector<std::string>;
  EXPECT_EQ(expand_hostlist("node1"), V({"node1"}));
  EXPECT_EQ(expand_hostlist("gpu[01-03,07],login2"),
            V({"gpu01", "gpu02", "gpu03", "gpu07", "login2"}));
  EXPECT_EQ(expand_hostlist("n[8-10]"), V({"n8", "n9", "n10"}));
  EXPECT_EQ(expand_hostlist("rack[1-2]-n[1-2]"),
            V({"rack1-n1", "rack1-n2", "rack2-n1", "rack2-n2"}));
  EXPECT_THROW(expand_hostlist("gpu[01-03"), Error);
  EXPECT_THROW(expand_hostlist(""), Error);
}

TEST(Launch, NothingSetIsOneProcess) {
  const LaunchEnv e = detect_launch({}, env_of({}));
  EXPECT_EQ(e.world, 1);
  EXPECT_EQ(e.rank, 0);
  EXPECT_EQ(e.source, "single");
}

TEST(Launch, SlurmCountsOnlyInsideAJobStep) {
  std::map<std::string, std::string> vars{{"SLURM_PROCID", "3"},
                                          {"SLURM_NTASKS", "4"},
                                          {"SLURM_LOCALID", "1"},
                                          {"SLURM_JOB_NODELIST", "gpu[07-08]"},
                                          {"SLURM_JOB_ID", "123456"}};
  // A batch script with SLURM_NTASKS=4 but no step of srun: one process, waiting for nobody.
  EXPECT_EQ(detect_launch({}, env_of(vars)).world, 1);
  vars["SLURM_STEP_ID"] = "batch";
  EXPECT_EQ(detect_launch({}, env_of(vars)).world, 1);
  vars["SLURM_STEP_ID"] = "0";
  const LaunchEnv e = detect_launch({}, env_of(vars));
  EXPECT_EQ(e.source, "slurm");
  EXPECT_EQ(e.rank, 3);
  EXPECT_EQ(e.world, 4);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.master_addr, "gpu07");
  EXPECT_EQ(e.master_port, 20000 + 123456 % 20000);
  vars["SLURM_JOB_ID"] = "123457";
  EXPECT_NE(detect_launch({}, env_of(vars)).master_port, e.master_port);
}

TEST(Launch, TorchrunVariablesWinOverSlurmAndFlagsOverBoth) {
  const auto env = env_of({{"RANK", "1"},
                           {"WORLD_SIZE", "2"},
                           {"LOCAL_RANK", "0"},
                           {"MASTER_ADDR", "head"},
                           {"MASTER_PORT", "29400"},
                           {"SLURM_STEP_ID", "0"},
                           {"SLURM_PROCID", "0"},
                           {"SLURM_NTASKS", "8"}});
  const LaunchEnv t = detect_launch({}, env);
  EXPECT_EQ(t.source, "torchrun");
  EXPECT_EQ(t.rank, 1);
  EXPECT_EQ(t.world, 2);
  EXPECT_EQ(t.master_addr, "head");
  EXPECT_EQ(t.master_port, 29400);
  LaunchFlags flags;
  flags.rank = 0;
  flags.master_port = 30000;
  const LaunchEnv f = detect_launch(flags, env);
  EXPECT_EQ(f.source, "flags");
  EXPECT_EQ(f.rank, 0);
  EXPECT_EQ(f.world, 2);
  EXPECT_EQ(f.master_port, 30000);
}

TEST(Launch, BadValuesAreRefusedNamingThem) {
  auto message = [](const LaunchFlags& flags, const EnvLookup& env) {
    try {
      detect_launch(flags, env);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({}, env_of({{"RANK", "x"}, {"WORLD_SIZE", "2"}})).find("RANK='x'"),
            std::string::npos);
  EXPECT_NE(
      message({}, env_of({{"RANK", "2"}, {"WORLD_SIZE", "2"}})).find("rank 2 is out of range"),
      std::string::npos);
  LaunchFlags zero;
  zero.world = 0;
  EXPECT_NE(message(zero, env_of({})).find("world size 0"), std::string::npos);
  LaunchFlags port;
  port.master_port = 70000;
  EXPECT_NE(message(port, env_of({})).find("port 70000"), std::string::npos);
}

}  // namespace
}  // namespace samri::dist
