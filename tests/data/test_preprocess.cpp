#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "samri/core/error.h"
#include "samri/data/dataset.h"
#include "samri/data/intensity.h"
#include "samri/data/preprocess.h"
#include "samri/data/split.h"
#include "samri/io/image_reader.h"
#include "samri/io/image_writer.h"
#include "samri/io/slicing.h"
#include "support/fixtures.h"

namespace fs = std::filesystem;
using nlohmann::json;
using samri::data::PreprocessOptions;
using samri::data::run_preprocess;
using torch::indexing::Slice;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<json> manifest(const fs::path& out) {
  std::vector<json> lines;
  std::ifstream in(out / "manifest.jsonl");
  std::string line;
  while (std::getline(in, line)) lines.push_back(json::parse(line));
  return lines;
}

json summary_json(const fs::path& out) { return json::parse(read_text(out / "summary.json")); }

// A volume of size (12, 14, 10) (i, j, k), spacing (0.5, 0.7, 2): slices run along k (axis 2),
// rows along i, columns along j. Intensities vary on every slice.
samri::io::Image synthetic_image(float offset = 0) {
  samri::io::Image image;
  image.geometry = samri::io::identity_geometry({12, 14, 10});
  image.geometry.spacing = {0.5, 0.7, 2.0};
  image.data = torch::arange(10 * 14 * 12, torch::kFloat32).reshape({10, 14, 12}) * 0.37f + offset;
  return image;
}

// Labels in buffer order [k][j][i]: see the expectations in SyntheticCountsBoxesAndDrops.
samri::io::Image synthetic_labels() {
  samri::io::Image labels;
  labels.geometry = samri::io::identity_geometry({12, 14, 10});
  labels.geometry.spacing = {0.5, 0.7, 2.0};
  auto d = torch::zeros({10, 14, 12}, torch::kInt64);
  d.index_put_({0, Slice(0, 10), Slice(0, 10)}, 1);  // peripheral slice 0: dropped
  d.index_put_({3, Slice(3, 8), Slice(2, 6)}, 2);    // j 3..7, i 2..5: 20 pixels
  d.index_put_({3, 0, Slice(7, 12)}, 3);             // 5 pixels: below the minimum
  d.index_put_({4, 13, Slice(0, 5)}, 3);             // slice 4: only a small label
  d.index_put_({6, Slice(8, 14), Slice(0, 2)}, 2);   // j 8..13, i 0..1: 12 pixels
  labels.data = d;
  return labels;
}

// A dataset folder with images/ and labels/ holding the given patients.
fs::path make_dataset(const fs::path& root, const std::vector<std::string>& patients) {
  fs::create_directories(root / "images");
  fs::create_directories(root / "labels");
  float offset = 0;
  for (const auto& p : patients) {
    samri::io::write_image(root / "images" / (p + ".nii.gz"), synthetic_image(offset += 3));
    samri::io::write_image(root / "labels" / (p + ".nii.gz"), synthetic_labels());
  }
  return root;
}

PreprocessOptions options_for(const fs::path& input, const fs::path& output) {
  PreprocessOptions o;
  o.input_dir = input.string();
  o.output = output.string();
  return o;
}

std::string error_of(const PreprocessOptions& o) {
  try {
    run_preprocess(o);
  } catch (const samri::Error& e) {
    return e.what();
  }
  return "(no error)";
}

constexpr const char* kTemplates = "/usr/share/mricron/templates";

bool have_colin() { return fs::exists(std::string(kTemplates) + "/aal.nii.gz"); }

}  // namespace

