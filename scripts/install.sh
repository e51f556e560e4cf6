#!/usr/bin/env bash
# Set up .venv for `make demo` / `make test`: torch first (the CPU build on a machine without a GPU), then ftdata
# with the extras asked for. Usage: scripts/install.sh EXTRAS [VENV]   e.g. scripts/install.sh train .venv
#
# torch: TORCH_INDEX=URL picks the index. Otherwise, with a GPU (nvidia-smi lists one, or /proc/driver/nvidia
# exists), the default index (PyPI's torch is the CUDA build); without one, the CPU wheel index when it answers,
# else the default index (on plain PyPI that is the CUDA build, several GB: said in a warning). A torch wheel that
# pip is configured to find locally (pip's find-links) is used either way.
# Installer: uv when it is on PATH (INSTALLER=pip to use pip), else pip. DRY_RUN=1 prints the commands only.
# Test hooks: NVIDIA_PROC (default /proc/driver/nvidia), TORCH_CPU_INDEX (default the PyTorch CPU index).
set -euo pipefail
extras="${1:?usage: scripts/install.sh EXTRAS [VENV]}"
venv="${2:-.venv}"
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
torch_version="2.13.0"
cpu_index="${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}"
nvidia_proc="${NVIDIA_PROC:-/proc/driver/nvidia}"

say() { echo "install: $*" >&2; }
run() { if [ "${DRY_RUN:-}" = 1 ]; then echo "+ $*"; else "$@"; fi; }

has_gpu() {
  if command -v nvidia-smi > /dev/null 2>&1 && nvidia-smi -L 2> /dev/null | grep -q '^GPU'; then return 0; fi
  [ -e "$nvidia_proc" ]
}

reachable() {  # an index answers within 5 s (http(s) or file URLs)
  "$python" - "$1" << 'EOF' > /dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=5).close()
EOF
}

torch_args=()
if [ -n "${TORCH_INDEX:-}" ]; then
  say "torch from TORCH_INDEX=$TORCH_INDEX"
  torch_args=(--index-url "$TORCH_INDEX")
elif has_gpu; then
  say "GPU found: torch from the default index (the CUDA build)"
elif reachable "$cpu_index/"; then
  say "no GPU: CPU torch from $cpu_index"
  torch_args=(--index-url "$cpu_index")
else
  say "no GPU, and $cpu_index does not answer: torch from the default index" \
      "(a local wheel if pip is configured with one; on plain PyPI the CUDA build, several GB)"
fi

if [ "${INSTALLER:-}" != pip ] && command -v uv > /dev/null 2>&1; then
  say "installing with uv"
  test -x "$venv/bin/python" || run uv venv -q --seed --python "$python" "$venv"
  # uv does not read pip's configuration: pass on the local wheels and indexes pip is configured with
  links=()
  for key in global.find-links global.extra-index-url; do
    value="$("$python" -m pip config get "$key" 2> /dev/null || true)"
    flag="--${key#global.}"
    for item in $value; do links+=("$flag" "$item"); done
  done
  for item in ${PIP_FIND_LINKS:-}; do links+=(--find-links "$item"); done
  for item in ${PIP_EXTRA_INDEX_URL:-}; do links+=(--extra-index-url "$item"); done
  # pip picks the best version across all its indexes; uv by default only looks at the first index that has a
  # package, so a configured mirror holding an older transformers made the install fail: ask for pip's rule
  pip=(uv pip install -q --python "$venv/bin/python" --index-strategy unsafe-best-match "${links[@]}")
else
  say "installing with pip (uv is faster: pip install uv)"
  test -x "$venv/bin/python" || run "$python" -m venv "$venv"
  pip=("$venv/bin/python" -m pip install -q)
fi
run "${pip[@]}" "torch==$torch_version" "${torch_args[@]}"
run "${pip[@]}" -e ".[$extras]"
if [ "${DRY_RUN:-}" != 1 ]; then
  build="$("$venv/bin/python" -c 'import torch; print(torch.__version__, "cuda" if torch.version.cuda else "cpu")')"
  say "torch $build"
fi
