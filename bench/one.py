"""One measurement in a fresh process: `python bench/one.py TOOL FILE` prints {"seconds", "rows", "rss_mb"}.

Imports happen before the clock starts; RSS is this process's peak.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

SCRATCH = Path(tempfile.gettempdir())  # set per run in __main__
TARGET = "sharegpt"  # convert's target: argv[3]


def floor(path: Path) -> int:
    import orjson

    n = 0
    with path.open("rb") as f:
        for line in f:
            try:
                orjson.loads(line)
            except orjson.JSONDecodeError:
                pass
            n += 1
    return n


def ftdata_validate(path: Path, workers: int = 1) -> int:
    from ftdata import validate_file

    return validate_file(path, workers=workers).records


def ftdata_convert(path: Path, workers: int = 1) -> int:
    from ftdata.ops.convert import convert_files

    return convert_files([path], TARGET, SCRATCH / "out.jsonl", dataset_info=False, workers=workers).records


def datasets_load(path: Path) -> int:
    from datasets import load_dataset

    return len(load_dataset("json", data_files=str(path), cache_dir=str(SCRATCH), split="train"))


def pydantic_plain(path: Path) -> int:
    """What a careful user writes: a strict pydantic model per row plus a role-order loop."""
    import orjson
    from pydantic import BaseModel, ConfigDict, Field, ValidationError

    class Strict(BaseModel):
        model_config = ConfigDict(strict=True, extra="forbid")

    class Turn(Strict):
        role: str = Field(alias="from")
        value: str

    class ShareGPT(Strict):
        conversations: list[Turn]
        system: str | None = None

    class Alpaca(Strict):
        instruction: str
        input: str = ""
        output: str
        system: str | None = None
        history: list[list[str]] | None = None

    bad = n = 0
    with path.open("rb") as f:
        for line in f:
            n += 1
            try:
                row = orjson.loads(line)
                if "conversations" in row:
                    rec = ShareGPT.model_validate(row)
                    if any(t.role != ("human" if i % 2 == 0 else "gpt") or not t.value.strip()
                           for i, t in enumerate(rec.conversations)):
                        bad += 1
                else:
                    a = Alpaca.model_validate(row)
                    if not a.output.strip() or any(len(p) != 2 for p in a.history or []):
                        bad += 1
            except (orjson.JSONDecodeError, ValidationError):
                bad += 1
    return n


def sft_preprocess(_: Path) -> dict:
    """Tokens/s of fttrain's SFT pre-flight on the tiny tokenizer, on plain rows and on rich ones (OpenAI tool calls
    with tool schemas, MOSS plugin turns): ours (exact masks on every assistant turn) beside trl's own
    conversational path on the same conversations (SFTTrainer's dataset preparation, and the bare render +
    tokenize inside it; no per-turn masks there: the bundled template has no generation markers)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from generate import Pool, moss_plugins, openai_tools, sharegpt
    from transformers import AutoTokenizer

    from ftdata.core.canonical import chat_messages as hf_messages
    from ftdata.core.reports import FileReport
    from ftdata.formats import get_format
    from fttrain.data import Counts, Source, sft_rows
    from fttrain.model import bundled_model
    from fttrain.spec import RunSpec

    tok = AutoTokenizer.from_pretrained(bundled_model())
    results = {}
    for name, fmt, make in (("plain sharegpt", "sharegpt", sharegpt), ("openai tool calls", "openai", openai_tools),
                            ("MOSS plugins", "moss", moss_plugins)):
        rng = Pool(1)
        records = [get_format(fmt).to_canonical(make(rng, None)).record for _ in range(200)]
        source = Source(name, records, FileReport(name, fmt), [f"row {i}" for i in range(len(records))])
        t = time.perf_counter()
        rows = sft_rows(tok, source, RunSpec(max_length=10**9), Counts())
        secs = time.perf_counter() - t
        results[f"{name}: fttrain pre-flight (exact masks on every assistant turn)"] = {
            "rows_s": round(len(rows) / secs), "tokens_s": round(sum(len(r["input_ids"]) for r in rows) / secs)}
        t = time.perf_counter()
        ids = [tok.apply_chat_template(hf_messages(r.messages), tools=r.tools, tokenize=True,
                                       return_dict=True)["input_ids"] for r in records]
        secs = time.perf_counter() - t
        results[f"{name}: single render + tokenize (no turn masks)"] = {
            "rows_s": round(len(ids) / secs), "tokens_s": round(sum(map(len, ids)) / secs)}
        results[f"{name}: trl SFTTrainer._prepare_dataset (datasets.map, no turn masks)"] = trl_prepare(tok, records)
    return results


def trl_prepare(tok, records) -> dict:
    """trl's own preprocessing of the same conversations: SFTTrainer's dataset preparation (datasets.map)."""
    import os

    from datasets import Dataset, disable_progress_bars
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    from ftdata.core.canonical import chat_messages as hf_messages
    from fttrain.model import bundled_model

    disable_progress_bars()
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    # tools as trl takes them (a column of schema lists); Arrow adds other rows' keys to them as nulls, which only
    # lengthens the render a little here
    data = Dataset.from_list([{"messages": hf_messages(r.messages), **({"tools": r.tools} if r.tools else {})}
                              for r in records])
    args = SFTConfig(output_dir=str(SCRATCH / "trl"), max_length=None, report_to="none", use_cpu=True,
                     dataset_num_proc=None)
    trainer = SFTTrainer(AutoModelForCausalLM.from_pretrained(bundled_model()), args=args, train_dataset=data.select([0]),
                         processing_class=tok)
    t = time.perf_counter()
    done = trainer._prepare_dataset(data, tok, args, False, None, "bench")
    secs = time.perf_counter() - t
    return {"rows_s": round(len(done) / secs), "tokens_s": round(sum(len(x) for x in done["input_ids"]) / secs)}


IMPORTS = {"floor": ["orjson"], "ftdata_validate": ["ftdata.api"], "ftdata_validate_w2": ["ftdata.api", "ftdata.engine.parallel"],
           "ftdata_convert": ["ftdata.ops.convert"], "ftdata_convert_w2": ["ftdata.ops.convert", "ftdata.engine.parallel"], "datasets_load": ["datasets"], "pydantic_plain": ["pydantic", "orjson"]}
TOOLS = {"floor": floor, "ftdata_validate": ftdata_validate, "ftdata_validate_w2": lambda p: ftdata_validate(p, 2),
         "ftdata_convert": ftdata_convert, "ftdata_convert_w2": lambda p: ftdata_convert(p, 2), "datasets_load": datasets_load, "pydantic_plain": pydantic_plain}

if __name__ == "__main__":
    tool, file = sys.argv[1], Path(sys.argv[2])
    if len(sys.argv) > 3:
        TARGET = sys.argv[3]
    if tool == "sft_preprocess":
        with tempfile.TemporaryDirectory() as scratch:
            SCRATCH = Path(scratch)
            print(json.dumps(sft_preprocess(file)))
        sys.exit(0)
    # each tool's own imports happen before the clock (and only those: peak RSS stays the tool's own)
    for module in IMPORTS[tool]:
        __import__(module)
    with tempfile.TemporaryDirectory() as scratch:  # outputs and caches; removed after the clock stops
        SCRATCH = Path(scratch)
        start = time.perf_counter()
        rows = TOOLS[tool](file)
        seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "rows": rows, "rss_mb": rss}))
