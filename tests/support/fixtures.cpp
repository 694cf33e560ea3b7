#include <gtest/gtest.h>

#include "support/fixtures.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "samri/model/checkpoint.h"

namespace samri::test {

std::string data_path(const std::string& relative) {
  return std::string(SAMRI_TEST_DATA_DIR) + "/" + relative;
}

torch::Tensor expected(const std::string& name) {
  static std::map<std::string, torch::Tensor> table;
  static std::once_flag once;
  std::call_once(once, [] {
    std::ifstream in(data_path("sam_tiny/expected.pth"), std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // expected.pth is a plain dict, which LibTorch's own reader handles; the project's reader is
    // tested on the checkpoints themselves.
    for (const auto& kv : torch::pickle_load(bytes).toGenericDict()) {
      table[kv.key().toStringRef()] = kv.value().toTensor();
    }
  });
  const auto it = table.find(name);
  if (it == table.end()) throw std::runtime_error("expected.pth has no tensor " + name);
  return it->second;
}

const samri::model::SamConfig& tiny_config() {
  static const auto config =
      samri::model::SamConfig::from_json_file(data_path("sam_tiny/sam_tiny.json"));
  return config;
}

const samri::model::StateDict& tiny_weights() {
  static const auto weights = samri::model::read_checkpoint(data_path("sam_tiny/sam_tiny.pth"));
  return weights;
}

::testing::AssertionResult all_close_rel(const torch::Tensor& actual, const torch::Tensor& expected,
                                         double rel) {
  if (actual.sizes() != expected.sizes()) {
    return ::testing::AssertionFailure()
           << "shape " << actual.sizes() << " differs from expected " << expected.sizes();
  }
  const auto a = actual.detach().to(torch::kCPU, torch::kDouble);
  const auto b = expected.detach().to(torch::kCPU, torch::kDouble);
  const double scale = b.abs().max().item<double>();
  const double diff = (a - b).abs().max().item<double>();
  if (diff <= rel * scale) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "max |diff| " << diff << " > " << rel << " * max |expected| " << scale;
}

std::string temp_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = "samri_test";
  if (info) name += std::string("_") + info->test_suite_name() + "_" + info->name();
  const auto dir = std::filesystem::temp_directory_path() / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

void write_colin_crop_list(const std::string& csv, const std::vector<std::string>& patients) {
  std::ofstream out(csv);
  out << "image,label,patient\n";
  for (const auto& patient : patients) {
    out << data_path("infer/ch2_crop.nii.gz") << "," << data_path("infer/aal_crop.nii.gz") << ","
        << patient << "\n";
  }
}

}  // namespace samri::test
