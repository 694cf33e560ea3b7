#include "samri/model/sam_config.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "samri/core/error.h"
#include "samri/core/json_file.h"

namespace samri::model {
namespace {

using nlohmann::json;

SamConfig vit(const std::string& name, int dim, int depth, int heads, std::vector<int> global) {
  SamConfig c;
  c.name = name;
  c.image_encoder.embed_dim = dim;
  c.image_encoder.depth = depth;
  c.image_encoder.num_heads = heads;
  c.image_encoder.global_attn_indexes = std::move(global);
  return c;
}

// Copies the fields of `j` into the struct fields named alike; any other field is an error, so
// that a typo in a config file never silently falls back to a default.
class FieldReader {
 public:
  FieldReader(const json& j, std::string where) : j_(j), where_(std::move(where)) {
    if (!j.is_object()) throw Error(where_ + ": expected a JSON object");
  }
  template <typename T>
  FieldReader& get(const char* key, T& value) {
    seen_.push_back(key);
    if (!j_.contains(key)) return *this;
    try {
      value = j_.at(key).get<T>();
    } catch (const json::exception& e) {
      throw Error(where_ + "." + key + ": " + e.what());
    }
    return *this;
  }
  void no_others() const {
    for (const auto& item : j_.items()) {
      if (std::find(seen_.begin(), seen_.end(), item.key()) == seen_.end()) {
        throw Error(where_ + ": unknown field '" + item.key() + "'");
      }
    }
  }

