// module_state_dict and load_state_dict on small modules built here.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "samri/core/error.h"
#include "samri/model/checkpoint.h"

namespace samri::model {
namespace {

// A parameter-free child with a buffer, so that buffers and nesting both show in the names.
struct BlockImpl : torch::nn::Module {
  BlockImpl() { register_buffer("table", torch::zeros({2, 2})); }
};
TORCH_MODULE(Block);

struct NetImpl : torch::nn::Module {
  NetImpl() {
    register_parameter("gain", torch::ones({3}));
    register_buffer("steps", torch::zeros({1}, torch::kLong));
    register_module("lin", lin);
    register_module("block", block);
  }
  torch::nn::Linear lin{3, 2};
  Block block;
};
TORCH_MODULE(Net);

StateDict matching(torch::Dtype dtype = torch::kFloat) {
  StateDict sd;
  sd.insert("gain", torch::tensor({1.f, 2.f, 3.f}).to(dtype));
  sd.insert("steps", torch::tensor({int64_t{5}}));
  sd.insert("lin.weight", torch::arange(6, torch::kFloat).reshape({2, 3}).to(dtype));
  sd.insert("lin.bias", torch::tensor({0.5f, -0.5f}).to(dtype));
  sd.insert("block.table", torch::eye(2).to(dtype));
  return sd;
}

std::string load_error(torch::nn::Module& module, const StateDict& sd) {
  try {
    load_state_dict(module, sd, "file.pth");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(CheckpointLoading, StateDictNamesInPythonOrder) {
  Net net;
  const StateDict sd = module_state_dict(*net);
  std::vector<std::string> keys;
  for (const auto& [key, tensor] : sd.items()) keys.push_back(key);
  EXPECT_EQ(keys,
            (std::vector<std::string>{"gain", "steps", "lin.weight", "lin.bias", "block.table"}));
  EXPECT_FALSE(sd.at("gain").requires_grad());
}

TEST(CheckpointLoading, CopiesValuesWithCast) {
  Net net;
  load_state_dict(*net, matching(torch::kHalf), "file.pth");
  EXPECT_EQ(net->lin->weight.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(net->lin->weight, torch::arange(6, torch::kFloat).reshape({2, 3})));
  EXPECT_TRUE(torch::equal(net->lin->bias, torch::tensor({0.5f, -0.5f})));
  EXPECT_TRUE(torch::equal(net->block->named_buffers()["table"], torch::eye(2)));
  EXPECT_EQ(net->named_buffers()["steps"].item<int64_t>(), 5);
  EXPECT_TRUE(net->lin->weight.requires_grad());
}

TEST(CheckpointLoading, ListsEveryKindOfMismatch) {
  Net net;
  StateDict sd;
  sd.insert("gain", torch::zeros({4}));
  sd.insert("lin.weight", torch::zeros({2, 3}));
  sd.insert("lin.bias", torch::zeros({2}));
  sd.insert("head.weight", torch::zeros({1}));
  const std::string message = load_error(*net, sd);
  EXPECT_EQ(
      message,
      "file.pth: the checkpoint does not fit the model; 2 missing keys: steps, block.table; "
      "1 unexpected keys: head.weight; 1 keys of the wrong shape: gain (file [4], model [3])");
  // Nothing was copied.
  EXPECT_TRUE(torch::equal(net->named_parameters()["gain"], torch::ones({3})));
}

TEST(CheckpointLoading, ShortensLongLists) {
  Net net;
  StateDict sd = matching();
  for (int i = 0; i < 8; ++i) sd.insert("extra." + std::to_string(i), torch::zeros({1}));
  const std::string message = load_error(*net, sd);
  EXPECT_NE(message.find("8 unexpected keys: extra.0, extra.1, extra.2, extra.3, extra.4, ..."),
            std::string::npos)
      << message;
}

TEST(CheckpointLoading, AdoptTakesTheTensorsThemselvesAndCastsOnlyWhereNeeded) {
  Net net;
  net->named_buffers()["block.table"].fill_(9.0f);
  const StateDict sd = matching();
  adopt_state_dict(*net, sd, "file.pth");
  // Same dtype: the very memory given, no copy.
  EXPECT_EQ(net->lin->weight.data_ptr(), sd.at("lin.weight").data_ptr());
  EXPECT_TRUE(torch::equal(net->named_buffers()["block.table"], torch::eye(2)));
  EXPECT_EQ(net->named_buffers()["steps"].item<int64_t>(), 5);
  EXPECT_TRUE(net->lin->weight.requires_grad());  // the module's flag, not the tensor's

  Net doubled;
  doubled->to(torch::kDouble);
  adopt_state_dict(*doubled, matching(torch::kHalf), "file.pth");
  EXPECT_EQ(doubled->lin->weight.scalar_type(), torch::kDouble);
  EXPECT_TRUE(torch::equal(doubled->lin->bias, torch::tensor({0.5, -0.5}, torch::kDouble)));
}

TEST(CheckpointLoading, AdoptRefusesAMisfitAndChangesNothing) {
  Net net;
  StateDict sd = matching();
  sd.insert("head.weight", torch::zeros({1}));
  try {
    adopt_state_dict(*net, sd, "file.pth");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "file.pth: the checkpoint does not fit the model; 1 unexpected keys: head.weight");
  }
  EXPECT_TRUE(torch::equal(net->named_parameters()["gain"], torch::ones({3})));
}

// image_encoder.patch_embed.proj with a configurable width, as in SAM.
struct EncoderImpl : torch::nn::Module {
  explicit EncoderImpl(int64_t width) {
    auto patch = register_module("patch_embed", std::make_shared<torch::nn::Module>());
    patch->register_module("proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, width, 1)));
  }
};
TORCH_MODULE(Encoder);

struct FakeSamImpl : torch::nn::Module {
  explicit FakeSamImpl(int64_t width) { register_module("image_encoder", Encoder(width)); }
};
TORCH_MODULE(FakeSam);

TEST(CheckpointLoading, HintsAtTheModelSize) {
  FakeSam vit_b(768);
  const StateDict vit_h = module_state_dict(*FakeSam(1280));
  const std::string message = load_error(*vit_b, vit_h);
  EXPECT_NE(message.find("image_encoder.patch_embed.proj.weight (file [1280, 1, 1, 1], model "
                         "[768, 1, 1, 1])"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("; this looks like a vit_h checkpoint; use --model vit_h"),
            std::string::npos)
      << message;
  EXPECT_NE(load_error(*FakeSam(1024), module_state_dict(*vit_b)).find("use --model vit_b"),
            std::string::npos);
  // An unknown width gives no hint.
  EXPECT_EQ(load_error(*vit_b, module_state_dict(*FakeSam(64))).find("looks like"),
            std::string::npos);
}

}  // namespace
}  // namespace samri::model
