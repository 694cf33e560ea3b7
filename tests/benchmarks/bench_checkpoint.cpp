// Times write_checkpoint and read_checkpoint on a randomly initialised state_dict with the keys
// and shapes of the official SAM ViT-B checkpoint (sam_vit_b_01ec64.pth, 375,042,383 bytes).
//   samri_bench_checkpoint [runs] [path]   (a given path is kept, for comparing with Python)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <torch/types.h>

#include "samri/core/error.h"
#include "samri/model/checkpoint.h"

namespace {

using samri::model::StateDict;
using Shape = std::vector<int64_t>;

// ViT-B sizes (FACTS.md section 3).
constexpr int64_t kEmbed = 768, kDepth = 12, kHeadDim = 64, kWindow = 14, kGrid = 64;
constexpr int64_t kOut = 256, kMlpRatio = 4, kDecoderMlp = 2048, kDownsampled = 128;
constexpr int64_t kMaskInChans = 16, kIouHidden = 256, kMaskTokens = 4;

bool is_global_block(int64_t i) { return i == 2 || i == 5 || i == 8 || i == 11; }

void add(StateDict& sd, const std::string& key, const Shape& shape) {
  sd.insert(key, torch::randn(shape));
}

void add_linear(StateDict& sd, const std::string& prefix, int64_t in, int64_t out) {
  add(sd, prefix + ".weight", {out, in});
  add(sd, prefix + ".bias", {out});
}

void add_norm(StateDict& sd, const std::string& prefix, int64_t dim) {
  add(sd, prefix + ".weight", {dim});
  add(sd, prefix + ".bias", {dim});
}

void add_encoder_block(StateDict& sd, int64_t i) {
  const std::string p = "image_encoder.blocks." + std::to_string(i);
  const int64_t span = is_global_block(i) ? kGrid : kWindow;
  add_norm(sd, p + ".norm1", kEmbed);
  add(sd, p + ".attn.rel_pos_h", {2 * span - 1, kHeadDim});
  add(sd, p + ".attn.rel_pos_w", {2 * span - 1, kHeadDim});
  add_linear(sd, p + ".attn.qkv", kEmbed, 3 * kEmbed);
  add_linear(sd, p + ".attn.proj", kEmbed, kEmbed);
  add_norm(sd, p + ".norm2", kEmbed);
  add_linear(sd, p + ".mlp.lin1", kEmbed, kMlpRatio * kEmbed);
  add_linear(sd, p + ".mlp.lin2", kMlpRatio * kEmbed, kEmbed);
}

void add_image_encoder(StateDict& sd) {
  add(sd, "image_encoder.pos_embed", {1, kGrid, kGrid, kEmbed});
  add(sd, "image_encoder.patch_embed.proj.weight", {kEmbed, 3, 16, 16});
  add(sd, "image_encoder.patch_embed.proj.bias", {kEmbed});
  for (int64_t i = 0; i < kDepth; ++i) add_encoder_block(sd, i);
  add(sd, "image_encoder.neck.0.weight", {kOut, kEmbed, 1, 1});
  add_norm(sd, "image_encoder.neck.1", kOut);
  add(sd, "image_encoder.neck.2.weight", {kOut, kOut, 3, 3});
  add_norm(sd, "image_encoder.neck.3", kOut);
}

void add_prompt_encoder(StateDict& sd) {
  const std::string p = "prompt_encoder.";
  add(sd, p + "pe_layer.positional_encoding_gaussian_matrix", {2, kOut / 2});
  for (int i = 0; i < 4; ++i)
    add(sd, p + "point_embeddings." + std::to_string(i) + ".weight", {1, kOut});
  add(sd, p + "not_a_point_embed.weight", {1, kOut});
  const int64_t quarter = kMaskInChans / 4;
  add(sd, p + "mask_downscaling.0.weight", {quarter, 1, 2, 2});
  add(sd, p + "mask_downscaling.0.bias", {quarter});
  add_norm(sd, p + "mask_downscaling.1", quarter);
  add(sd, p + "mask_downscaling.3.weight", {kMaskInChans, quarter, 2, 2});
  add(sd, p + "mask_downscaling.3.bias", {kMaskInChans});
  add_norm(sd, p + "mask_downscaling.4", kMaskInChans);
  add(sd, p + "mask_downscaling.6.weight", {kOut, kMaskInChans, 1, 1});
  add(sd, p + "mask_downscaling.6.bias", {kOut});
  add(sd, p + "no_mask_embed.weight", {1, kOut});
}

void add_attention(StateDict& sd, const std::string& p, int64_t inner) {
  for (const char* proj : {"q_proj", "k_proj", "v_proj"})
    add_linear(sd, p + "." + proj, kOut, inner);
  add_linear(sd, p + ".out_proj", inner, kOut);
}

void add_mlp(StateDict& sd, const std::string& p, const Shape& dims) {
  for (std::size_t i = 0; i + 1 < dims.size(); ++i) {
    add_linear(sd, p + ".layers." + std::to_string(i), dims[i], dims[i + 1]);
  }
}

void add_mask_decoder(StateDict& sd) {
  const std::string t = "mask_decoder.transformer.";
  for (int i = 0; i < 2; ++i) {
    const std::string p = t + "layers." + std::to_string(i);
    add_attention(sd, p + ".self_attn", kOut);
    add_norm(sd, p + ".norm1", kOut);
    add_attention(sd, p + ".cross_attn_token_to_image", kDownsampled);
    add_norm(sd, p + ".norm2", kOut);
    add_linear(sd, p + ".mlp.lin1", kOut, kDecoderMlp);
    add_linear(sd, p + ".mlp.lin2", kDecoderMlp, kOut);
    add_norm(sd, p + ".norm3", kOut);
    add_norm(sd, p + ".norm4", kOut);
    add_attention(sd, p + ".cross_attn_image_to_token", kDownsampled);
  }
  add_attention(sd, t + "final_attn_token_to_image", kDownsampled);
  add_norm(sd, t + "norm_final_attn", kOut);
  add(sd, "mask_decoder.iou_token.weight", {1, kOut});
  add(sd, "mask_decoder.mask_tokens.weight", {kMaskTokens, kOut});
  add(sd, "mask_decoder.output_upscaling.0.weight", {kOut, kOut / 4, 2, 2});
  add(sd, "mask_decoder.output_upscaling.0.bias", {kOut / 4});
  add_norm(sd, "mask_decoder.output_upscaling.1", kOut / 4);
  add(sd, "mask_decoder.output_upscaling.3.weight", {kOut / 4, kOut / 8, 2, 2});
  add(sd, "mask_decoder.output_upscaling.3.bias", {kOut / 8});
  for (int i = 0; i < kMaskTokens; ++i) {
    add_mlp(sd, "mask_decoder.output_hypernetworks_mlps." + std::to_string(i),
            {kOut, kOut, kOut, kOut / 8});
  }
  add_mlp(sd, "mask_decoder.iou_prediction_head", {kOut, kIouHidden, kIouHidden, kMaskTokens});
}

StateDict vit_b_state_dict() {
  StateDict sd;
  add_image_encoder(sd);
  add_prompt_encoder(sd);
  add_mask_decoder(sd);
  return sd;
}

template <typename F>
std::vector<double> time_runs(int runs, F&& f) {
  std::vector<double> seconds;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    f();
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  return seconds;
}

void report(const char* what, const std::vector<double>& s, double megabytes) {
  const double best = s.front(), median = s[s.size() / 2];
  std::printf("%-6s best %.3f s (%.0f MB/s)  median %.3f s (%.0f MB/s)  over %zu runs\n", what,
              best, megabytes / best, median, megabytes / median, s.size());
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const int runs = argc > 1 ? std::max(1, std::stoi(argv[1])) : 5;
    const std::string path =
        argc > 2 ? argv[2]
                 : (std::filesystem::temp_directory_path() / "samri_bench_checkpoint_vit_b.pth")
                       .string();
    const StateDict sd = vit_b_state_dict();
    int64_t params = 0;
    for (const auto& item : sd.items()) params += item.second.numel();
    std::printf("ViT-B state_dict: %zu tensors, %lld parameters\n", sd.size(),
                static_cast<long long>(params));
    const auto write = time_runs(runs, [&] { samri::model::write_checkpoint(path, sd); });
    const double mb = std::filesystem::file_size(path) / 1e6;
    std::printf("file: %s, %llu bytes (official vit_b: 375042383)\n", path.c_str(),
                static_cast<unsigned long long>(std::filesystem::file_size(path)));
    std::size_t keys = 0;
    const auto read = time_runs(runs, [&] { keys = samri::model::read_checkpoint(path).size(); });
    if (keys != sd.size()) throw samri::Error("read back " + std::to_string(keys) + " keys");
    report("write", write, mb);
    report("read", read, mb);
    if (argc <= 2) std::filesystem::remove(path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "samri_bench_checkpoint: %s\n", e.what());
    return 1;
  }
  return 0;
}
