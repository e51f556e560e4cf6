"""One way to break each conversation rule (`ftdata.core.rules.RULES`), as an edit of a plain SFT conversation
[system?, user, assistant, ...] in canonical JSON: the fast-lane tests hold every lane to every rule with them."""

from __future__ import annotations

import copy
from typing import Any, Callable

Json = dict[str, Any]


def edit(record: Json, change: Callable[[list[Json]], None]) -> Json:
    out = copy.deepcopy(record)
    change(out["messages"])
    return out


def first_user(messages: list[Json]) -> Json:
    return next(m for m in messages if m["role"] == "user")


def blank_user(messages: list[Json]) -> None:
    first_user(messages)["content"] = " "


def two_answers(messages: list[Json]) -> None:
    i = next(i for i, m in enumerate(messages) if m["role"] == "assistant")
    messages.insert(i, {"role": "assistant", "content": "first"})


def ends_on_user(messages: list[Json]) -> None:
    messages.append({"role": "user", "content": "and?"})


def placeholder(messages: list[Json]) -> None:
    first_user(messages)["content"] += " <image>"


def empty(messages: list[Json]) -> None:
    messages.clear()


def first_answer(messages: list[Json]) -> Json:
    return next(m for m in messages if m["role"] == "assistant")


def user_reasoning(messages: list[Json]) -> None:
    first_user(messages)["reasoning"] = "why ask"


def unclosed_think(messages: list[Json]) -> None:
    first_answer(messages)["content"] = "<think>plan, then " + first_answer(messages)["content"]


def reasoning_is_answer(messages: list[Json]) -> None:
    first_answer(messages)["reasoning"] = first_answer(messages)["content"]
