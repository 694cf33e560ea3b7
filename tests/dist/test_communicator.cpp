#include "samri/dist/communicator.h"

#include <gtest/gtest.h>

#include <functional>
#include <future>
#include <thread>

#include "samri/core/error.h"
#include "support/free_port.h"

namespace samri::dist {
namespace {

LaunchEnv rank_env(int rank, int world, int port) {
  LaunchEnv e;
  e.rank = rank;
  e.world = world;
  e.master_addr = "127.0.0.1";
  e.master_port = port;
  e.source = "flags";
  return e;
}

// Runs `body` as every rank of a `world`-rank job in threads of this process; a rank's exception
// is rethrown here.
void run_ranks(int world, const std::function<void(Communicator&)>& body,
               std::chrono::seconds timeout = std::chrono::seconds(30)) {
  const int port = samri::test::free_port();
  std::vector<std::future<void>> ranks;
  for (int r = 0; r < world; ++r) {
    ranks.push_back(std::async(std::launch::async, [=] {
      Communicator comm(rank_env(r, world, port), "gloo", timeout, torch::kCPU);
      body(comm);
    }));
  }
  for (auto& f : ranks) f.get();
}

TEST(Communicator, AWorldOfOneNeedsNoRendezvous) {
  Communicator one;
  torch::Tensor t = torch::ones({3});
  one.all_reduce_sum(t);
  one.barrier();
  EXPECT_TRUE(torch::equal(t, torch::ones({3})));
  EXPECT_EQ(one.broadcast("x"), "x");
  EXPECT_EQ(one.all_gather("y"), std::vector<std::string>({"y"}));
  EXPECT_EQ(one.backend(), "none");
}

TEST(Communicator, AllReduceSumsAndMessagesReachEveryRank) {
  run_ranks(3, [](Communicator& comm) {
    EXPECT_EQ(comm.backend(), "gloo");
    torch::Tensor t = torch::full({5}, static_cast<float>(comm.rank() + 1));
    comm.all_reduce_sum(t);
    EXPECT_TRUE(torch::equal(t, torch::full({5}, 6.0f)));
    EXPECT_EQ(comm.broadcast(comm.is_root() ? "from root" : "ignored"), "from root");
    EXPECT_EQ(comm.all_gather(std::to_string(comm.rank() * 10)),
              std::vector<std::string>({"0", "10", "20"}));
    const std::vector<std::string> gathered = comm.gather("r" + std::to_string(comm.rank()));
    EXPECT_EQ(gathered, comm.is_root() ? std::vector<std::string>({"r0", "r1", "r2"})
                                       : std::vector<std::string>());
    comm.barrier();
    comm.check_same("config", "same");
  });
}

TEST(Communicator, DifferentValuesAreRefusedOnEveryRankNamingTheRank) {
  std::atomic<int> refused{0};
  run_ranks(2, [&](Communicator& comm) {
    try {
      comm.check_same("config", comm.rank() == 0 ? "a" : "b");
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("rank 1 was started with another config"),
                std::string::npos);
      ++refused;
    }
  });
  EXPECT_EQ(refused, 2);
}

TEST(Communicator, ARendezvousThatNeverCompletesTimesOutNamingTheAddress) {
  const int port = samri::test::free_port();
  try {
    Communicator comm(rank_env(0, 2, port), "gloo", std::chrono::seconds(2), torch::kCPU);
    FAIL() << "a rendezvous without rank 1 completed";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << m;
    EXPECT_NE(m.find("did not complete within 2 s"), std::string::npos) << m;
  }
}

TEST(Communicator, AnAllReduceARankNeverReachesTimesOutNamingThatRank) {
  std::string message;
  const auto started = std::chrono::steady_clock::now();
  run_ranks(
      3,
      [&](Communicator& comm) {
        torch::Tensor t = torch::ones({4});
        comm.all_reduce_sum(t);
        if (comm.rank() == 2) {
          // Hangs past the others' timeout, then leaves without the second all-reduce.
          std::this_thread::sleep_for(std::chrono::seconds(4));
          return;
        }
        try {
          comm.all_reduce_sum(t);
          ADD_FAILURE() << "rank " << comm.rank() << ": an all-reduce without rank 2 completed";
        } catch (const Error& e) {
          if (comm.rank() == 0) message = e.what();
        }
      },
      std::chrono::seconds(2));
  EXPECT_NE(message.find("all-reduce #2 failed"), std::string::npos) << message;
  EXPECT_NE(message.find("rank 2 never reached it and went silent"), std::string::npos) << message;
  EXPECT_EQ(message.find("rank 1"), std::string::npos) << message;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));
}

TEST(Communicator, BackendsAreCheckedBeforeAnyRendezvous) {
  EXPECT_THROW(Communicator(rank_env(0, 2, 1), "mpi", std::chrono::seconds(1), torch::kCPU), Error);
  if (!Communicator::has_nccl()) {
    try {
      Communicator(rank_env(0, 2, 1), "nccl", std::chrono::seconds(1), torch::kCPU);
      FAIL() << "nccl accepted on a build without it";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("no NCCL"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace samri::dist