TEST(Preprocess, SyntheticCountsBoxesAndDrops) {
  const fs::path dir = samri::test::temp_dir();
  make_dataset(dir / "ds", {"p1"});
  const auto summary = run_preprocess(options_for(dir / "ds", dir / "out"));
  EXPECT_EQ(summary.slices, 2);
  EXPECT_EQ(summary.samples, 2);
  const auto lines = manifest(dir / "out");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["dataset"], "ds");
  EXPECT_EQ(lines[0]["patient"], "p1");
  EXPECT_EQ(lines[0]["axis"], 2);
  EXPECT_EQ(lines[0]["slice"], 3);
  EXPECT_EQ(lines[0]["label"], 2);
  EXPECT_EQ(lines[0]["pixels"], 20);
  EXPECT_EQ(lines[0]["box"], json({3, 2, 7, 5}));  // x = column (j), y = row (i)
  EXPECT_EQ(lines[0]["height"], 12);
  EXPECT_EQ(lines[0]["width"], 14);
  EXPECT_DOUBLE_EQ(lines[0]["area_fraction"].get<double>(), 20.0 / (12 * 14));
  EXPECT_EQ(lines[0]["image"], "images/p1_s0003.nii.gz");
  EXPECT_EQ(lines[0]["labels"], "labels/p1_s0003.nii.gz");
  EXPECT_EQ(lines[1]["slice"], 6);
  EXPECT_EQ(lines[1]["box"], json({8, 0, 13, 1}));
  EXPECT_EQ(lines[1]["pixels"], 12);

  // The written slices: SAM's view of the files is the volume's slice, in-plane spacing kept.
  const auto image = samri::io::read_image(dir / "out/images/p1_s0003.nii.gz");
  EXPECT_EQ(image.geometry.size, (std::vector<std::int64_t>{12, 14}));
  ASSERT_EQ(image.geometry.spacing.size(), 2u);
  EXPECT_NEAR(image.geometry.spacing[0], 0.5, 1e-6);  // NIfTI stores float32
  EXPECT_NEAR(image.geometry.spacing[1], 0.7, 1e-6);
  const auto want =
      samri::data::normalize_to_uint8(samri::io::extract_slice(synthetic_image(3), 2, 3));
  EXPECT_TRUE(torch::equal(samri::io::sam_view_2d(image).to(torch::kUInt8), want));
  const auto labels = samri::io::read_label_map(dir / "out/labels/p1_s0003.nii.gz");
  EXPECT_TRUE(torch::equal(samri::io::sam_view_2d(labels),
                           samri::io::extract_slice(synthetic_labels(), 2, 3)));

  // Every dropped slice and label is in the summary with its reason.
  const json s = summary_json(dir / "out");
  const json& drops = s["volumes"][0]["dropped_slices"];
  EXPECT_EQ(drops[0], json({{"slices", {0, 0}}, {"reason", "peripheral"}}));
  EXPECT_EQ(drops.back(), json({{"slices", {9, 9}}, {"reason", "peripheral"}}));
  bool small_only = false;
  for (const auto& d : drops) {
    if (d["slices"] == json({4, 4}))
      small_only = d["reason"] == "every label below the minimum pixels";
  }
  EXPECT_TRUE(small_only);
  EXPECT_EQ(s["volumes"][0]["dropped_labels"].size(), 2u);
  EXPECT_EQ(s["volumes"][0]["dropped_labels"][0]["pixels"], 5);
  EXPECT_EQ(s["labels"]["2"]["total"], 2);
  EXPECT_EQ(s["patients"], 1);
  EXPECT_FALSE(s["warnings"].empty());  // a single-patient dataset is reported
}

TEST(Preprocess, RulesAreConfigurable) {
  const fs::path dir = samri::test::temp_dir();
  make_dataset(dir / "ds", {"p1"});
  auto o = options_for(dir / "ds", dir / "out1");
  o.peripheral_fraction = 0;
  o.min_pixels = 5;
  EXPECT_EQ(run_preprocess(o).samples, 5);  // slice 0 (label 1), 3 (2, 3), 4 (3), 6 (2)
  o = options_for(dir / "ds", dir / "out2");
  o.axis = 0;
  o.peripheral_fraction = 0.2;  // 12 slices: drop 2 per end
  const auto s = run_preprocess(o);
  for (const auto& line : manifest(dir / "out2")) {
    EXPECT_EQ(line["axis"], 0);
    EXPECT_GE(line["slice"].get<int>(), 2);
    EXPECT_LE(line["slice"].get<int>(), 9);
  }
  EXPECT_GT(s.samples, 0);
  // The same folder with other rules is refused rather than mixed.
  o.min_pixels = 3;
  EXPECT_NE(error_of(o).find("other rules"), std::string::npos);
}

