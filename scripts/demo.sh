#!/usr/bin/env bash
# The demo: SAM on real MRI (Colin27 T1 from Debian's mricron-data), prompted by the boxes of the
# AAL atlas drawn on the same brain (the paper's evaluation protocol), and a 2-D check against the
# reference implementation's golden output. No download: unless SAMRI_CHECKPOINT names a real
# checkpoint (e.g. sam_vit_b_01ec64.pth or a SAMRI release), it uses random ViT-B weights of the
# official shapes, which exercise every step at full size but segment nothing meaningful.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SAMRI_BIN:-build/apps}
OUT=${SAMRI_DEMO_OUT:-demo_output}
TEMPLATES=/usr/share/mricron/templates
mkdir -p "$OUT"

echo "== 1. checkpoint"
CKPT=${SAMRI_CHECKPOINT:-$OUT/random_vit_b.pth}
if [ ! -f "$CKPT" ]; then
  "$BIN/samri-checkpoint" init --model vit_b --seed 0 --output "$CKPT"
fi
"$BIN/samri-checkpoint" info "$CKPT"

echo "== 2. 3-D: ViT-B, one box per AAL region on two axial slices of Colin27"
time "$BIN/samri-infer" --checkpoint "$CKPT" --model "${SAMRI_MODEL:-vit_b}" \
  --input "$TEMPLATES/ch2.nii.gz" --boxes-from "$TEMPLATES/aal.nii.gz" \
  --axis 2 --slices 90:92 --precision bf16 --output "$OUT/ch2_aal_boxes.nii.gz"

echo "== 3. 2-D: the tiny reference model on a Colin27 slice, box 40,30,120,100"
"$BIN/samri-infer" --checkpoint tests/data/sam_tiny/sam_tiny.pth \
  --model tests/data/sam_tiny/sam_tiny.json --input tests/data/infer/ch2_slice90_crop.nii.gz \
  --box 40,30,120,100 --multimask --output "$OUT/slice_masks.nii.gz"

echo "== 4. stage 1 of SAMRI: preprocess Colin27 + AAL, embed a few slices into a store (ViT-B, bf16)"
printf 'image,label,patient\n%s,%s,colin27\n' "$TEMPLATES/ch2.nii.gz" "$TEMPLATES/aal.nii.gz" \
  > "$OUT/colin.csv"
# --peripheral-fraction 0.49 keeps the middle few axial slices, so the demo stays short.
"$BIN/samri-preprocess" --list "$OUT/colin.csv" --label-names "$TEMPLATES/aal.nii.txt" \
  --axis 2 --peripheral-fraction 0.49 --output "$OUT/colin_slices"
time "$BIN/samri-embed" --checkpoint "$CKPT" --model "${SAMRI_MODEL:-vit_b}" \
  --data "$OUT/colin_slices" --output "$OUT/colin_store" --precision bf16
"$BIN/samri-embed" info "$OUT/colin_store"
"$BIN/samri-embed" verify "$OUT/colin_store"

echo "Demo outputs are in $OUT/"
