#!/usr/bin/env bash
# One-time set-up on a fresh Debian machine with Python 3.11 (idempotent; re-running is cheap).
#  - Debian packages: the real data set (Fashion-MNIST, IDX) and Chromium for the HTML report test;
#  - PyTorch: the CPU build on machines without an NVIDIA GPU (torch==2.13.0), else what is there;
#  - cnnspec itself, editable, with its test extras.
# Set CNNSPEC_SKIP_APT=1 to skip the Debian packages (e.g. without root).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}

if [ "${CNNSPEC_SKIP_APT:-0}" != 1 ]; then
  need=()
  [ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "setup: installing Debian packages: ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
  fi
fi

if ! "$PY" -c "import torch" >/dev/null 2>&1; then
  if command -v nvidia-smi >/dev/null 2>&1; then
    echo "setup: installing PyTorch (CUDA build)"; "$PY" -m pip install -q "torch>=2.4"
  else
    echo "setup: installing PyTorch 2.13.0 (CPU build)"; "$PY" -m pip install -q torch==2.13.0
  fi
fi
"$PY" -m pip install -q -e '.[test]'
echo "setup: done ($("$PY" -c 'import torch, cnnspec; print("cnnspec", cnnspec.__version__, "torch", torch.__version__)'))"
