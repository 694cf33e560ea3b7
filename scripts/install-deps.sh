#!/usr/bin/env bash
# Installs what SAMRI needs to build, test and run its demo, from Debian 12 packages only.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

PACKAGES=(
  build-essential cmake ninja-build git
  libtorch-dev libopenblas0-pthread libgloo-dev
  libinsighttoolkit5-dev libgdcm-tools
  libcli11-dev libspdlog-dev nlohmann-json3-dev libgtest-dev
  libnifti2-dev
  # the embedding store's shards (samri-embed); h5py is how users and the tests read them
  libhdf5-dev zlib1g-dev
  # SHA-256 of checkpoints with the CPU's SHA instructions (sha256 of a 375 MB file: 0.5 s, not 4 s)
  libssl-dev
  mricron-data
  python3 python3-numpy python3-nibabel python3-pydicom python3-scipy python3-h5py
  # learning curves of samri-train runs (scripts/plot_training.py)
  python3-matplotlib
  # the reference's torch.load checks the checkpoints the project writes (a test skips without it)
  python3-torch
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian's reference BLAS makes LibTorch ten times slower: make sure OpenBLAS is the one in use.
blas=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | awk '/^Value:/{print $2}')
case "$blas" in
  *openblas*) ;;
  *) echo "warning: libblas.so.3 points at '$blas', not OpenBLAS" >&2 ;;
esac
