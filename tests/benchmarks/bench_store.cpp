// Reading speed of an embedding store from a warm page cache, as training reads it: random batches
// gathered into one preallocated float32 tensor.
//   samri_bench_store DIR [slices] [dtype: fp16|bf16|fp32|int8] [batch]
// Writes a store of ViT-B-shaped (256x64x64) random embeddings under DIR (removed first), reads it
// once to warm the cache, then times random-order passes with and without the per-row checksum.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "samri/model/sam_config.h"
#include "samri/store/embedding_store.h"
#include "samri/store/store_writer.h"

namespace fs = std::filesystem;
using namespace samri::store;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void write_store(const fs::path& root, int n, StoreDtype dtype) {
  StoreMetadata m;
  m.checkpoint_file = "random.pth";
  m.encoder_fingerprint = "enc1-bench";
  m.model_json = samri::model::SamConfig::vit_b().to_json();
  m.model_name = "vit_b";
  m.embedding_shape = {256, 64, 64};
  m.dtype = dtype;
  m.splits = {"train"};
  m.sources = {{"bench", "-", "-", "", n, n}};
  m.slices = n;
  m.samples = n;
  std::vector<SliceEntry> slices;
  std::vector<SampleEntry> samples;
  for (int i = 0; i < n; ++i) {
    SliceEntry slice;
    slice.id = i;
    slice.name = "bench/" + std::to_string(i);
    slice.dataset = "bench";
    slice.patient = "p";
    slice.split = "train";
    slice.height = 181;
    slice.width = 217;
    slices.push_back(slice);
    samples.push_back({i, 1, std::nullopt, "bench", "p", "train", {0, 0, 1, 1}, 0.1, 4});
  }
  StoreWriter writer(root, m, slices, samples, {});
  const int shard = 256;
  for (int start = 0; start < n; start += shard) {
    const int rows = std::min(shard, n - start);
    ShardContents c;
    c.dtype = dtype;
    c.embeddings = encode_embeddings(torch::randn({rows, 256, 64, 64}), dtype);
    for (int i = start; i < start + rows; ++i) {
      c.slice_ids.push_back(i);
      c.slice_names.push_back(slices[i].name);
      c.label_maps.push_back(torch::zeros({181, 217}, torch::kInt));
    }
    writer.commit(c);
  }
}

double read_pass(const EmbeddingStore& store, std::vector<std::int64_t> order, int batch,
                 torch::Tensor& out) {
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t b = 0; b + batch <= order.size(); b += batch) {
    std::vector<std::int64_t> ids(order.begin() + b, order.begin() + b + batch);
    store.gather(ids, out);
  }
  return seconds_since(start);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: samri_bench_store DIR [slices] [dtype] [batch]\n");
    return 2;
  }
  const fs::path root = fs::path(argv[1]) / "bench_store";
  const int n = argc > 2 ? std::stoi(argv[2]) : 512;
  const StoreDtype dtype = parse_store_dtype(argc > 3 ? argv[3] : "fp16");
  const int batch = argc > 4 ? std::stoi(argv[4]) : 32;
  torch::set_num_threads(1);
  fs::remove_all(root);
  auto start = std::chrono::steady_clock::now();
  write_store(root, n, dtype);
  const double write_s = seconds_since(start);
  const auto bytes = [&] {
    std::uintmax_t total = 0;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      if (e.is_regular_file()) total += e.file_size();
    }
    return total;
  }();
  std::printf("%s store, %d slices: written in %.2f s (%.1f slices/s), %.3f MB per slice on disk\n",
              to_string(dtype).c_str(), n, write_s, n / write_s, bytes / 1e6 / n);
  std::vector<std::int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937(1));
  auto out = torch::empty({batch, 256, 64, 64});
  for (bool verify : {true, false}) {
    const EmbeddingStore store(root, {verify});
    const double first = read_pass(store, order, batch, out);   // maps shards; checks rows once
    const double second = read_pass(store, order, batch, out);  // rows already checked
    const int read = n / batch * batch;
    std::printf(
        "row checksums %s: first pass %.0f embeddings/s, second pass %.0f embeddings/s "
        "(batch %d into float32, 1 thread)\n",
        verify ? "on " : "off", read / first, read / second, batch);
  }
  fs::remove_all(root);
  return 0;
}
