#!/usr/bin/env bash
# Does samri-train learn? The issue-8 experiment with the project's own tools: a randomly
# initialised ViT-B (samri-checkpoint init --seed 0), 20 axial Colin27 slices (AAL labels) to
# train on and 20 other slices held out, box prompts with +-20 px jitter, batch 8, lr 1e-4;
# held-out Dice (validation, low-res frame) every 50 steps, beside the Dice of a filled box.
# Usage: scripts/colin_learning_curve.sh OUTPUT_DIR [steps] [threads] [precision] [iou_weight]
# (iou_weight > 0 adds SAM's IoU-prediction loss, so that the decoder's predicted IoU, which
# samri-infer's confidence flags read, is trained too; the run goes to run-PRECISION-iouW.)
# (SAMRI_VAL_MAX=N validates on N held-out samples spread over the set instead of all of them.)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$1
STEPS=${2:-600}
THREADS=${3:-$(nproc)}
PRECISION=${4:-fp32}
IOU_WEIGHT=${5:-0}
RUN="$OUT/run-$PRECISION"
[ "$IOU_WEIGHT" = 0 ] || RUN="$RUN-iou$IOU_WEIGHT"
BUILD=${SAMRI_BUILD_DIR:-build}
TEMPLATES=/usr/share/mricron/templates
PY=/usr/bin/python3
mkdir -p "$OUT"

[ -f "$OUT/vit_b_seed0.pth" ] ||
  "$BUILD/apps/samri-checkpoint" init --model vit_b --seed 0 --output "$OUT/vit_b_seed0.pth" -q
if [ ! -f "$OUT/slices/manifest.jsonl" ]; then
  echo "image,label,patient" >"$OUT/colin.csv"
  echo "$TEMPLATES/ch2.nii.gz,$TEMPLATES/aal.nii.gz,colin" >>"$OUT/colin.csv"
  "$BUILD/apps/samri-preprocess" --list "$OUT/colin.csv" --output "$OUT/slices" --axis 2 \
    --peripheral-fraction 0 -q
fi
# 40 axial slices every second one of slices 60-139: the even ones train, the odd ones are held
# out (split val). A preprocess folder of its own: the same files, a filtered manifest.
$PY - "$OUT" <<'PYEOF'
import json, os, shutil, sys
out = sys.argv[1]
src, dst = f"{out}/slices", f"{out}/subset"
os.makedirs(dst, exist_ok=True)
for d in ("images", "labels"):
    if not os.path.exists(f"{dst}/{d}"):
        os.symlink(os.path.abspath(f"{src}/{d}"), f"{dst}/{d}")
shutil.copy(f"{src}/rules.json", f"{dst}/rules.json")
counts = {"train": 0, "val": 0}
with open(f"{src}/manifest.jsonl") as f, open(f"{dst}/manifest.jsonl", "w") as g:
    for line in f:
        s = json.loads(line)
        k = s["slice"]
        if 60 <= k < 140 and k % 2 == 0:
            s["split"] = "train" if k % 4 == 0 else "val"
            counts[s["split"]] += 1
            g.write(json.dumps(s) + "\n")
print(f"subset: {counts['train']} training samples, {counts['val']} held-out samples")
PYEOF
"$BUILD/apps/samri-embed" --checkpoint "$OUT/vit_b_seed0.pth" --data "$OUT/subset" \
  --output "$OUT/store" --precision bf16 --threads "$THREADS" -q
"$BUILD/apps/samri-train" --checkpoint "$OUT/vit_b_seed0.pth" --train "$OUT/store" \
  --output "$RUN" --resume auto --batch-size 8 --lr 1e-4 --samples-per-dataset 0 \
  --epochs 1000 --max-steps "$STEPS" --val-every-steps 50 --log-every-steps 10 \
  --state-every-steps 50 --val-max-samples "${SAMRI_VAL_MAX:-0}" --threads "$THREADS" \
  --precision "$PRECISION" --iou-weight "$IOU_WEIGHT"

# The Dice of the filled tightest box on the held-out samples (low-res frame, as validation).
$PY - "$OUT" <<'PYEOF' | tee "$OUT/filled_box.txt"
import json, sys
import numpy as np
import nibabel as nib
out = sys.argv[1]
dices = []
for line in open(f"{out}/subset/manifest.jsonl"):
    s = json.loads(line)
    if s["split"] != "val":
        continue
    # SAM's view of the slice is the transpose of nibabel's array? The manifest's box and size
    # are in SAM's view (height x width); labels are stored so that reading them in ITK index
    # order gives that view: compare in the stored array's own frame via the pixel count.
    lab = np.asarray(nib.load(f"{out}/subset/{s['labels']}").dataobj).squeeze()
    if lab.shape != (s["height"], s["width"]):
        lab = lab.T
    mask = lab == s["label"]
    x0, y0, x1, y1 = s["box"]
    box = np.zeros_like(mask)
    box[y0:y1 + 1, x0:x1 + 1] = True
    dices.append(2 * (mask & box).sum() / (mask.sum() + box.sum()))
print(f"filled box Dice on {len(dices)} held-out samples (original size): {np.mean(dices):.3f}")
PYEOF
if $PY -c "import matplotlib" 2>/dev/null; then
  fb=$(grep -o '[0-9.]*$' "$OUT/filled_box.txt")
  $PY scripts/plot_training.py "$RUN" --smooth 5 --title "samri-train, random ViT-B, Colin27" \
    --hline "$fb:filled box" --output "$RUN.png" --csv "$RUN-heldout_dice.csv"
fi
