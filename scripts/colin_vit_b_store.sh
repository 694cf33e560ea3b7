# Sourced by the training benchmarks. make_colin_vit_b_store BUILD WORK THREADS: prints the
# machine, writes a random ViT-B checkpoint (WORK/vit_b.pth, samri-checkpoint init --seed 0) and
# a bf16 store (WORK/store) of the 9 middle axial slices of Colin27 with AAL labels (Debian's
# mricron-data): enough samples for several batches of 64.
make_colin_vit_b_store() {
  local build=$1 work=$2 threads=$3 templates=/usr/share/mricron/templates
  echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "load $(cut -d' ' -f1-3 /proc/loadavg)"
  "$build/apps/samri-checkpoint" init --model vit_b --seed 0 --output "$work/vit_b.pth" -q
  echo "image,label,patient" >"$work/colin.csv"
  echo "$templates/ch2.nii.gz,$templates/aal.nii.gz,colin" >>"$work/colin.csv"
  "$build/apps/samri-preprocess" --list "$work/colin.csv" --output "$work/slices" --axis 2 \
    --peripheral-fraction 0.48 -q
  "$build/apps/samri-embed" --checkpoint "$work/vit_b.pth" --data "$work/slices" \
    --output "$work/store" --precision bf16 --threads "$threads" -q
}
