"""JSON Schemas generated from the pydantic models: one per source format and one for the canonical record.

`schemas/` in the repository is `ftdata schema export` output; a test fails when it drifts from the models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel

from ftdata.canonical import Record
from ftdata.formats.alpaca import AlpacaRow
from ftdata.formats.firefly import FireflyRow
from ftdata.formats.moss import MossRow
from ftdata.formats.openai import OpenAIPreferenceRow, OpenAIRow
from ftdata.formats.sharegpt import ShareGPTRow
from ftdata.formats.text import TextRow
from ftdata.formats.trl import TrlRow

# format -> the row models a record of it may match (any one of them)
ROW_MODELS: dict[str, list[type[BaseModel]]] = {
    "alpaca": [AlpacaRow], "sharegpt": [ShareGPTRow], "openai": [OpenAIRow, OpenAIPreferenceRow], "trl": [TrlRow],
    "moss": [MossRow], "firefly": [FireflyRow], "text": [TextRow], "canonical": [Record],
}

# What JSON Schema cannot say; `ftdata validate` checks these too.
RULES = {
    "common": "Not expressible here, checked by `ftdata validate`: turn order (optional leading system; user/tool and "
              "assistant turns alternate; a tool result follows a tool call; SFT ends with an assistant turn; a "
              "preference/KTO prompt ends with a user turn), non-blank content, <image>/<video>/<audio> placeholder "
              "counts equal to the media lists, media files existing inside the media folder.",
    "alpaca": "A row has `output`, or `chosen` and `rejected`; `kto_tag` marks KTO rows.",
    "sharegpt": "Roles: human, gpt, observation, function_call, system (user/assistant accepted); a function_call "
                "value is a JSON {name, arguments} object or a list of them; `tools` is a JSON string or a list.",
    "openai": "Tool call `arguments` must decode to a JSON object; roles system, developer, user, assistant, tool.",
    "trl": "A row has prompt+completion (SFT), prompt+chosen+rejected or chosen+rejected (preference), or "
           "prompt+completion+label (KTO).",
    "moss": "Each field is wrapped in its markers (<|Human|>: ...<eoh>, <|Inner Thoughts|>: ...<eot>, <|Commands|>: "
            "...<eoc>, <|Results|>: ...<eor>, <|MOSS|>: ...<eom>); chat holds turn_1..turn_N with N = num_turns; "
            "Commands are Name(arguments) calls.",
    "firefly": "Firefly DPO rows (prompt_id, whole-conversation chosen/rejected) follow the trl schema.",
    "text": "",
    "canonical": "A record holds messages; messages+chosen+rejected; messages+completion+label; or text.",
}


def schema_for(fmt: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one format's records."""
    models = ROW_MODELS[fmt]
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
    schema["description"] = " ".join(filter(None, [RULES[fmt], RULES["common"]]))
    if fmt == "canonical":
        schema["oneOf"] = [_kind(fields) for fields in KIND_FIELDS]
    return schema


# The canonical record's kinds, as sets of fields that are set (present and not null); see ftdata.canonical.
KIND_FIELDS = [("messages",), ("messages", "chosen", "rejected"), ("messages", "completion", "label"), ("text",)]
KIND_KEYS = ("messages", "chosen", "rejected", "completion", "label", "text")


def _is_set(field: str) -> dict[str, Any]:
    return {"required": [field], "properties": {field: {"not": {"type": "null"}}}}


def _kind(fields: tuple[str, ...]) -> dict[str, Any]:
    return {"allOf": [_is_set(f) for f in fields] + [{"not": _is_set(f)} for f in KIND_KEYS if f not in fields]}


def export(directory: Path) -> list[Path]:
    """Write `<format>.schema.json` for every format; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in ROW_MODELS:
        path = directory / f"{fmt}.schema.json"
        path.write_bytes(orjson.dumps(schema_for(fmt), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
        written.append(path)
    return written
