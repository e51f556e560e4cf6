#!/usr/bin/env bash
# One short check on a GPU machine (not run by the tests): a few steps each of sft LoRA bf16, QLoRA 4-bit, dpo and
# kto on the bundled tiny text model, and sft (LoRA, full) and dpo on the bundled tiny vision-language model (LLaVA),
# with the image demo's first turns as preference rows for dpo. Each run writes one
# line to $OUT/gpu.txt: name, exit code, steps, train loss, seconds, peak GPU memory (torch's max allocated). A
# failing run is recorded with the last line of its log and the next one runs. Needs fttrain importable
# (PYTHONPATH=src, or installed) with torch (CUDA), transformers, trl, peft, accelerate and bitsandbytes.
#
#   OUT=/tmp/out PYTHONPATH=$PWD/src bash scripts/gpu_check.sh     (from the repository root; ~1-2 minutes)
set -u
repo="${REPO:-$(cd "$(dirname "$0")/.." && pwd)}"
out="${OUT:-$repo/gpu-out}"
python="${PYTHON:-python3}"
mkdir -p "$out/runs"
result="$out/gpu.txt"
: > "$result"
export HF_HUB_OFFLINE=1 USE_HUB_KERNELS=0 TOKENIZERS_PARALLELISM=false FTTRAIN_CACHE_DIR="$out/cache"
lf="$repo/fixtures/data/llamafactory"
vlm="$repo/src/fttrain/assets/tiny-llava"
common=(--max-steps 5 --logging-steps 1 --max-length 256 --save-steps 1000 --no-cache)

{
  echo "# $(date -u +%FT%TZ) $(hostname)"
  "$python" -c "import torch, transformers, trl, peft; print('# torch', torch.__version__, 'cuda', torch.version.cuda,
  torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'NO CUDA', '| transformers', transformers.__version__,
  '| trl', trl.__version__, '| peft', peft.__version__)" 2>&1 | tail -1
} >> "$result"

# fttrain in-process, so that torch's peak GPU memory of the run can be read after it
runner='
import sys, time, torch
from fttrain.cli import main
sys.argv = ["fttrain", *sys.argv[1:]]
start, code = time.time(), 0
try:
    main()
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
except BaseException as e:
    print(f"crash: {type(e).__name__}: {e}")
    code = 3
peak = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else -1
print(f"@@ rc={code} seconds={time.time() - start:.1f} peak_mb={peak:.0f}")
'

check() {  # check NAME fttrain-args...; past $BUDGET (130) s in all, the rest are listed as skipped (the whole stays < 3 min)
  local name="$1"; shift
  if [ "$SECONDS" -gt "${BUDGET:-130}" ]; then echo "$name: skipped (time budget spent at ${SECONDS}s)" >> "$result"; return; fi
  local log="$out/runs/$name.log"
  timeout 45 "$python" -c "$runner" "$@" --output-dir "$out/runs/$name" > "$log" 2>&1
  local rc=$?
  local tail; tail="$(grep -a '^@@' "$log" | tail -1 | sed 's/^@@ //')"
  local steps; steps="$(grep -aoE 'done: [0-9]+ steps' "$log" | grep -oE '[0-9]+' | tail -1)"
  local loss; loss="$(grep -aoE "'train_loss': '?[0-9.eE+-]+" "$log" | grep -oE "[0-9.eE+-]+$" | tail -1)"
  if [ -z "$tail" ]; then tail="rc=$rc (timed out or killed) last: $(tail -c 300 "$log" | tr '\n' ' ')"; fi
  local last=""
  if ! grep -q '^@@ rc=0' "$log"; then last=" error: $(grep -av '^@@' "$log" | grep -aE 'rror|refus|not supported|crash' | tail -1 | cut -c1-300)"; fi
  echo "$name: steps=${steps:-?} loss=${loss:-?} $tail$last" >> "$result"
}

check sft-vlm-lora sft "$lf/mllm_demo.json" --model "$vlm" --method lora --bf16 "${common[@]}"
check sft-vlm-full sft "$lf/mllm_demo.json" --model "$vlm" --method full --bf16 "${common[@]}"
mkdir -p "$out/vlpref" && cp -r "$lf/mllm_demo_data" "$out/vlpref/"
"$python" - "$lf/mllm_demo.json" "$out/vlpref/pref.jsonl" <<'PY'
import json, sys
rows = []
for r in json.load(open(sys.argv[1])):
    first, answer = r["messages"][:2]
    rows.append({"prompt": [first], "chosen": [answer], "rejected": [{"role": "assistant", "content": "I do not know."}],
                 "images": r["images"][:first["content"].count("<image>")]})
open(sys.argv[2], "w").write("".join(json.dumps(r) + "\n" for r in rows))
PY
check dpo-vlm-lora dpo "$out/vlpref/pref.jsonl" --model "$vlm" --method lora --bf16 "${common[@]}"
# the text paths last (the vision ones are the newer code)
check sft-lora-bf16 sft "$lf/alpaca_en_demo.json" --method lora --bf16 "${common[@]}"
check sft-qlora-4bit sft "$lf/alpaca_en_demo.json" --method qlora --quantization-bit 4 --bf16 "${common[@]}"
check dpo-lora dpo "$lf/dpo_en_demo.json" --method lora --bf16 "${common[@]}"
check kto-lora kto "$lf/kto_en_demo.json" --method lora --bf16 "${common[@]}"
echo "# total ${SECONDS}s" >> "$result"
cat "$result"
