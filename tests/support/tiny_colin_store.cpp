#include "support/tiny_colin_store.h"

#include <filesystem>

#include "samri/data/preprocess.h"
#include "samri/embed/embed.h"
#include "support/fixtures.h"

namespace samri::test {

void make_tiny_colin_store(const std::string& root, const std::string& split) {
  const std::filesystem::path dir(root);
  std::filesystem::create_directories(dir);
  write_colin_crop_list((dir / "colin.csv").string(), {"colin"});
  data::PreprocessOptions p;
  p.list_file = (dir / "colin.csv").string();
  p.dataset = "colin";
  p.output = (dir / "slices").string();
  p.peripheral_fraction = 0;
  p.single_patient_split = split;
  data::run_preprocess(p);
  embed::EmbedOptions e;
  e.checkpoint = data_path("sam_tiny/sam_tiny.pth");
  e.model = data_path("sam_tiny/sam_tiny.json");
  e.data = {(dir / "slices").string()};
  e.output = (dir / "store").string();
  e.store_dtype = "fp32";
  e.threads = 2;
  embed::run_embed(e);
}

}  // namespace samri::test