TEST(Preprocess, ConfigFileSetsOptions) {
  const fs::path dir = samri::test::temp_dir();
  PreprocessOptions o;
  samri::data::apply_preprocess_config(
      o, fs::path(SAMRI_SOURCE_DIR) / "configs/preprocess_public_code.json");
  EXPECT_EQ(o.min_pixels, 30);
  EXPECT_EQ(o.peripheral_fraction, 0);
  PreprocessOptions paper;
  samri::data::apply_preprocess_config(
      paper, fs::path(SAMRI_SOURCE_DIR) / "configs/preprocess_paper.json");
  EXPECT_EQ(samri::data::rules_fingerprint(paper), samri::data::rules_fingerprint({}));
  std::ofstream(dir / "bad.json") << R"({"min_pixel": 3})";
  EXPECT_THROW(samri::data::apply_preprocess_config(o, dir / "bad.json"), samri::Error);
}

TEST(Preprocess, ConnectedComponentsOption) {
  const fs::path dir = samri::test::temp_dir();
  make_dataset(dir / "ds", {"p1"});
  auto labels = synthetic_labels();
  labels.data.index_put_({6, Slice(0, 4), Slice(8, 12)}, 2);  // a second blob of label 2: 16 px
  samri::io::write_image(dir / "ds/labels/p1.nii.gz", labels);
  auto o = options_for(dir / "ds", dir / "out");
  o.connected_components = true;
  EXPECT_EQ(run_preprocess(o).samples, 3);
  const auto lines = manifest(dir / "out");
  EXPECT_EQ(lines[1]["component"], 1);
  EXPECT_EQ(lines[2]["component"], 2);
  EXPECT_EQ(lines[2]["box"], json({0, 8, 3, 11}));
  EXPECT_EQ(lines[2]["pixels"], 16);
}

TEST(Preprocess, SplitIsStableWhenPatientsAreAdded) {
  std::map<std::string, int> counts;
  for (int i = 0; i < 20000; ++i) ++counts[samri::data::patient_split("d", std::to_string(i), 7)];
  EXPECT_NEAR(counts["train"], 16000, 400);
  EXPECT_NEAR(counts["val"], 2000, 250);
  EXPECT_NEAR(counts["test"], 2000, 250);
  EXPECT_NE(samri::data::patient_hash_unit("d", "1", 7),
            samri::data::patient_hash_unit("d", "1", 8));

  const fs::path dir = samri::test::temp_dir();
  make_dataset(dir / "ds", {"a", "b", "c"});
  run_preprocess(options_for(dir / "ds", dir / "out1"));
  std::map<std::string, std::string> before;
  for (const auto& l : manifest(dir / "out1")) before[l["patient"]] = l["split"];
  make_dataset(dir / "ds", {"d", "e"});
  run_preprocess(options_for(dir / "ds", dir / "out2"));
  std::set<std::string> seen;
  for (const auto& l : manifest(dir / "out2")) {
    seen.insert(l["patient"].get<std::string>());
    if (before.count(l["patient"])) {
      EXPECT_EQ(before[l["patient"]], l["split"]);
    }
    EXPECT_EQ(l["split"], samri::data::patient_split("ds", l["patient"], 0));
  }
  EXPECT_EQ(seen.size(), 5u);
  auto o = options_for(dir / "ds", dir / "out3");
  o.zero_shot = true;
  run_preprocess(o);
  const auto zero_shot = manifest(dir / "out3");
  EXPECT_FALSE(zero_shot.empty());
  for (const auto& l : zero_shot) EXPECT_EQ(l["split"], "test");
}

