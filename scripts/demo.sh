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
# Each stage's wall time, printed at the end.
TIMES=()
stage_done() { TIMES+=("$(printf '%-44s %4ds' "$1" $((SECONDS - STAGE_START)))"); STAGE_START=$SECONDS; }
STAGE_START=$SECONDS

echo "== 1. checkpoint"
CKPT=${SAMRI_CHECKPOINT:-$OUT/random_vit_b.pth}
if [ ! -f "$CKPT" ]; then
  "$BIN/samri-checkpoint" init --model vit_b --seed 0 --output "$CKPT"
fi
"$BIN/samri-checkpoint" info "$CKPT"
if [ -z "${SAMRI_CHECKPOINT:-}" ]; then
  echo "!! RANDOM WEIGHTS: no SAMRI_CHECKPOINT given, so every mask below is meaningless; the"
  echo "!! demo shows the pipeline, not SAM's quality (SAMRI_CHECKPOINT=sam_vit_b_01ec64.pth ...)"
fi
stage_done "1. checkpoint"

echo "== 2. 3-D: ViT-B, one box per AAL region on two axial slices of Colin27"
time "$BIN/samri-infer" --checkpoint "$CKPT" --model "${SAMRI_MODEL:-vit_b}" \
  --input "$TEMPLATES/ch2.nii.gz" --boxes-from "$TEMPLATES/aal.nii.gz" \
  --axis 2 --slices 90:92 --precision bf16 --output "$OUT/ch2_aal_boxes.nii.gz"
stage_done "2. samri-infer 3-D (ViT-B)"

echo "== 3. 2-D: the tiny reference model on a Colin27 slice, box 40,30,120,100"
"$BIN/samri-infer" --checkpoint tests/data/sam_tiny/sam_tiny.pth \
  --model tests/data/sam_tiny/sam_tiny.json --input tests/data/infer/ch2_slice90_crop.nii.gz \
  --box 40,30,120,100 --multimask --output "$OUT/slice_masks.nii.gz"
stage_done "3. samri-infer 2-D (tiny reference model)"

echo "== 4. stage 1 of SAMRI: preprocess Colin27 + AAL, embed a few slices into a store (ViT-B, bf16)"
printf 'image,label,patient\n%s,%s,colin27\n' "$TEMPLATES/ch2.nii.gz" "$TEMPLATES/aal.nii.gz" \
  > "$OUT/colin.csv"
# --peripheral-fraction 0.495 keeps the middle two axial slices, so the demo stays short.
"$BIN/samri-preprocess" --list "$OUT/colin.csv" --label-names "$TEMPLATES/aal.nii.txt" \
  --axis 2 --peripheral-fraction 0.495 --single-patient-split train --output "$OUT/colin_slices"
stage_done "4a. samri-preprocess"
time "$BIN/samri-embed" --checkpoint "$CKPT" --model "${SAMRI_MODEL:-vit_b}" \
  --data "$OUT/colin_slices" --output "$OUT/colin_store" --precision bf16
"$BIN/samri-embed" info "$OUT/colin_store"
"$BIN/samri-embed" verify "$OUT/colin_store"
stage_done "4b. samri-embed (ViT-B, bf16)"

echo "== 5. stage 2 of SAMRI: train the mask decoder on the store (a few steps, bf16)"
"$BIN/samri-train" --checkpoint "$CKPT" --train "$OUT/colin_store" --output "$OUT/colin_run" \
  --force --batch-size 8 --max-steps 8 --lr 1e-4 --samples-per-dataset 0 --precision bf16 \
  --log-every-steps 4 --val-every-steps 0
stage_done "5. samri-train (8 steps)"

echo "== 6. evaluate: the base model and the trained decoder side by side, box prompts"
# On the slices it trained on: a check of the chain, not a result.
"$BIN/samri-eval" --model base="$CKPT" --model trained="$OUT/colin_run/last.pth" \
  --test "$OUT/colin_store" --output "$OUT/colin_eval" --baseline base --precision bf16 --figures
stage_done "6. samri-eval (2 models) + figures"

echo
echo "Stage times:"
printf '  %s\n' "${TIMES[@]}"
echo "Tables:  $OUT/colin_eval/tables/tables.md (and .tex)"
echo "Figures: $OUT/colin_eval/figures/"
echo "Cases:   $OUT/colin_eval/cases.csv; summary: $OUT/colin_eval/summary.json"
echo "Demo outputs are in $OUT/"
