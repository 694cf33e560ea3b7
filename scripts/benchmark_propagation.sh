#!/usr/bin/env bash
# 3-D from one box on Colin27 + AAL (Debian's mricron-data): for 20 AAL regions, seed samri-infer
# --propagate with the region's tightest box on its largest axial slice and compare the 3-D result
# with the region (3-D Dice), and slice by slice with the --boxes-from protocol, which sees the
# true box on every slice. Several propagation settings side by side; embeddings come from one
# store of every labelled axial slice, so each run only decodes.
# Usage: scripts/benchmark_propagation.sh OUT CHECKPOINT [THREADS]
#   CHECKPOINT: a trained SAM/SAMRI checkpoint (e.g. RUN_DIR/last.pth of
#   scripts/colin_learning_curve.sh; random weights segment nothing meaningful).
# Writes OUT/table.md (and OUT/results.json); prints the table.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$1
CKPT=$2
THREADS=${3:-$(nproc)}
BUILD=${SAMRI_BUILD_DIR:-build}
TEMPLATES=/usr/share/mricron/templates
PY=/usr/bin/python3
mkdir -p "$OUT"
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "load $(cut -d' ' -f1-3 /proc/loadavg)"

# Every labelled axial slice of Colin27, embedded once by the checkpoint's encoder.
if [ ! -f "$OUT/slices/manifest.jsonl" ]; then
  echo "image,label,patient" >"$OUT/colin.csv"
  echo "$TEMPLATES/ch2.nii.gz,$TEMPLATES/aal.nii.gz,colin" >>"$OUT/colin.csv"
  "$BUILD/apps/samri-preprocess" --list "$OUT/colin.csv" --output "$OUT/slices" --axis 2 \
    --peripheral-fraction 0 -q
fi
"$BUILD/apps/samri-embed" --checkpoint "$CKPT" --data "$OUT/slices" --output "$OUT/store" \
  --precision bf16 --threads "$THREADS" -q

# 20 regions spread over AAL's sizes; each one's largest axial slice and tightest box there, and a
# label map holding only that region (for the --boxes-from protocol).
$PY - "$OUT" "$TEMPLATES/aal.nii.gz" <<'PYEOF'
import json, os, sys
import nibabel as nib, numpy as np
out, aal_path = sys.argv[1:3]
aal = nib.load(aal_path)
labels = np.asarray(aal.dataobj).astype(np.int32)
values, counts = np.unique(labels[labels > 0], return_counts=True)
order = values[np.argsort(counts, kind="stable")]
picked = [int(order[round(i * (len(order) - 1) / 19)]) for i in range(20)]
regions = []
os.makedirs(f"{out}/regions", exist_ok=True)
for value in picked:
    mask = labels == value
    areas = mask.sum(axis=(0, 1))
    k = int(areas.argmax())
    rows, cols = np.nonzero(mask[:, :, k])  # SAM's view of an axial slice: rows = i, cols = j
    box = [int(cols.min()), int(rows.min()), int(cols.max()), int(rows.max())]
    path = f"{out}/regions/aal_{value}.nii.gz"
    if not os.path.exists(path):
        nib.save(nib.Nifti1Image(mask.astype(np.uint8) * value, aal.affine, aal.header), path)
    regions.append({"label": value, "voxels": int(mask.sum()), "slice": k, "box": box,
                    "slices": int((areas > 0).sum())})
json.dump(regions, open(f"{out}/regions.json", "w"), indent=1)
print(f"{len(regions)} regions, {min(r['voxels'] for r in regions)}-"
      f"{max(r['voxels'] for r in regions)} voxels")
PYEOF

INFER=("$BUILD/apps/samri-infer" --checkpoint "$CKPT" --input "$TEMPLATES/ch2.nii.gz" --axis 2
  --precision bf16 --embeddings "$OUT/store" --threads "$THREADS" -q)
# name: samri-infer flags. Each setting spells out its stop rules (the toolkit's first defaults:
# IoU 0.5, no seed-area stop, no clip), so its outputs stay valid when the defaults change;
# "defaults" runs with none.
FIRST="--stop-iou 0.5 --stop-seed-area-factor 0 --clip-to-box -1"
NO_IOU="--stop-iou 0 --stop-seed-area-factor 0 --clip-to-box -1"
SETTINGS=("box:$FIRST" "box_margin5:--margin 5 $FIRST" "box_mask:--mask-prompt $FIRST"
  "box_point:--point-prompt $FIRST" "box_mask_point:--mask-prompt --point-prompt $FIRST"
  "box_no_iou_stop:$NO_IOU"
  "seed_area_1.2:--stop-iou 0 --stop-seed-area-factor 1.2 --clip-to-box -1"
  "clip_0:--stop-iou 0 --stop-seed-area-factor 0 --clip-to-box 0"
  "clip_2:--stop-iou 0 --stop-seed-area-factor 0 --clip-to-box 2"
  "clip_0_seed_area_1.2:--stop-iou 0 --stop-seed-area-factor 1.2 --clip-to-box 0"
  "clip_2_seed_area_1.2:--stop-iou 0 --stop-seed-area-factor 1.2 --clip-to-box 2"
  "defaults:")
