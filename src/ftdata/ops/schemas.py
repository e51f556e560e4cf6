"""JSON Schemas generated from the pydantic models: one per source format and one for the canonical record.

`schemas/` in the repository is `ftdata schema export` output; a test fails when it drifts from the models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from ftdata.formats import FORMATS
from ftdata.io.readers import UsageError
from ftdata.io.staging import write_output

# What JSON Schema cannot say about any format's records; `ftdata validate` checks these too (see ftdata.core.rules).
COMMON = ("Not expressible here, checked by `ftdata validate`: turn order (optional leading system; user/tool and "
          "assistant turns alternate; a tool result follows a tool call; SFT ends with an assistant turn; a "
          "preference/KTO prompt ends with a user turn), non-blank content, <image>/<video>/<audio> placeholder "
          "counts equal to the media lists, media files existing inside the media folder.")


def schema_for(fmt: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one format's records."""
    models = FORMATS[fmt].rows
    parts = [m.model_json_schema(by_alias=True, mode="validation") for m in models]
    if len(parts) == 1:
        schema = parts[0]
    else:
        defs: dict[str, Any] = {}
        for p in parts:
            defs.update(p.pop("$defs", {}))
        schema = {"anyOf": parts, **({"$defs": defs} if defs else {})}
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"ftdata/{fmt}.schema.json",
              "title": f"ftdata {fmt} record", **schema}
    schema["description"] = " ".join(filter(None, [FORMATS[fmt].schema_note, COMMON]))
    schema.update(FORMATS[fmt].schema_extra)
    return schema


def export(directory: Path) -> list[Path]:
    """Write `<format>.schema.json` for every format; returns the paths written. The folder is created, its parent
    must exist (a typo never builds a tree of folders)."""
    try:
        directory.mkdir(exist_ok=True)
    except FileExistsError:
        raise UsageError(f"{directory} is a file, not a folder; choose another folder") from None
    except OSError as err:
        raise UsageError(f"{directory}: cannot create the folder: {err.strerror or err}") from None
    written = []
    for fmt in FORMATS:
        path = directory / f"{fmt}.schema.json"
        data = orjson.dumps(schema_for(fmt), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
        write_output(path, data, [], force=True, flag="schema export")  # staged; never onto a folder or device
        written.append(path)
    return written
