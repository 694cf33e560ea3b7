// samri-infer: segment 2-D images and 3-D volumes with SAM.
#include <CLI/CLI.hpp>

#include "common/app_common.h"
#include "samri/infer/infer.h"

namespace {

constexpr const char* kExamples = R"(
Examples:
  # 2-D: one box (x = column, y = row, inclusive pixel corners), mask written as NIfTI
  samri-infer --checkpoint sam_vit_b_01ec64.pth --input slice.nii.gz \
              --box 40,30,120,100 --output mask.nii.gz
  # 2-D: box plus a positive and a negative point, three masks and their predicted IoU
  samri-infer --checkpoint samri_box_point.pth --input slice.png --box 40,30,120,100 \
              --point 80,60 --point 20,20,0 --multimask --output masks.nii.gz
  # 3-D: the paper's evaluation protocol, one box per label per slice from a label map
  samri-infer --checkpoint samri_box.pth --input ch2.nii.gz --boxes-from aal.nii.gz \
              --slices 80:100 --precision bf16 --output seg.nii.gz
  # 3-D from one box: segment slice 90, then carry the mask up and down the volume; the
  # per-slice predicted IoU, area and "review these" list go to seg.json
  samri-infer --checkpoint samri_box.pth --input ch2.nii.gz --propagate --box 60,70,110,120 \
              --slice 90 --label 3 --output seg.nii.gz
  # the same, reading the slices' embeddings from a store samri-embed made of this volume
  samri-infer --checkpoint samri_box.pth --input ch2.nii.gz --propagate --box 60,70,110,120 \
              --slice 90 --label 3 --embeddings colin_store --output seg.nii.gz
  # 3-D: prompts from a JSON file (see the README for its format; "propagate": true makes a
  # prompt a seed)
  samri-infer --checkpoint samri_box.pth --input series_dir/ --prompts prompts.json \
              --output seg.nrrd
)";

std::array<float, 4> parse_box(const std::string& text) {
  std::array<float, 4> box{};
  char extra = 0;
  if (std::sscanf(text.c_str(), "%f,%f,%f,%f%c", &box[0], &box[1], &box[2], &box[3], &extra) != 4) {
    throw CLI::ValidationError("--box", "expected X0,Y0,X1,Y1, got '" + text + "'");
  }
  return box;
}

