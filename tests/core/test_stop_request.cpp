#include "samri/core/stop_request.h"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <thread>

namespace samri {
namespace {

// Each case runs in a child process (a death test): the handlers stay out of the test runner.
class StopRequestDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { ::testing::GTEST_FLAG(death_test_style) = "threadsafe"; }
};

TEST_F(StopRequestDeathTest, ASignalIsRecordedAndItsEchoIsIgnored) {
  EXPECT_EXIT(
      {
        install_stop_handlers();
        std::raise(SIGTERM);
        const bool asked = stop_requested() && stop_signal() == SIGTERM;
        std::raise(SIGTERM);  // as srun forwards scancel's SIGTERM to a task that got it already
        std::_Exit(asked && stop_requested() ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST_F(StopRequestDeathTest, ASecondSigtermLaterEndsTheProcessAtOnce) {
  EXPECT_EXIT(
      {
        install_stop_handlers();
        std::raise(SIGUSR1);
        std::raise(SIGUSR1);  // USR1 never insists
        std::this_thread::sleep_for(std::chrono::milliseconds(2100));
        std::raise(SIGTERM);
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(128 + SIGTERM), "");
}

}  // namespace
}  // namespace samri
