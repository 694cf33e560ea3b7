#include <gtest/gtest.h>

#include "samri/data/label_boxes.h"

namespace {

using samri::data::label_boxes;

TEST(LabelBoxes, TightestInclusiveBoxInColumnRowOrder) {
  auto labels = torch::zeros({6, 8}, torch::kInt32);
  labels.index_put_({torch::indexing::Slice(1, 3), torch::indexing::Slice(2, 7)}, 5);  // rows 1-2
  labels.index_put_({5, 0}, 2);
  const auto boxes = label_boxes(labels, 1);
  ASSERT_EQ(boxes.size(), 2u);
  EXPECT_EQ(boxes[0].label, 2);
  EXPECT_EQ(boxes[0].pixels, 1);
  EXPECT_EQ(boxes[0].box, (std::array<std::int64_t, 4>{0, 5, 0, 5}));
  EXPECT_EQ(boxes[1].label, 5);
  EXPECT_EQ(boxes[1].pixels, 10);
  // x = column 2..6, y = row 1..2
  EXPECT_EQ(boxes[1].box, (std::array<std::int64_t, 4>{2, 1, 6, 2}));
}

TEST(LabelBoxes, MinimumPixelsDropsSmallLabels) {
  auto labels = torch::zeros({4, 4}, torch::kInt64);
  labels.index_put_({0, torch::indexing::Slice(0, 3)}, 1);  // 3 pixels
  labels.index_put_({3, 3}, 7);                             // 1 pixel
  const auto boxes = label_boxes(labels, 3);
  ASSERT_EQ(boxes.size(), 1u);
  EXPECT_EQ(boxes[0].label, 1);
  EXPECT_TRUE(label_boxes(torch::zeros({3, 3}), 1).empty());
}

}  // namespace
