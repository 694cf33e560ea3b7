#pragma once

#include <array>
#include <string>
#include <vector>

namespace samri::model {

// Field names follow the reference builder arguments (and ../shared/reference's sam_tiny.json).
struct ImageEncoderConfig {
  int img_size = 1024;
  int patch_size = 16;
  int in_chans = 3;
  int embed_dim = 768;
  int depth = 12;
  int num_heads = 12;
  double mlp_ratio = 4.0;
  int out_chans = 256;
  bool qkv_bias = true;
  bool use_rel_pos = true;
  int window_size = 14;
  std::vector<int> global_attn_indexes{2, 5, 8, 11};
  double layer_norm_eps = 1e-6;
};

struct PromptEncoderConfig {
  int embed_dim = 256;
  std::array<int, 2> image_embedding_size{64, 64};  // (H, W)
  std::array<int, 2> input_image_size{1024, 1024};  // (H, W)
  int mask_in_chans = 16;
};

struct MaskDecoderConfig {
  int transformer_dim = 256;
  int transformer_depth = 2;
  int transformer_mlp_dim = 2048;
  int transformer_num_heads = 8;
  int attention_downsample_rate = 2;
  int num_multimask_outputs = 3;
  int iou_head_depth = 3;
  int iou_head_hidden_dim = 256;
};

struct SamConfig {
  std::string name = "vit_b";
  ImageEncoderConfig image_encoder;
  PromptEncoderConfig prompt_encoder;
  MaskDecoderConfig mask_decoder;
  std::array<double, 3> pixel_mean{123.675, 116.28, 103.53};
  std::array<double, 3> pixel_std{58.395, 57.12, 57.375};
  double mask_threshold = 0.0;

  static SamConfig vit_b();
  static SamConfig vit_l();
  static SamConfig vit_h();
  // Reads a JSON architecture file (unknown fields are an error, missing ones keep ViT-B values).
  static SamConfig from_json_file(const std::string& path);
  // "vit_b", "vit_l", "vit_h" or a path to a JSON file.
  static SamConfig from_name_or_file(const std::string& name_or_path);
  std::string to_json() const;
};

// The one place that knows which configs can be built. Each throws samri::Error starting with
// `where` and naming the field and the values that disagree.
void check_encoder_config(const ImageEncoderConfig& c, const std::string& where);
// The encoder's rules, and the prompt encoder and mask decoder agreeing with the encoder.
void check_sam_config(const SamConfig& c, const std::string& where);

}  // namespace samri::model
