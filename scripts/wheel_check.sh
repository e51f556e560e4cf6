#!/usr/bin/env bash
# Build the wheel, install it into a fresh venv (CPU torch first) and train with the bundled tiny model
# from a folder outside the repo: proves the model ships as package data and works without a checkout.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
"$repo/.venv/bin/python" -m pip wheel -q --no-deps -w "$work/dist" "$repo"
"$python" -m venv "$work/venv"
wheel="$(ls "$work"/dist/ftdata-*.whl)"
# The core install (no extras): the ftdata command works on its own (no click, datasets or torch needed), and a
# bad argument is a usage error (exit 2), not an internal one.
"$python" -m venv "$work/core"
"$work/core/bin/python" -m pip install -q "$wheel"
"$work/core/bin/ftdata" validate "$repo/fixtures/data/moss/moss_sample.jsonl" > /dev/null
rc=0; "$work/core/bin/ftdata" validate --no-such-option x 2> "$work/usage.txt" || rc=$?
test "$rc" = 2 && grep -q "No such option" "$work/usage.txt"
"$work/venv/bin/python" -m pip install -q torch==2.13.0 ${TORCH_INDEX:+--index-url "$TORCH_INDEX"}
"$work/venv/bin/python" -m pip install -q "${wheel}[train]"
mkdir "$work/run"
cp "$repo/fixtures/data/llamafactory/identity.json" "$work/run/identity.json"
echo '{"identity": {"file_name": "identity.json"}}' > "$work/run/dataset_info.json"
cd "$work/run"
HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 "$work/venv/bin/fttrain" sft dataset_info.json --max-steps 2 --max-length 128 | tee log.txt
grep -q "using the bundled tiny test model" log.txt
test -f output/sft/adapter_model.safetensors
# the bundled tiny vision-language model ships too, and trains on LLaMA-Factory's image demo from the wheel
cp -r "$repo/fixtures/upstream/llamafactory/mllm_demo.json" "$repo/fixtures/upstream/llamafactory/mllm_demo_data" .
HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 "$work/venv/bin/fttrain" sft mllm_demo.json --model tiny-llava --max-steps 1 \
  --output-dir output/vlm | tee log.txt
grep -q "note: vision: 8 images in 6 rows" log.txt
echo "wheel check: ok"
