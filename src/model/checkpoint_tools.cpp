#include "samri/model/checkpoint_tools.h"

#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "samri/core/error.h"
#include "samri/core/sha256.h"
#include "samri/model/checkpoint.h"
#include "samri/model/sam.h"

namespace samri::model {
namespace {

std::string dtype_name(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat32:
      return "float32";
    case torch::kFloat16:
      return "float16";
    case torch::kBFloat16:
      return "bfloat16";
    case torch::kFloat64:
      return "float64";
    case torch::kInt64:
      return "int64";
    case torch::kInt32:
      return "int32";
    case torch::kUInt8:
      return "uint8";
    case torch::kBool:
      return "bool";
    default:
      return std::string(c10::toString(t.scalar_type()));
  }
}

std::optional<torch::ScalarType> parse_dtype(const std::string& name) {
  if (name.empty()) return std::nullopt;
  if (name == "fp32" || name == "float32") return torch::kFloat32;
  if (name == "fp16" || name == "float16") return torch::kFloat16;
  if (name == "bf16" || name == "bfloat16") return torch::kBFloat16;
  throw Error("unknown dtype '" + name + "' (use fp32, fp16 or bf16)");
}

}  // namespace

CheckpointSummary summarize_checkpoint(const std::string& path) {
  CheckpointReadInfo info;
  const StateDict sd = read_checkpoint(path, &info);
  CheckpointSummary s;
  s.path = path;
  s.file_bytes = std::filesystem::file_size(path);
  s.sha256 = sha256_file(path);
  s.key_count = sd.size();
  for (const auto& [key, tensor] : sd.items()) {
    s.parameter_count += tensor.numel();
    ++s.dtypes[dtype_name(tensor)];
    ++s.keys_per_part[key.substr(0, key.find('.'))];
  }
  const std::string variant = sam_variant(sd);
  s.model = variant.empty() ? "unknown" : variant;
  s.stripped = info.stripped;
  s.ignored_top_level_keys = info.other_top_level_keys;
  s.official_layout = info.ordered_dict && info.stripped.empty();
  return s;
}

std::string to_text(const CheckpointSummary& s) {
  std::ostringstream out;
  out << "file:        " << s.path << "\n"
      << "size:        " << s.file_bytes << " bytes\n"
      << "sha256:      " << s.sha256 << "\n"
      << "model:       " << s.model << "\n"
      << "keys:        " << s.key_count << " (";
  bool first = true;
  for (const auto& [part, n] : s.keys_per_part) {
    out << (first ? "" : ", ") << part << " " << n;
    first = false;
  }
  out << ")\n"
      << "parameters:  " << s.parameter_count << "\n"
      << "dtypes:     ";
  for (const auto& [dtype, n] : s.dtypes) out << " " << dtype << " x" << n;
  out << "\n"
      << "layout:      "
      << (s.official_layout ? "official flat state_dict" : "not the official flat state_dict")
      << "\n";
  if (!s.stripped.empty()) {
    out << "stripped:   ";
    for (const auto& w : s.stripped) out << " " << w << ";";
    out << "\n";
  }
  if (!s.ignored_top_level_keys.empty()) {
    out << "ignored:    ";
    for (const auto& k : s.ignored_top_level_keys) out << " " << k;
    out << "\n";
  }
  return out.str();
}

std::string to_json(const CheckpointSummary& s) {
  nlohmann::json j = {{"file", s.path},
                      {"bytes", s.file_bytes},
                      {"sha256", s.sha256},
                      {"model", s.model},
                      {"keys", s.key_count},
                      {"keys_per_part", s.keys_per_part},
                      {"parameters", s.parameter_count},
                      {"dtypes", s.dtypes},
                      {"official_layout", s.official_layout},
                      {"stripped", s.stripped},
                      {"ignored_top_level_keys", s.ignored_top_level_keys}};
  return j.dump(2);
}

void init_checkpoint(const SamConfig& config, std::uint64_t seed, const std::string& output) {
  torch::manual_seed(seed);
  Sam sam(config);
  write_checkpoint(output, module_state_dict(*sam));
}

void convert_checkpoint(const ConvertOptions& options) {
  StateDict sd = read_checkpoint(options.input);
  if (!options.model.empty()) {
    Sam sam(SamConfig::from_name_or_file(options.model));
    load_state_dict(*sam, sd, options.input);  // throws with a report when it does not fit
  }
  const auto dtype = parse_dtype(options.dtype);
  if (!dtype) {
    write_checkpoint(options.output, sd);
    return;
  }
  StateDict cast;
  for (const auto& [key, tensor] : sd.items()) {
    cast.insert(key, tensor.is_floating_point() ? tensor.to(*dtype) : tensor);
  }
  write_checkpoint(options.output, cast);
}

}  // namespace samri::model