TEST(Preprocess, RerunIsIdenticalAndResumesAfterAKill) {
  const fs::path dir = samri::test::temp_dir();
  make_dataset(dir / "ds", {"a", "b", "c"});
  auto o = options_for(dir / "ds", dir / "out");
  o.threads = 2;
  run_preprocess(o);
  const std::string manifest1 = read_text(dir / "out/manifest.jsonl");
  const std::string summary1 = read_text(dir / "out/summary.json");
  const auto again = run_preprocess(o);
  EXPECT_EQ(again.reused, 3);
  EXPECT_EQ(read_text(dir / "out/manifest.jsonl"), manifest1);
  EXPECT_EQ(read_text(dir / "out/summary.json"), summary1);

  // A run killed while writing b: some of b's slices and no part file, no manifest.
  fs::remove(dir / "out/parts/b.json");
  fs::remove(dir / "out/images/b_s0006.nii.gz");
  fs::remove(dir / "out/manifest.jsonl");
  const auto resumed = run_preprocess(o);
  EXPECT_EQ(resumed.reused, 2);
  EXPECT_TRUE(fs::exists(dir / "out/images/b_s0006.nii.gz"));
  EXPECT_EQ(read_text(dir / "out/manifest.jsonl"), manifest1);
  EXPECT_EQ(read_text(dir / "out/summary.json"), summary1);

  // Label names are applied when the manifest is merged: finished volumes are reused.
  std::ofstream(dir / "names.json") << R"({"2": "lesion"})";
  o.label_names = (dir / "names.json").string();
  EXPECT_EQ(run_preprocess(o).reused, 3);
  EXPECT_EQ(manifest(dir / "out")[0]["label_name"], "lesion");
}

TEST(Preprocess, ListFilesNnUnetLayoutAndChannels) {
  const fs::path dir = samri::test::temp_dir();
  make_dataset(dir / "ds", {"a"});
  fs::create_directories(dir / "nn/imagesTr");
  fs::create_directories(dir / "nn/labelsTr");
  fs::copy(dir / "ds/images/a.nii.gz", dir / "nn/imagesTr/case1_0000.nii.gz");
  fs::copy(dir / "ds/images/a.nii.gz", dir / "nn/imagesTr/case1_0001.nii.gz");
  fs::copy(dir / "ds/labels/a.nii.gz", dir / "nn/labelsTr/case1.nii.gz");
  const auto cases = samri::data::find_dataset_cases(dir / "nn");
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[1].patient, "case1");
  EXPECT_EQ(cases[1].modality, "0001");
  auto o = options_for(dir / "nn", dir / "out_nn");
  EXPECT_EQ(run_preprocess(o).samples, 4);
  EXPECT_TRUE(fs::exists(dir / "out_nn/images/case1_0001_s0006.nii.gz"));

  std::ofstream(dir / "list.csv") << "patient,image,label,modality\r\n"
                                  << "x1,ds/images/a.nii.gz,ds/labels/a.nii.gz,t1\r\n";
  o = options_for("", dir / "out_csv");
  o.input_dir.clear();
  o.list_file = (dir / "list.csv").string();
  EXPECT_EQ(run_preprocess(o).samples, 2);
  EXPECT_EQ(manifest(dir / "out_csv")[0]["image"], "images/x1_t1_s0003.nii.gz");
  EXPECT_EQ(manifest(dir / "out_csv")[0]["dataset"], "list");

  std::ofstream(dir / "list.json")
      << R"([{"image": "ds/images/a.nii.gz", "label": "ds/labels/a.nii.gz"}])";
  const auto listed = samri::data::read_dataset_list(dir / "list.json");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].patient, "a");  // the label file's stem

  // A 4-D image: one volume per channel, named by channel.
  auto four = synthetic_image();
  four.geometry = samri::io::identity_geometry({12, 14, 10, 2});
  four.geometry.spacing = {0.5, 0.7, 2.0, 1.0};
  four.data = torch::stack({synthetic_image().data, synthetic_image(5).data * 2});
  fs::create_directories(dir / "four/images");
  fs::create_directories(dir / "four/labels");
  samri::io::write_image(dir / "four/images/m.nii.gz", four);
  fs::copy(dir / "ds/labels/a.nii.gz", dir / "four/labels/m.nii.gz");
  EXPECT_EQ(run_preprocess(options_for(dir / "four", dir / "out4")).samples, 4);
  EXPECT_TRUE(fs::exists(dir / "out4/images/m_c1_s0003.nii.gz"));
}