regions=$($PY -c "import json; [print(r['label'], r['slice'], *r['box']) for r in json.load(open('$OUT/regions.json'))]")
start=$(date +%s)
while read -r label slice x0 y0 x1 y1; do
  for setting in "${SETTINGS[@]}"; do
    name=${setting%%:*}
    flags=${setting#*:}
    seg="$OUT/$name/aal_$label.nii.gz"
    mkdir -p "$OUT/$name"
    [ -f "$seg" ] && continue
    # shellcheck disable=SC2086
    "${INFER[@]}" --propagate --box "$x0,$y0,$x1,$y1" --slice "$slice" --label "$label" $flags \
      --output "$seg"
  done
  seg="$OUT/boxes_from/aal_$label.nii.gz"
  mkdir -p "$OUT/boxes_from"
  [ -f "$seg" ] || "${INFER[@]}" --boxes-from "$OUT/regions/aal_$label.nii.gz" --output "$seg"
done <<<"$regions"
echo "== $(($(date +%s) - start)) s for the samri-infer runs"

# Seconds per slice with and without the store (one region, box only, the encoder in bf16).
first=($(head -1 <<<"$regions"))
"${INFER[@]:0:9}" --threads "$THREADS" -q --propagate \
  --box "${first[2]},${first[3]},${first[4]},${first[5]}" --slice "${first[1]}" \
  --label "${first[0]}" --output "$OUT/speed_encoded.nii.gz"

$PY - "$OUT" "$TEMPLATES/aal.nii.gz" "${SETTINGS[@]}" <<'PYEOF'
import json, sys
import nibabel as nib, numpy as np
out, aal_path, *settings = sys.argv[1:]
names = [s.split(":")[0] for s in settings]
labels = np.asarray(nib.load(aal_path).dataobj).astype(np.int32)
regions = json.load(open(f"{out}/regions.json"))

def dice(a, b):
    s = a.sum() + b.sum()
    return 1.0 if s == 0 else 2.0 * np.logical_and(a, b).sum() / s

def scores(seg_path, value):
    seg = np.asarray(nib.load(seg_path).dataobj) == value
    gt = labels == value
    on = np.nonzero(gt.sum(axis=(0, 1)))[0]
    per_slice = [dice(seg[:, :, k], gt[:, :, k]) for k in on]
    return dice(seg, gt), float(np.mean(per_slice))

results = {}
for r in regions:
    v = r["label"]
    row = {n: scores(f"{out}/{n}/aal_{v}.nii.gz", v) for n in names}
    row["boxes_from"] = scores(f"{out}/boxes_from/aal_{v}.nii.gz", v)
    results[v] = row
json.dump({"regions": regions, "dice_3d_and_mean_slice_dice": results}, open(f"{out}/results.json", "w"), indent=1)

cols = names + ["boxes_from"]
lines = ["| setting | 3-D Dice, mean (median) | per-slice Dice, mean |", "|---|---|---|"]
for n in cols:
    d3 = [results[r["label"]][n][0] for r in regions]
    ds = [results[r["label"]][n][1] for r in regions]
    label = n + (" (true box on every slice)" if n == "boxes_from" else "")
    lines.append(f"| {label} | {np.mean(d3):.3f} ({np.median(d3):.3f}) | {np.mean(ds):.3f} |")
best = max(names, key=lambda n: np.mean([results[r["label"]][n][0] for r in regions]))
lines += ["", f"Per region, best setting ({best}) and the --boxes-from protocol:", "",
          "| AAL label | voxels | seed slice | slices | 3-D Dice | per-slice Dice | --boxes-from per-slice Dice |",
          "|---|---|---|---|---|---|---|"]
for r in regions:
    b, p = results[r["label"]][best], results[r["label"]]["boxes_from"]
    lines.append(f"| {r['label']} | {r['voxels']} | {r['slice']} | {r['slices']} | {b[0]:.3f} | {b[1]:.3f} | {p[1]:.3f} |")
timing_store = json.load(open(f"{out}/{names[0]}/aal_{regions[0]['label']}.json"))["timing"]
timing_enc = json.load(open(f"{out}/speed_encoded.json"))["timing"]
lines += ["", f"Speed, region {regions[0]['label']}: encoder {timing_enc['encode_seconds_per_slice']:.2f} s per slice "
          f"({timing_enc['slices_encoded']} slices encoded, decoding {timing_enc['decode_seconds']:.2f} s in all); "
          f"with the store: {timing_store['slices_read_from_store']} slices read, 0 encoded, decoding "
          f"{timing_store['decode_seconds']:.2f} s in all."]
open(f"{out}/table.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PYEOF
