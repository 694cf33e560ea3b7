#include "samri/model/scratch_buffer.h"

#include <thread>

#include <gtest/gtest.h>

namespace samri::model {
namespace {

TEST(ScratchBuffer, ReusesItsMemoryForEqualOrSmallerRequests) {
  ScratchBuffer scratch;
  EXPECT_EQ(scratch.bytes(), 0);
  auto first = scratch.take({4, 5, 6}, torch::kFloat);
  EXPECT_EQ(first.sizes(), (std::vector<int64_t>{4, 5, 6}));
  EXPECT_TRUE(first.is_contiguous());
  EXPECT_EQ(scratch.bytes(), 4 * 5 * 6 * 4);
  const void* memory = first.data_ptr();
  first.fill_(1.0);
  const auto smaller = scratch.take({10, 3}, torch::kFloat);
  EXPECT_EQ(smaller.data_ptr(), memory);
  EXPECT_EQ(scratch.bytes(), 4 * 5 * 6 * 4);
}

TEST(ScratchBuffer, GrowsForLargerRequestsAndAnotherDtype) {
  ScratchBuffer scratch;
  scratch.take({8}, torch::kFloat);
  scratch.take({100}, torch::kFloat);
  EXPECT_EQ(scratch.bytes(), 100 * 4);
  const auto half = scratch.take({10}, torch::kBFloat16);
  EXPECT_EQ(half.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(scratch.bytes(), 10 * 2);
  scratch.release();
  EXPECT_EQ(scratch.bytes(), 0);
}

// Memory taken in inference mode cannot be written outside it, so it is not handed out there.
TEST(ScratchBuffer, DoesNotHandInferenceTensorsOutsideInferenceMode) {
  ScratchBuffer scratch;
  {
    c10::InferenceMode inference;
    EXPECT_TRUE(scratch.take({16}, torch::kFloat).is_inference());
  }
  auto normal = scratch.take({16}, torch::kFloat);
  EXPECT_FALSE(normal.is_inference());
  normal.fill_(2.0);  // would throw for an inference tensor
}

// Whether a lease taken on another thread gets the buffer.
bool another_thread_gets_it(ScratchBuffer& scratch) {
  bool holds = false;
  std::thread([&] {
    const ScratchBuffer::Lease lease(scratch);
    holds = scratch.held_by_this_thread();
  }).join();
  return holds;
}

TEST(ScratchBuffer, OneThreadAtATimeHoldsTheLease) {
  ScratchBuffer scratch;
  EXPECT_FALSE(scratch.held_by_this_thread());
  {
    const ScratchBuffer::Lease lease(scratch);
    EXPECT_TRUE(scratch.held_by_this_thread());
    EXPECT_FALSE(another_thread_gets_it(scratch));
    {
      const ScratchBuffer::Lease nested(scratch);  // same thread: no second claim, no early release
    }
    EXPECT_TRUE(scratch.held_by_this_thread());
  }
  EXPECT_FALSE(scratch.held_by_this_thread());
  EXPECT_TRUE(another_thread_gets_it(scratch));
}

}  // namespace
}  // namespace samri::model