 private:
  const json& j_;
  std::string where_;
  std::vector<std::string> seen_;
};

void read_encoder(const json& j, const std::string& where, ImageEncoderConfig& e) {
  FieldReader r(j, where);
  r.get("img_size", e.img_size).get("patch_size", e.patch_size).get("in_chans", e.in_chans);
  r.get("embed_dim", e.embed_dim).get("depth", e.depth).get("num_heads", e.num_heads);
  r.get("mlp_ratio", e.mlp_ratio).get("out_chans", e.out_chans).get("qkv_bias", e.qkv_bias);
  r.get("use_rel_pos", e.use_rel_pos).get("window_size", e.window_size);
  r.get("global_attn_indexes", e.global_attn_indexes).get("layer_norm_eps", e.layer_norm_eps);
  r.no_others();
}

void read_prompt_encoder(const json& j, const std::string& where, PromptEncoderConfig& p) {
  FieldReader r(j, where);
  r.get("embed_dim", p.embed_dim).get("image_embedding_size", p.image_embedding_size);
  r.get("input_image_size", p.input_image_size).get("mask_in_chans", p.mask_in_chans);
  r.no_others();
}

void read_decoder(const json& j, const std::string& where, MaskDecoderConfig& d) {
  FieldReader r(j, where);
  r.get("transformer_dim", d.transformer_dim).get("transformer_depth", d.transformer_depth);
  r.get("transformer_mlp_dim", d.transformer_mlp_dim);
  r.get("transformer_num_heads", d.transformer_num_heads);
  r.get("attention_downsample_rate", d.attention_downsample_rate);
  r.get("num_multimask_outputs", d.num_multimask_outputs);
  r.get("iou_head_depth", d.iou_head_depth).get("iou_head_hidden_dim", d.iou_head_hidden_dim);
  r.no_others();
}

}  // namespace

SamConfig SamConfig::vit_b() { return vit("vit_b", 768, 12, 12, {2, 5, 8, 11}); }
SamConfig SamConfig::vit_l() { return vit("vit_l", 1024, 24, 16, {5, 11, 17, 23}); }
SamConfig SamConfig::vit_h() { return vit("vit_h", 1280, 32, 16, {7, 15, 23, 31}); }

SamConfig SamConfig::from_json_file(const std::string& path) {
  const json j = read_json_file(path, "model config file");
  SamConfig c = vit_b();
  c.name = std::filesystem::path(path).stem().string();
  FieldReader r(j, path);
  r.get("name", c.name).get("pixel_mean", c.pixel_mean).get("pixel_std", c.pixel_std);
  r.get("mask_threshold", c.mask_threshold);
  json empty = json::object();
  json sub;
  r.get("image_encoder", sub);
  read_encoder(sub.is_null() ? empty : sub, path + ": image_encoder", c.image_encoder);
  sub = nullptr;
  r.get("prompt_encoder", sub);
  read_prompt_encoder(sub.is_null() ? empty : sub, path + ": prompt_encoder", c.prompt_encoder);
  sub = nullptr;
  r.get("mask_decoder", sub);
  read_decoder(sub.is_null() ? empty : sub, path + ": mask_decoder", c.mask_decoder);
  r.no_others();
  check_sam_config(c, path);
  return c;
}

SamConfig SamConfig::from_name_or_file(const std::string& name_or_path) {
  if (name_or_path == "vit_b") return vit_b();
  if (name_or_path == "vit_l") return vit_l();
  if (name_or_path == "vit_h") return vit_h();
  if (std::filesystem::exists(name_or_path)) return from_json_file(name_or_path);
  throw Error("model '" + name_or_path +
              "': not one of vit_b, vit_l, vit_h and not an existing JSON config file");
}

std::string SamConfig::to_json() const {
  const auto& e = image_encoder;
  const auto& p = prompt_encoder;
  const auto& d = mask_decoder;
  json j = {{"name", name},
            {"image_encoder",
             {{"img_size", e.img_size},
              {"patch_size", e.patch_size},
              {"in_chans", e.in_chans},
              {"embed_dim", e.embed_dim},
              {"depth", e.depth},
              {"num_heads", e.num_heads},
              {"mlp_ratio", e.mlp_ratio},
              {"out_chans", e.out_chans},
              {"qkv_bias", e.qkv_bias},
              {"use_rel_pos", e.use_rel_pos},
              {"window_size", e.window_size},
              {"global_attn_indexes", e.global_attn_indexes},
              {"layer_norm_eps", e.layer_norm_eps}}},
            {"prompt_encoder",
             {{"embed_dim", p.embed_dim},
              {"image_embedding_size", p.image_embedding_size},
              {"input_image_size", p.input_image_size},
              {"mask_in_chans", p.mask_in_chans}}},
            {"mask_decoder",
             {{"transformer_dim", d.transformer_dim},
              {"transformer_depth", d.transformer_depth},
              {"transformer_mlp_dim", d.transformer_mlp_dim},
              {"transformer_num_heads", d.transformer_num_heads},
              {"attention_downsample_rate", d.attention_downsample_rate},
              {"num_multimask_outputs", d.num_multimask_outputs},
              {"iou_head_depth", d.iou_head_depth},
              {"iou_head_hidden_dim", d.iou_head_hidden_dim}}},
            {"pixel_mean", pixel_mean},
            {"pixel_std", pixel_std},
            {"mask_threshold", mask_threshold}};
  return j.dump(2);
}

void check_encoder_config(const ImageEncoderConfig& c, const std::string& where) {
  if (c.img_size < 1 || c.patch_size < 1 || c.img_size % c.patch_size != 0) {
    throw Error(where + ": image_encoder.img_size " + std::to_string(c.img_size) +
                " is not a positive multiple of patch_size " + std::to_string(c.patch_size));
  }
  if (c.in_chans < 1 || c.embed_dim < 1 || c.depth < 0 || c.out_chans < 1 || c.window_size < 0) {
    throw Error(where +
                ": image_encoder.in_chans, embed_dim and out_chans must be positive, depth and "
                "window_size not negative");
  }
  if (c.num_heads < 1 || c.embed_dim % c.num_heads != 0) {
    throw Error(where + ": image_encoder.embed_dim " + std::to_string(c.embed_dim) +
                " is not a positive multiple of num_heads " + std::to_string(c.num_heads));
  }
  for (const int index : c.global_attn_indexes) {
    if (index < 0 || index >= c.depth) {
      throw Error(where + ": image_encoder.global_attn_indexes names block " +
                  std::to_string(index) + " of a depth-" + std::to_string(c.depth) + " encoder");
    }
  }
}

void check_sam_config(const SamConfig& c, const std::string& where) {
  check_encoder_config(c.image_encoder, where);
  const auto& e = c.image_encoder;
  const auto& p = c.prompt_encoder;
  const int grid = e.img_size / e.patch_size;
  if (p.embed_dim != e.out_chans) {
    throw Error(where + ": prompt_encoder.embed_dim " + std::to_string(p.embed_dim) +
                " != image_encoder.out_chans " + std::to_string(e.out_chans));
  }
  if (c.mask_decoder.transformer_dim != p.embed_dim) {
    throw Error(where + ": mask_decoder.transformer_dim " +
                std::to_string(c.mask_decoder.transformer_dim) + " != prompt_encoder.embed_dim " +
                std::to_string(p.embed_dim));
  }
  if (p.image_embedding_size[0] != grid || p.image_embedding_size[1] != grid) {
    throw Error(where + ": prompt_encoder.image_embedding_size must be img_size / patch_size = " +
                std::to_string(grid));
  }
  if (p.input_image_size[0] != e.img_size || p.input_image_size[1] != e.img_size) {
    throw Error(where + ": prompt_encoder.input_image_size must be img_size = " +
                std::to_string(e.img_size));
  }
}

}  // namespace samri::model
