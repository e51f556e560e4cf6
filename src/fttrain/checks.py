"""Checks of a run's inputs that need no training library: done before anything heavy loads, each failure one line
saying what is wrong and how to fix it (the CLI exits 2)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ftdata.io.readers import (
    UsageError as UsageError,  # a run cannot start as asked: the user can fix it (exit 2)
)
from fttrain.spec import RunSpec, Stage

HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")



def check_run(stage: Stage, source: Path, spec: RunSpec) -> None:
    """Every input of a run that can be checked without loading a model, tokenizer or data."""
    check_inputs(source, spec)
    if stage == "kto" and spec.per_device_train_batch_size < 2 and spec.kto_loss_type == "kto":
        raise UsageError("KTO needs --per-device-train-batch-size 2 or more (its KL term pairs each completion with "
                         "another prompt of the same batch), or --kto-loss-type apo_zero_unpaired")
    check_folder(spec.out_dir(stage), "--output-dir")
    if spec.cache and spec.cache_dir:
        check_folder(Path(spec.cache_dir), "--cache-dir")
    resume = spec.resume_from_checkpoint
    if resume not in (None, "last", "auto") and not Path(resume).is_dir():
        raise UsageError(f"--resume-from-checkpoint {resume}: no such folder; pass a checkpoint-N folder, 'last' "
                         "or 'auto'")
    if spec.method == "freeze" and spec.merge:
        raise UsageError("--merge applies to LoRA adapters; --method freeze already saves the whole model")


def check_inputs(source: Path, spec: RunSpec) -> None:
    """What `fttrain inspect` reads too: the data, the model folder, the chat template file."""
    if not source.exists():
        raise UsageError(f"{source}: no such file; pass a dataset_info.json or a data file")
    if spec.model is not None:
        check_model_folder(spec.model)
    if spec.chat_template not in (None, "chatml") and not Path(spec.chat_template).is_file():
        raise UsageError(f"--chat-template {spec.chat_template}: no such file; pass 'chatml' or a .jinja file")


def check_folder(path: Path, flag: str) -> None:
    """A folder to write in: neither it nor a folder above it is a file."""
    for folder in [path, *path.parents]:
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"{flag} {path}: {folder} is a file, not a folder; choose another {flag}")


def check_model_folder(model: str) -> None:
    """A local Hugging Face model folder with a readable config.json; a hub name is explained, never fetched."""
    path = Path(model)
    if not path.exists():
        if HUB_NAME.match(model):
            local = "models/" + model.split("/")[-1]
            raise UsageError(f"--model {model}: no such folder, and fttrain downloads nothing; it looks like a "
                             f"Hugging Face model name: get a local copy first (hf download {model} --local-dir "
                             f"{local}) and pass --model {local}")
        raise UsageError(f"--model {model}: no such folder; pass a local Hugging Face model folder")
    if not path.is_dir():
        raise UsageError(f"--model {model}: a file, not a model folder")
    config = path / "config.json"
    try:
        loaded = json.loads(config.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"--model {model}: no config.json, so not a Hugging Face model folder") from None
    except json.JSONDecodeError as error:
        raise UsageError(f"--model {model}: config.json is not valid JSON (line {error.lineno}, column "
                         f"{error.colno}: {error.msg}); restore it from the model's source") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"--model {model}: cannot read config.json ({error})") from None
    if not isinstance(loaded, dict) or "model_type" not in loaded:
        raise UsageError(f"--model {model}: config.json has no model_type; restore it from the model's source")