TEST(Preprocess, LabelNamesFromLookupTablesAndJson) {
  const fs::path dir = samri::test::temp_dir();
  std::ofstream(dir / "names.txt", std::ios::binary) << "1 Precentral_L 2001\r\n2 Other 2002\r\n";
  auto names = samri::data::read_label_names(dir / "names.txt");
  EXPECT_EQ(names.at(1), "Precentral_L");
  EXPECT_EQ(names.at(2), "Other");
  std::ofstream(dir / "names.json") << R"({"2": "liver"})";
  names = samri::data::read_label_names(dir / "names.json");
  EXPECT_EQ(names.at(2), "liver");
  // nnU-Net v2: name -> value, regions (lists of values) skipped.
  std::ofstream(dir / "dataset.json")
      << R"({"labels": {"background": 0, "liver": 1, "tumour": 2, "whole": [1, 2]}})";
  names = samri::data::read_label_names(dir / "dataset.json");
  EXPECT_EQ(names.size(), 3u);
  EXPECT_EQ(names.at(1), "liver");
  EXPECT_EQ(names.at(2), "tumour");
  std::ofstream(dir / "bad.txt") << "one two\n";
  EXPECT_THROW(samri::data::read_label_names(dir / "bad.txt"), samri::Error);
}

TEST(Preprocess, BadInputIsRefusedWithTheFileNamed) {
  const fs::path dir = samri::test::temp_dir();
  make_dataset(dir / "ds", {"a", "b"});
  auto o = options_for(dir / "ds", dir / "out");

  // Size mismatch: error, or a recorded skip when asked.
  samri::io::Image small = synthetic_labels();
  small.geometry.size = {12, 14, 9};
  small.data = small.data.index({Slice(0, 9)}).contiguous();
  samri::io::write_image(dir / "ds/labels/b.nii.gz", small);
  std::string error = error_of(o);
  EXPECT_NE(error.find("labels/b.nii.gz"), std::string::npos) << error;
  EXPECT_NE(error.find("does not match"), std::string::npos) << error;
  o.skip_bad_cases = true;
  const auto s = run_preprocess(o);
  EXPECT_EQ(s.skipped, 1);
  EXPECT_EQ(summary_json(dir / "out")["skipped_cases"][0]["patient"], "b");

  // Geometry mismatch: resampled onto the image grid when asked.
  samri::io::Image shifted = synthetic_labels();
  shifted.geometry.origin = {1.0, 0, 0};  // two voxels along i
  samri::io::write_image(dir / "ds/labels/b.nii.gz", shifted);
  o = options_for(dir / "ds", dir / "out_r");
  EXPECT_NE(error_of(o).find("origin"), std::string::npos);
  o = options_for(dir / "ds", dir / "out_r2");
  o.resample_labels = true;
  run_preprocess(o);
  int resampled = 0;
  for (const auto& l : manifest(dir / "out_r2")) {
    if (l["patient"] == "b" && l["slice"] == 3) {
      EXPECT_EQ(l["box"], json({3, 4, 7, 7}));
      ++resampled;
    }
  }
  EXPECT_GT(resampled, 0) << "no sample of patient b, slice 3";

  auto refuse = [&](const std::string& what, const std::string& expect) {
    const std::string e = error_of(options_for(dir / "ds", dir / ("o_" + what)));
    EXPECT_NE(e.find(expect), std::string::npos) << what << ": " << e;
    EXPECT_NE(e.find("ds/"), std::string::npos) << what << ": " << e;
  };
  samri::io::write_image(dir / "ds/labels/b.nii.gz", synthetic_labels());
  auto image = synthetic_image();
  image.data[5][3][3] = std::numeric_limits<float>::quiet_NaN();
  samri::io::write_image(dir / "ds/images/b.nii.gz", image);
  refuse("nan", "NaN");
  image.data.fill_(4.0f);
  samri::io::write_image(dir / "ds/images/b.nii.gz", image);
  refuse("constant", "constant");
  samri::io::write_image(dir / "ds/images/b.nii.gz", synthetic_image());
  auto empty = synthetic_labels();
  empty.data.zero_();
  samri::io::write_image(dir / "ds/labels/b.nii.gz", empty);
  refuse("empty", "empty");
  auto fractional = synthetic_image();
  samri::io::write_image(dir / "ds/labels/b.nii.gz", fractional);
  refuse("fractional", "labels/b.nii.gz");
  samri::io::write_image(dir / "ds/labels/b.nii.gz", synthetic_labels());
  const std::string whole = read_text(dir / "ds/images/a.nii.gz");
  std::ofstream(dir / "ds/images/b.nii.gz", std::ios::binary) << whole.substr(0, whole.size() / 2);
  refuse("truncated", "images/b.nii.gz");
  samri::io::write_image(dir / "ds/images/b.nii.gz", synthetic_image());
  std::ofstream(dir / "ds/labels/b.nii.gz") << "not gzip at all";
  refuse("notgzip", "labels/b.nii.gz");
  fs::remove(dir / "ds/labels/b.nii.gz");
  refuse("nolabel", "no label map");

  std::ofstream(dir / "dup.csv") << "image,label,patient\n"
                                 << "ds/images/a.nii.gz,ds/labels/a.nii.gz,x\n"
                                 << "ds/images/b.nii.gz,ds/labels/a.nii.gz,x\n";
  EXPECT_THROW(samri::data::read_dataset_list(dir / "dup.csv"), samri::Error);
  o = options_for(dir / "no_such", dir / "out_x");
  EXPECT_NE(error_of(o).find("no_such"), std::string::npos);
}

