#include <gtest/gtest.h>

#include <fstream>

#include "samri/core/error.h"
#include "samri/data/prompts_file.h"
#include "support/fixtures.h"

namespace {

std::string write_file(const std::string& text) {
  const std::string path = samri::test::temp_dir() + "/prompts.json";
  std::ofstream(path) << text;
  return path;
}

TEST(PromptsFile, ReadsTheDocumentedExample) {
  const auto file = samri::data::read_prompts_file(write_file(
      R"({"axis": 2, "prompts": [{"slice": 40, "label": 3, "box": [10, 20, 60, 80],
          "points": [[30, 50, 1], [12, 8, 0], [1, 2]]}, {"slice": 41, "points": [[5, 6]]}]})"));
  ASSERT_TRUE(file.axis.has_value());
  EXPECT_EQ(*file.axis, 2);
  ASSERT_EQ(file.prompts.size(), 2u);
  const auto& p = file.prompts[0];
  EXPECT_EQ(p.slice, 40);
  EXPECT_EQ(p.label, 3);
  ASSERT_TRUE(p.prompt.box.has_value());
  EXPECT_EQ(*p.prompt.box, (std::array<float, 4>{10, 20, 60, 80}));
  ASSERT_EQ(p.prompt.points.size(), 3u);
  EXPECT_EQ(p.prompt.points[1], (std::array<float, 2>{12, 8}));
  EXPECT_EQ(p.prompt.point_labels, (std::vector<int>{1, 0, 1}));
  EXPECT_EQ(file.prompts[1].label, 1);
  EXPECT_FALSE(file.prompts[1].prompt.box.has_value());
}

void expect_error(const std::string& text, const std::string& fragment) {
  const std::string path = write_file(text);
  try {
    samri::data::read_prompts_file(path);
    FAIL() << "expected an error for " << text;
  } catch (const samri::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
  }
}

TEST(PromptsFile, BadFilesAreClearErrors) {
  expect_error("{not json", "not valid JSON");
  expect_error(R"({"prompts": []})", "empty");
  expect_error(R"({"prompts": [{"label": 1, "box": [1,2,3,4]}]})", "slice");
  expect_error(R"({"prompts": [{"slice": 1}]})", "box");
  expect_error(R"({"prompts": [{"slice": 1, "box": [1,2,3]}]})", "box");
  expect_error(R"({"prompts": [{"slice": 1, "points": [[1,2,5]]}]})", "label");
  expect_error(R"({"prompts": [{"slice": 1, "box": [1,2,3,4], "colour": 1}]})", "unknown field");
  EXPECT_THROW(samri::data::read_prompts_file("/nonexistent/prompts.json"), samri::Error);
}

}  // namespace

namespace {

TEST(PromptsFile, SeedsOfOneLabelAreOneObject) {
  const auto file = samri::data::read_prompts_file(write_file(
      R"({"prompts": [{"slice": 4, "label": 2, "box": [1, 2, 3, 4], "propagate": true},
                      {"slice": 9, "label": 2, "box": [1, 2, 5, 6], "propagate": true},
                      {"slice": 9, "label": 3, "box": [1, 2, 5, 6]}]})"));
  ASSERT_EQ(file.prompts.size(), 3u);
  EXPECT_TRUE(file.prompts[0].propagate);
  EXPECT_TRUE(file.prompts[1].propagate);
  EXPECT_FALSE(file.prompts[2].propagate);
}

TEST(PromptsFile, BadSeedsAreClearErrors) {
  expect_error(R"({"prompts": [{"slice": 4, "box": [1, 2, 3, 4], "propagate": 1}]})",
               "\"propagate\" must be true or false");
  expect_error(R"({"prompts": [{"slice": 4, "points": [[1, 2]], "propagate": true}]})",
               "a propagated prompt needs a \"box\"");
  expect_error(R"({"prompts": [{"slice": 4, "label": 5, "box": [1, 2, 3, 4]},
                               {"slice": 6, "label": 5, "box": [1, 2, 3, 4], "propagate": true}]})",
               "label 5 is already used by prompt 0 (slice 4)");
  expect_error(R"({"prompts": [{"slice": 4, "box": [1, 2, 3, 4], "propagate": true},
                               {"slice": 4, "box": [1, 2, 5, 6], "propagate": true}]})",
               "are two seeds of label 1 on one slice");
}

}  // namespace