std::array<float, 3> parse_point(const std::string& text) {
  std::array<float, 3> p{0, 0, 1};
  char extra = 0;
  const int n = std::sscanf(text.c_str(), "%f,%f,%f%c", &p[0], &p[1], &p[2], &extra);
  if (n != 2 && n != 3) {
    throw CLI::ValidationError("--point", "expected X,Y or X,Y,LABEL, got '" + text + "'");
  }
  if (p[2] != 0 && p[2] != 1) {
    throw CLI::ValidationError("--point", "LABEL must be 1 (positive) or 0 (negative)");
  }
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  samri::infer::InferOptions o;
  samri::app::LogOptions log;
  CLI::App cli{"samri-infer: segment MRI images and volumes with SAM / SAMRI weights."};
  cli.footer(kExamples);
  samri::app::add_common_options(cli, log);

  std::string box, slices;
  std::vector<std::string> points;
  int axis = -1;
  cli.add_option("--checkpoint", o.checkpoint, "SAM/MedSAM/SAMRI .pth checkpoint")->required();
  cli.add_option("--model", o.model, "vit_b, vit_l, vit_h or an architecture JSON file")
      ->capture_default_str();
  cli.add_option("--input", o.input,
                 "2-D image (NIfTI, MHA, NRRD, PNG, DICOM file) or 3-D volume (NIfTI, NRRD, MHA, "
                 "DICOM series folder)")
      ->required();
  cli.add_option("--series", o.series_uid, "DICOM SeriesInstanceUID when a folder has several");
  cli.add_option("--output", o.output, "mask (2-D) or label volume (3-D); format from extension")
      ->required();
  auto* box_opt = cli.add_option("--box", box, "2-D box X0,Y0,X1,Y1 (inclusive pixel corners)");
  auto* point_opt = cli.add_option("--point", points,
                                   "2-D point X,Y[,LABEL] (LABEL 1 positive, 0 negative); repeat");
  cli.add_flag("--multimask", o.multimask, "2-D: write SAM's three masks and print their IoU");
  cli.add_option("--save-logits", o.save_logits, "2-D: also write the float32 logits here");
  auto* prompts_opt = cli.add_option("--prompts", o.prompts_file, "3-D: prompts JSON file");
  auto* boxes_opt = cli.add_option("--boxes-from", o.boxes_from,
                                   "3-D: label volume; one box per label per slice");
  cli.add_option("--min-box-pixels", o.min_box_pixels,
                 "3-D --boxes-from: skip labels with fewer pixels on a slice")
      ->capture_default_str();
  cli.add_option("--axis", axis, "3-D: slicing axis (default: the axis with the fewest voxels)");
  cli.add_option("--slices", slices, "3-D: slice range A:B (0-based, half-open)");
  auto* propagate_opt =
      cli.add_flag("--propagate", o.propagate,
                   "3-D: segment the seed slice(s), then each neighbour from the previous result");
  cli.add_option("--slice", o.seed_slices, "3-D --propagate: seed slice K of --box; repeat");
  cli.add_option("--label", o.label, "3-D --propagate: label of the object")->capture_default_str();
  auto& pr = o.propagation;
  cli.add_option("--margin", pr.box_margin, "propagation: pixels added around the previous box")
      ->capture_default_str();
  cli.add_flag("--mask-prompt,!--no-mask-prompt", pr.mask_prompt,
               "propagation: previous low-res logits as SAM's mask prompt");
  cli.add_flag("--point-prompt,!--no-point-prompt", pr.point_prompt,
               "propagation: positive point at the previous mask's interior-most pixel");
  cli.add_option("--stop-min-pixels", pr.min_pixels, "propagation: stop under this mask area")
      ->capture_default_str();
  cli.add_option("--stop-iou", pr.min_iou, "propagation: stop under this predicted IoU")
      ->capture_default_str();
  cli.add_option("--stop-area-factor", pr.max_area_factor,
                 "propagation: stop when the area changes by more than this factor")
      ->capture_default_str();
  cli.add_option("--stop-seed-area-factor", pr.max_seed_area_factor,
                 "propagation: stop when the area exceeds this factor times the seed's (0: off)")
      ->capture_default_str();
  cli.add_option("--clip-to-box", pr.clip_to_box,
                 "propagation: keep each mask inside its prompt box widened by this many pixels "
                 "(< 0: off)")
      ->capture_default_str();
  cli.add_option("--review-iou", o.review.min_iou,
                 "3-D report: list slices under this predicted IoU for review")
      ->capture_default_str();
  cli.add_option("--review-area-factor", o.review.max_area_factor,
                 "3-D report: list slices whose area changes by more than this factor")
      ->capture_default_str();
  cli.add_option("--report", o.report, "3-D: per-slice report (default: OUTPUT's name, .json)");
  cli.add_option("--embeddings", o.embeddings,
                 "3-D: samri-embed store of this volume's slices (read instead of encoding)");
  cli.add_flag("--allow-mismatch", o.allow_mismatch,
               "use an --embeddings store made with another image encoder anyway");
  cli.add_option("--device", o.device, "cpu, cuda or cuda:N")->capture_default_str();
  cli.add_option("--precision", o.precision, "encoder precision: fp32, bf16, fp16 (CUDA only)")
      ->check(CLI::IsMember({"fp32", "bf16", "fp16"}))
      ->capture_default_str();
  cli.add_option("--threads", o.threads, "CPU threads (0: all cores)")->capture_default_str();
  prompts_opt->excludes(boxes_opt)->excludes(box_opt)->excludes(point_opt);
  boxes_opt->excludes(box_opt)->excludes(point_opt)->excludes(propagate_opt);

  return samri::app::run_main(cli, argc, argv, log, [&] {
    if (!box.empty()) o.box = parse_box(box);
    for (const auto& p : points) o.points.push_back(parse_point(p));
    if (axis >= 0) o.axis = axis;
    if (!slices.empty()) o.slices = samri::infer::parse_slice_range(slices);
    samri::infer::run_infer(o);
  });
}
