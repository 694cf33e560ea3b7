#!/usr/bin/env bash
# samri-embed as a user runs it, on Colin27 + AAL preprocessed by samri-preprocess, with the tiny
# reference model: kills at several points (SIGKILL) and a SIGTERM, each followed by a plain rerun;
# the stores are then checked by h5py against an uninterrupted run. Also bad input and a full
# disk (a file size limit).
set -euo pipefail
BIN=$1
DATA=$2
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null || true; umount "$OUT/tmpfs" 2>/dev/null || true; rm -rf "$OUT"' EXIT
TEMPLATES=/usr/share/mricron/templates
PY=/usr/bin/python3
TINY=(--checkpoint "$DATA/sam_tiny/sam_tiny.pth" --model "$DATA/sam_tiny/sam_tiny.json" --threads 1)

"$BIN/samri-embed" --help >"$OUT/help.txt"  # not piped into grep -q: see smoke.sh
grep -q -- "--shard" "$OUT/help.txt"
"$BIN/samri-embed" --version | grep -q "samri"

echo "image,label,patient" > "$OUT/colin.csv"
echo "$TEMPLATES/ch2.nii.gz,$TEMPLATES/aal.nii.gz,colin" >> "$OUT/colin.csv"
"$BIN/samri-preprocess" --list "$OUT/colin.csv" --output "$OUT/slices" --axis 2 -q
SLICES="$OUT/slices"

"$BIN/samri-embed" "${TINY[@]}" --data "$SLICES" --output "$OUT/ref" -q
"$BIN/samri-embed" info "$OUT/ref" | grep -q "(complete)"

records() { ls "$1"/shards/*.json 2>/dev/null | wc -l; }

# SIGKILL at several points of one store's life, each time continued by a plain rerun.
for at in 1 20 60; do
  "$BIN/samri-embed" "${TINY[@]}" --data "$SLICES" --output "$OUT/killed" --shard-size 1 -q &
  pid=$!
  for _ in $(seq 1 600); do
    [ "$(records "$OUT/killed")" -ge "$at" ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.01
  done
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  echo "killed after $(records "$OUT/killed") shards"
done
"$BIN/samri-embed" "${TINY[@]}" --data "$SLICES" --output "$OUT/killed" --shard-size 1 -q
"$BIN/samri-embed" verify "$OUT/killed" > "$OUT/verify.txt" || { cat "$OUT/verify.txt"; exit 1; }

# SIGTERM: the slices in hand are committed, exit status 3, and a rerun finishes the store.
"$BIN/samri-embed" "${TINY[@]}" --data "$SLICES" --output "$OUT/termed" --shard-size 1 -q &
pid=$!
for _ in $(seq 1 600); do
  [ "$(records "$OUT/termed")" -ge 5 ] && break
  sleep 0.01
done
kill -TERM $pid
set +e
wait $pid
status=$?
set -e
[ "$status" -eq 3 ] || [ "$status" -eq 0 ] || { echo "SIGTERM: exit $status, expected 3"; exit 1; }
echo "SIGTERM: exit $status after $(records "$OUT/termed") shards"
"$BIN/samri-embed" "${TINY[@]}" --data "$SLICES" --output "$OUT/termed" -q
"$BIN/samri-embed" verify "$OUT/termed" > /dev/null

# Bad input: a clear message, exit 1, nothing created.
set +e
"$BIN/samri-embed" "${TINY[@]}" --data "$SLICES" --output "$OUT/bad" --shard 5/4 2> "$OUT/err.txt"
status=$?
set -e
[ "$status" -eq 1 ] && grep -q "shard '5/4'" "$OUT/err.txt" && [ ! -e "$OUT/bad" ] ||
  { echo "--shard 5/4: exit $status"; cat "$OUT/err.txt"; exit 1; }

# A file size limit (ulimit -f) below the shard's size: exit 1 naming the shard, no partial file.
set +e
bash -c "trap '' XFSZ; ulimit -f 4096; exec \"$BIN/samri-embed\" ${TINY[*]} --data \"$SLICES\" \
  --output \"$OUT/limited\" --store-dtype fp32" 2> "$OUT/limited.txt"
status=$?
set -e
[ "$status" -eq 1 ] && grep -q "p0000of0001-000000.h5" "$OUT/limited.txt" ||
  { echo "file size limit: exit $status"; cat "$OUT/limited.txt"; exit 1; }
if ls -a "$OUT/limited/shards" | grep -q "partial\|\.h5"; then echo "a shard was left"; exit 1; fi

# A full disk (a small tmpfs, where this user may mount one): the shards that fit are committed,
# the run stops naming the shard that does not, and nothing partial is left.
if [ "$(id -u)" -eq 0 ] && mkdir -p "$OUT/tmpfs" && mount -t tmpfs -o size=6m tmpfs "$OUT/tmpfs" 2>/dev/null; then
  set +e
  "$BIN/samri-embed" "${TINY[@]}" --data "$SLICES" --output "$OUT/tmpfs/store" --shard-size 8 \
    2> "$OUT/full.txt"
  status=$?
  "$BIN/samri-embed" verify "$OUT/tmpfs/store" > "$OUT/full_verify.txt"
  vstatus=$?
  set -e
  leftovers=$(ls -a "$OUT/tmpfs/store/shards" | grep -c "partial" || true)
  umount "$OUT/tmpfs"
  [ "$status" -eq 1 ] && grep -q "disk is full" "$OUT/full.txt" && [ "$leftovers" -eq 0 ] ||
    { echo "full disk: exit $status, $leftovers partial files"; cat "$OUT/full.txt"; exit 1; }
  [ "$vstatus" -eq 1 ] && grep -q "NOT COMPLETE (nothing is damaged)" "$OUT/full_verify.txt" ||
    { echo "verify after a full disk:"; cat "$OUT/full_verify.txt"; exit 1; }
  echo "full disk: $(grep -o 'p0000of0001-[0-9]*.h5: the disk is full' "$OUT/full.txt")"
else
  echo "skipped: the full-disk check on a small tmpfs (cannot mount here)"
fi

if [ -x "$PY" ] && "$PY" -c "import h5py, numpy" 2>/dev/null; then
  "$PY" "$HERE/check_store.py" clean "$OUT/killed"
  "$PY" "$HERE/check_store.py" same "$OUT/ref" "$OUT/killed"
  "$PY" "$HERE/check_store.py" same "$OUT/ref" "$OUT/termed"
  "$PY" "$HERE/check_store.py" count "$OUT/ref" "$SLICES/manifest.jsonl"
  "$BIN/samri-embed" "${TINY[@]}" --data "$SLICES" --output "$OUT/bf16" --store-dtype bf16 -q
  "$BIN/samri-embed" "${TINY[@]}" --data "$SLICES" --output "$OUT/fp32" --store-dtype fp32 -q
  "$PY" "$HERE/check_store.py" bf16 "$OUT/bf16" "$OUT/fp32"
else
  echo "skipped: the h5py checks (no /usr/bin/python3 with h5py)"
fi
echo "smoke_embed passed"
