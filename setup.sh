#!/usr/bin/env bash
# One-time set-up on a fresh Debian machine with Python 3.11 (idempotent; re-running is cheap).
#  - Debian packages: the real data set (Fashion-MNIST, IDX) and Chromium for the HTML report test;
#  - PyTorch: the CPU build on machines without an NVIDIA GPU (torch==2.13.0), else what is there;
#  - cnnspec itself, editable, with its test extras;
#  - the frameworks with built-in adapters, pinned (JAX, ONNX Runtime, TensorFlow CPU, tinygrad + clang),
#    under a constraints file that keeps the installed torch and numpy as they are. Measured on the
#    2-core machine: jax+jaxlib 8 s / 475 MiB, onnxruntime 3 s / 68 MiB, tensorflow-cpu 33 s /
#    1.4 GiB, tinygrad 6 s / 40 MiB, clang (apt) 9 s;
#  - ml_dtypes (NumPy's bfloat16 and float8 types, which onnx, JAX and TensorFlow import) at 0.6.0:
#    with NumPy 2.4, 0.7.0 takes 1.4 s to import (measured: 1.36-1.55 s, against 10 ms for 0.6.0;
#    under perf, most of it in NumPy's PyUFunc_AddLoop comparing each new loop with those already
#    registered), and every framework child of `cnnspec validate` and `cnnspec matrix` imports it.
# Set CNNSPEC_SKIP_APT=1 to skip the Debian packages (e.g. without root), and
# CNNSPEC_FRAMEWORKS="jax onnxruntime" (or "") to install fewer frameworks.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}

if [ "${CNNSPEC_SKIP_APT:-0}" != 1 ]; then
  need=()
  [ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  case " ${CNNSPEC_FRAMEWORKS-tinygrad} " in *" tinygrad "*) command -v clang >/dev/null 2>&1 || need+=(clang);; esac
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
pins=$(mktemp)
echo "ml_dtypes==0.6.0" > "$pins"
"$PY" -m pip install -q -c "$pins" -e '.[test,fast]'

declare -A PIN=([jax]="jax==0.10.2 jaxlib==0.10.2" [onnxruntime]="onnxruntime==1.31.1"
                [tensorflow]="tensorflow-cpu==2.21.0" [tinygrad]="tinygrad==0.14.0")
declare -A MOD=([jax]=jax [onnxruntime]=onnxruntime [tensorflow]=tensorflow [tinygrad]=tinygrad)
want=()
for f in ${CNNSPEC_FRAMEWORKS-jax onnxruntime tensorflow tinygrad}; do
  "$PY" -c "import ${MOD[$f]}" >/dev/null 2>&1 || want+=(${PIN[$f]})
done
if [ ${#want[@]} -gt 0 ]; then
  "$PY" -c 'import torch, numpy; print(f"torch=={torch.__version__}\nnumpy=={numpy.__version__}")' >> "$pins"
  echo "setup: installing frameworks: ${want[*]}"
  "$PY" -m pip install -q -c "$pins" "${want[@]}"
fi
rm -f "$pins"
echo "setup: done ($("$PY" -c 'import torch, cnnspec; print("cnnspec", cnnspec.__version__, "torch", torch.__version__)'))"