// Colin27 and its AAL atlas (mricron-data) under the paper's rules; the expected numbers come
// from tests/data/preprocess/paper_rules.py (nibabel + NumPy).
TEST(PreprocessColin27, CountsMatchTheIndependentScript) {
  if (!have_colin()) GTEST_SKIP() << "mricron-data is not installed";
  const fs::path dir = samri::test::temp_dir();
  std::ofstream(dir / "colin.csv") << "patient,image,label\ncolin27," << kTemplates
                                   << "/ch2.nii.gz," << kTemplates << "/aal.nii.gz\n";
  PreprocessOptions o;
  o.list_file = (dir / "colin.csv").string();
  o.output = (dir / "out").string();
  o.label_names = std::string(kTemplates) + "/aal.nii.txt";
  o.threads = 2;
  const auto start = std::chrono::steady_clock::now();
  const auto s = run_preprocess(o);
  std::cout << "Colin27 + AAL: "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
            << " s\n";
  // paper_rules.py counts ch2.nii.gz aal.nii.gz --fraction 0.1 --min-pixels 10:
  // {"axis": 0, "n": 181, "margin": 18, "slices": 145, "samples": 3634, "dropped_labels": 148,
  //  "labels": 116, "label_1_samples": 50}
  EXPECT_EQ(s.slices, 145);
  EXPECT_EQ(s.samples, 3634);
  EXPECT_EQ(s.samples_per_label.size(), 116u);
  EXPECT_EQ(s.samples_per_label.at(1), 50);
  const json summary = summary_json(dir / "out");
  EXPECT_EQ(summary["volumes"][0]["axis"], 0);
  EXPECT_EQ(summary["volumes"][0]["kept_range"], json({18, 162}));
  EXPECT_EQ(summary["volumes"][0]["dropped_labels"].size(), 148u);
  EXPECT_EQ(summary["labels"]["1"]["name"], "Precentral_L");
  EXPECT_EQ(summary["warnings"].size(), 1u);
  const auto lines = manifest(dir / "out");
  ASSERT_EQ(lines.size(), 3634u);
  EXPECT_EQ(lines[0]["height"], 217);
  EXPECT_EQ(lines[0]["width"], 181);

  // The public code's values (configs/preprocess_public_code.json): no peripheral exclusion,
  // 30 pixels. paper_rules.py ... --fraction 0 --min-pixels 30: 146 slices, 3419 samples.
  PreprocessOptions code = o;
  samri::data::apply_preprocess_config(
      code, fs::path(SAMRI_SOURCE_DIR) / "configs/preprocess_public_code.json");
  code.output = (dir / "out_code").string();
  const auto c = run_preprocess(code);
  EXPECT_EQ(c.slices, 146);
  EXPECT_EQ(c.samples, 3419);
}

