#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "samri/model/sam_config.h"
#include "samri/model/state_dict.h"

namespace samri::test {

// tests/data (copied from ../shared/reference, so tests pass on a fresh clone).
std::string data_path(const std::string& relative);

// tests/data/sam_tiny/expected.pth: golden inputs and outputs of the reference implementation.
torch::Tensor expected(const std::string& name);

// The tiny SAM's architecture and weights (tests/data/sam_tiny/sam_tiny.{json,pth}).
const samri::model::SamConfig& tiny_config();
const samri::model::StateDict& tiny_weights();

// max |a - b| <= rel * max |b| (the parity criterion of the reference fixtures' README).
::testing::AssertionResult all_close_rel(const torch::Tensor& actual, const torch::Tensor& expected,
                                         double rel = 1e-4);

// A fresh empty folder under the system temp dir, named for the running test.
std::string temp_dir();

// A samri-preprocess list file (image,label,patient) naming the Colin27 crop (ch2_crop +
// aal_crop, 140 x 170 x 4) once per patient name.
void write_colin_crop_list(const std::string& csv, const std::vector<std::string>& patients);

}  // namespace samri::test
