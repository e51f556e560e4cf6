"""The tokenized cache: where it lives, what a row's key is made of, and its folders (listed, cleared).

    CACHE_DIR/<stage>-<run key>/          one folder per run key (stage, tokenizer, template, policies, code)
      key.json                            what the run key is made of, and when it was last used
      <dataset>-<id>/                     one dataset's prepared rows: `datasets.load_from_disk` reads it
        outcomes.arrow                    every row's key and fate (kept at row i, or dropped and why), in order
        preflight.json                    the dataset's pre-flight counts and validation summary

A row's key is its run key + its canonical form (the record as JSON): a row is reused only when everything
that shapes its tokens is the same, and an edited row (or a changed option, tokenizer file, template, library or
fttrain's own code that renders and fits rows) gets a new key.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from ftdata.core import canonical, tokens
from ftdata.core.canonical import Record
from fttrain import data, lengths, reasoning, rowstore, template
from fttrain.spec import RunSpec, Stage

CACHE_FORMAT = 1  # the layout of the folders above
ENV = "FTTRAIN_CACHE_DIR"
# options that do not change a row's tokens or fate (training, splitting, mixing, error handling, the cache's own);
# every other option, including ones added later, is part of the key: a new option can only cost a re-tokenization
NOT_IN_KEY = frozenset({
    "model", "chat_template",  # their content is in the key (tokenizer files, the template text), not their path
    "dataset", "method", "output_dir", "val_size", "packing", "mix", "mix_probs", "lora_rank", "lora_alpha",
    "lora_dropout", "lora_target", "use_rslora", "use_dora", "freeze_trainable_layers", "quantization_bit",
    "learning_rate", "lr_scheduler_type", "warmup", "optim", "num_train_epochs", "max_steps",
    "per_device_train_batch_size", "gradient_accumulation_steps", "gradient_checkpointing", "bf16", "fp16", "seed",
    "save_steps", "save_total_limit", "logging_steps", "resume_from_checkpoint", "merge", "report_to", "beta",
    "dpo_loss_type", "kto_loss_type", "desirable_weight", "undesirable_weight", "trl", "generate",
    "resize_embeddings",  # the model's embeddings, not the rows
    "skip_bad_rows", "render_timeout",  # rows the template cannot render are never cached: tried again each run
    "cache", "cache_dir", "workers",
    "allow_duplicates", "max_dropped",  # checks over the prepared rows, not their shape
})
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".h5", ".msgpack", ".ckpt", ".onnx", ".pdparams")
LIBRARIES = ("transformers", "tokenizers", "jinja2", "datasets", "pyarrow")
# fttrain's and ftdata's modules that render, tokenize, mask and fit rows: their code is part of the key
SHAPING_MODULES = (data, template, lengths, tokens, canonical, reasoning, rowstore)


def cache_root(source: Path, spec: RunSpec) -> Path:
    """--cache-dir, else $FTTRAIN_CACHE_DIR (a shared disk), else .fttrain-cache beside the data (where the data's
    folder cannot be written: ~/.cache/fttrain)."""
    if spec.cache_dir:
        return Path(spec.cache_dir)
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    folder = source if source.is_dir() else source.parent
    if os.access(folder, os.W_OK):
        return folder / ".fttrain-cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fttrain"


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def tokenizer_files(model_path: Path) -> dict[str, str]:
    """The hash of each file of the model folder that can shape tokens (everything but weights): 'tokenizer.json' ->
    its hash."""
    found = {}
    for path in sorted(model_path.iterdir()):
        if path.is_file() and not path.name.endswith(WEIGHT_SUFFIXES) and not path.name.startswith("."):
            found[path.name] = _digest(path.read_bytes())
    return found


def _code_hash() -> str:
    """One hash of the source of the modules that shape the rows (an fttrain upgrade or local edit changes it)."""
    return _digest(b"\0".join(Path(str(m.__file__)).read_bytes() for m in SHAPING_MODULES))


def key_parts(stage: Stage, spec: RunSpec, model_path: Path, chat_template: str) -> dict[str, Any]:
    """Everything a run's rows depend on besides the rows themselves."""
    versions: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    options = {name: getattr(spec, name) for name in RunSpec.model_fields if name not in NOT_IN_KEY}
    return {"format": CACHE_FORMAT, "stage": stage, "code": _code_hash(), "libraries": versions,
            "tokenizer_files": tokenizer_files(model_path), "chat_template": _digest(chat_template.encode()),
            "options": options}


def run_key(parts: dict[str, Any]) -> str:
    """The run key: a hash of `key_parts`."""
    return _digest(json.dumps(parts, sort_keys=True, default=str).encode())


def row_keys(key: str, records: Iterable[Record]) -> list[str]:
    """Each record's key: the run key + its canonical form."""
    prefix = key.encode()
    return [_digest(prefix + rec.model_dump_json().encode()) for rec in records]


def key_folder(root: Path, stage: Stage, key: str) -> Path:
    return root / f"{stage}-{key[:20]}"


def dataset_folder(folder: Path, name: str, source: Path) -> Path:
    """A dataset's prepared folder: its name (made safe) and a hash of where it comes from."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:60] or "data"
    return folder / f"{safe}-{_digest(f'{source.resolve()}#{name}'.encode())[:8]}"


def touch_key(folder: Path, parts: dict[str, Any], model: str) -> None:
    """Write key.json: the key's parts, the model folder, the time of this use."""
    folder.mkdir(parents=True, exist_ok=True)
    record = {"parts": parts, "model": model, "last_used": time.time()}
    tmp = folder / f".key.json.{os.getpid()}"
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True, default=str), encoding="utf-8")
    os.replace(tmp, folder / "key.json")


def size(path: Path) -> int:
    """Bytes under a folder."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def human(n: int) -> str:
    """1536 -> '1.5 KB'."""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


@dataclass
class KeyFolder:
    """One run key's folder as `fttrain cache` lists it."""

    path: Path
    stage: str
    model: str
    last_used: float
    bytes: int
    datasets: list[str]
    stale: str  # why it is stale ('' when it is not)


def list_cache(root: Path) -> list[KeyFolder]:
    """Every run key's folder under `root`, newest use first; each says whether (and why) it is stale: its model
    folder is gone or its tokenizer files changed, or a later run of the same stage and model on the same datasets
    used another key."""
    found = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        try:
            info = json.loads((folder / "key.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        datasets = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        found.append(KeyFolder(folder, str(info["parts"].get("stage")), str(info.get("model")),
                               float(info.get("last_used", 0)), size(folder), datasets,
                               _changed(info["parts"], Path(str(info.get("model"))))))
    found.sort(key=lambda k: k.last_used, reverse=True)
    seen: set[tuple[str, str, str]] = set()
    for k in found:
        groups = {(k.stage, k.model, name) for name in k.datasets}
        if groups and groups <= seen and not k.stale:
            k.stale = "later runs on its datasets used other options, template or code"
        seen |= groups
    return found


def _changed(parts: dict[str, Any], model: Path) -> str:
    if not model.is_dir():
        return "its model folder is gone"
    try:
        if tokenizer_files(model) != parts.get("tokenizer_files"):
            return "its tokenizer files changed"
    except OSError:
        return "its model folder cannot be read"
    return ""


def clear(root: Path, stale_only: bool) -> tuple[int, int]:
    """Remove the stale key folders (or all of them): (folders removed, bytes freed)."""
    removed = freed = 0
    for k in list_cache(root):
        if stale_only and not k.stale:
            continue
        shutil.rmtree(k.path, ignore_errors=True)
        removed += 1
        freed += k.bytes
    return removed, freed