TEST(Preprocess, VolumeIntensityAndSinglePatientSplit) {
  const fs::path dir = samri::test::temp_dir();
  make_dataset(dir / "ds", {"p1"});
  auto o = options_for(dir / "ds", dir / "out");
  o.intensity = "volume";
  o.single_patient_split = "val";
  run_preprocess(o);
  const auto volume = synthetic_image(3);
  const float low = volume.data.min().item<float>(), high = volume.data.max().item<float>();
  const auto image = samri::io::read_image(dir / "out/images/p1_s0006.nii.gz");
  const auto want =
      samri::data::normalize_to_uint8(samri::io::extract_slice(volume, 2, 6), low, high);
  EXPECT_TRUE(torch::equal(samri::io::sam_view_2d(image).to(torch::kUInt8), want));
  const auto lines = manifest(dir / "out");
  EXPECT_FALSE(lines.empty());
  for (const auto& l : lines) EXPECT_EQ(l["split"], "val");
  EXPECT_EQ(summary_json(dir / "out")["splits"]["val"]["patients"], 1);
}

TEST(Preprocess, DicomSeriesFolderAsImage) {
  const std::string series =
      "/usr/lib/python3/dist-packages/pydicom/data/test_files/dicomdirtests/98892001/CT5N";
  if (!fs::exists(series)) GTEST_SKIP() << "python3-pydicom's test files are not installed";
  const fs::path dir = samri::test::temp_dir();
  fs::create_directories(dir / "ds/images");
  fs::create_directories(dir / "ds/labels");
  fs::copy(series, dir / "ds/images/ct5n", fs::copy_options::recursive);
  auto labels = samri::io::read_image(series);
  ASSERT_EQ(labels.geometry.dimension(), 3);
  labels.data = torch::ones(labels.data.sizes(), torch::kUInt8);
  samri::io::write_image(dir / "ds/labels/ct5n.nii.gz", labels);
  const auto s = run_preprocess(options_for(dir / "ds", dir / "out"));
  EXPECT_GT(s.samples, 0);
  EXPECT_EQ(s.samples, s.slices);  // one label covering every slice
  EXPECT_EQ(manifest(dir / "out")[0]["source"], (dir / "ds/images/ct5n").string());

  // A folder without a DICOM image series is refused, naming the folder.
  fs::create_directories(dir / "ds/images/empty");
  std::ofstream(dir / "ds/images/empty/readme.txt") << "no images here";
  samri::io::write_image(dir / "ds/labels/empty.nii.gz", labels);
  const std::string e = error_of(options_for(dir / "ds", dir / "out2"));
  EXPECT_NE(e.find("images/empty"), std::string::npos) << e;
}

TEST(Preprocess, PercentileIntensityClipsAtVolumePercentiles) {
  const fs::path dir = samri::test::temp_dir();
  make_dataset(dir / "ds", {"p1"});
  auto o = options_for(dir / "ds", dir / "out");
  o.intensity = "percentile";
  o.percentile_low = 10;
  o.percentile_high = 90;
  run_preprocess(o);
  const auto volume = synthetic_image(3);  // no zero voxels: every voxel counts
  const auto flat = volume.data.flatten().to(torch::kFloat64);
  const float low = torch::quantile(flat, 0.1).item<float>();
  const float high = torch::quantile(flat, 0.9).item<float>();
  const auto image = samri::io::read_image(dir / "out/images/p1_s0003.nii.gz");
  const auto want =
      samri::data::normalize_to_uint8(samri::io::extract_slice(volume, 2, 3), low, high);
  const auto got = samri::io::sam_view_2d(image).to(torch::kInt32);
  EXPECT_LE((got - want.to(torch::kInt32)).abs().max().item<int>(), 1);
  // Slice 3 holds voxels 30-40% up the range: scaled by the 10-90% range, not its own.
  EXPECT_GT(got.min().item<int>(), 0);
  EXPECT_LT(got.max().item<int>(), 255);
}
