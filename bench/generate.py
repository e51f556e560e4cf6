"""Seeded generator of realistic fine-tuning data for the benchmark.

    python bench/generate.py FORMAT ROWS OUT.jsonl [--invalid 0.03] [--seed 0]

FORMAT: plain conversations (sharegpt | alpaca | openai | moss) or rich rows (openai_tools | sharegpt_tools |
moss_plugins | preference_sharegpt | preference_openai | kto | multimodal; see each maker). Conversations of 1-8
turns, mixed English / Chinese, 50-2,000 characters a message; a few percent of rows carry a realistic defect
(wrong role order, missing field, empty answer, broken JSON line).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import orjson

EN = ("the model data training answer question because which should could would about system value result "
      "language example token format people after before first second tool search weather number").split()
ZH = list("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处府研")
DEFECTS = ("role_order", "missing_field", "empty", "bad_json")


def text(rng: random.Random) -> str:
    if isinstance(rng, Pool):
        return rng.choice(rng.texts)
    return _make_text(rng)


def _make_text(rng: random.Random) -> str:
    n = int(rng.triangular(50, 2000, 300))
    out: list[str] = []
    size = 0
    zh = rng.random() < 0.4
    while size < n:
        word = "".join(rng.choices(ZH, k=rng.randint(1, 4))) if zh else rng.choice(EN) + " "
        out.append(word)
        size += len(word)
        if rng.random() < 0.03:
            out.append("\n")
    return "".join(out)[:n].strip() or "ok"


def sharegpt(rng: random.Random, defect: str | None) -> dict:
    conv = []
    for _ in range(rng.randint(1, 8)):
        conv += [{"from": "human", "value": text(rng)}, {"from": "gpt", "value": text(rng)}]
    row: dict = {"conversations": conv}
    if rng.random() < 0.3:
        row["system"] = text(rng)[:200]
    if defect == "role_order":
        conv[1]["from"] = "human"
    elif defect == "missing_field":
        del conv[0]["value"]
    elif defect == "empty":
        conv[-1]["value"] = " "
    return row


def alpaca(rng: random.Random, defect: str | None) -> dict:
    row: dict = {"instruction": text(rng), "input": text(rng) if rng.random() < 0.4 else "", "output": text(rng)}
    if rng.random() < 0.3:
        row["history"] = [[text(rng), text(rng)] for _ in range(rng.randint(1, 3))]
    if defect == "missing_field":
        del row["output"]
    elif defect == "empty":
        row["output"] = ""
    elif defect == "role_order":
        row["history"] = [[text(rng)]]
    return row


def openai(rng: random.Random, defect: str | None) -> dict:
    msgs = [{"role": "system", "content": text(rng)[:200]}] if rng.random() < 0.3 else []
    for _ in range(rng.randint(1, 8)):
        msgs += [{"role": "user", "content": text(rng)}, {"role": "assistant", "content": text(rng)}]
    if defect == "role_order":
        msgs[-1]["role"] = "user"
    elif defect == "missing_field":
        del msgs[-1]["role"]
    elif defect == "empty":
        msgs[-1]["content"] = ""
    return {"messages": msgs}


def moss(rng: random.Random, defect: str | None) -> dict:
    turns = {}
    n = rng.randint(1, 8)
    for i in range(1, n + 1):
        tool = rng.random() < 0.2
        command = f'Search("{rng.choice(EN)}")' if tool else "None"
        turns[f"turn_{i}"] = {
            "Human": f"<|Human|>: {text(rng)}<eoh>\n",
            "Inner Thoughts": f"<|Inner Thoughts|>: {text(rng)[:300] if tool else 'None'}<eot>\n",
            "Commands": f"<|Commands|>: {command}<eoc>\n",
            "Tool Responses": f"<|Results|>: {text(rng)[:500] if tool else 'None'}<eor>\n",
            "MOSS": f"<|MOSS|>: {text(rng)}<eom>\n",
        }
    row = {"conversation_id": rng.randint(1, 10**6), "meta_instruction": "You are an AI assistant whose name is MOSS.\n",
           "num_turns": n, "chat": turns}
    return _moss_defect(row, turns, n, defect)


TOOLS = [{"type": "function", "function": {"name": name, "description": f"{name} a thing",
                                          "parameters": {"type": "object", "properties": {arg: {"type": "string"}},
                                                         "required": [arg]}}}
         for name, arg in (("search", "query"), ("weather", "city"), ("clock", "zone"), ("calc", "expression"))]


def _call(rng: random.Random) -> dict:
    tool = rng.choice(TOOLS)["function"]
    arg = next(iter(tool["parameters"]["properties"]))
    return {"name": tool["name"], "arguments": {arg: text(rng)[:40]}}


def openai_tools(rng: random.Random, defect: str | None) -> dict:
    """OpenAI chat rows with tool calls (one to three in parallel), tool results with ids, and tool schemas."""
    msgs = [{"role": "system", "content": text(rng)[:200]}] if rng.random() < 0.3 else []
    for turn in range(rng.randint(1, 4)):
        msgs.append({"role": "user", "content": text(rng)})
        if rng.random() < 0.7:
            calls = [_call(rng) for _ in range(rng.choice((1, 1, 2, 3)))]
            msgs.append({"role": "assistant", "content": None, "tool_calls": [
                {"id": f"call_{turn}_{i}", "type": "function",
                 "function": {"name": c["name"], "arguments": orjson.dumps(c["arguments"]).decode()}}
                for i, c in enumerate(calls)]})
            msgs += [{"role": "tool", "tool_call_id": f"call_{turn}_{i}", "content": text(rng)[:300]}
                     for i in range(len(calls))]
        msgs.append({"role": "assistant", "content": text(rng)})
    if defect == "role_order":
        msgs.insert(len(msgs) - 1, {"role": "tool", "tool_call_id": "x", "content": "late"})
    elif defect == "missing_field":
        del msgs[-1]["role"]
    elif defect == "empty":
        msgs[-1]["content"] = ""
    return {"messages": msgs, "tools": rng.sample(TOOLS, rng.randint(1, 3))}


def sharegpt_tools(rng: random.Random, defect: str | None) -> dict:
    """LLaMA-Factory sharegpt rows with function_call / observation turns and a tools JSON string."""
    conv = []
    for _ in range(rng.randint(1, 4)):
        conv.append({"from": "human", "value": text(rng)})
        if rng.random() < 0.7:
            conv += [{"from": "function_call", "value": orjson.dumps(_call(rng)).decode()},
                     {"from": "observation", "value": text(rng)[:300]}]
        conv.append({"from": "gpt", "value": text(rng)})
    row = {"conversations": conv, "tools": orjson.dumps([t["function"] for t in rng.sample(TOOLS, 2)]).decode()}
    if defect == "role_order":
        conv[0]["from"] = "observation"
    elif defect == "missing_field":
        del conv[-1]["value"]
    elif defect == "empty":
        conv[-1]["value"] = " "
    return row


def moss_plugins(rng: random.Random, defect: str | None) -> dict:
    """MOSS rows where most turns use a plugin: inner thoughts, commands and their results."""
    turns = {}
    n = rng.randint(1, 5)
    for i in range(1, n + 1):
        tool = rng.random() < 0.7
        command = ", ".join(f'{rng.choice(("Search", "Calculate"))}("{rng.choice(EN)}")'
                            for _ in range(rng.randint(1, 2))) if tool else "None"
        turns[f"turn_{i}"] = {
            "Human": f"<|Human|>: {text(rng)}<eoh>\n",
            "Inner Thoughts": f"<|Inner Thoughts|>: {text(rng)[:300] if tool else 'None'}<eot>\n",
            "Commands": f"<|Commands|>: {command}<eoc>\n",
            "Tool Responses": f"<|Results|>:\n{text(rng)[:500] if tool else 'None'}\n<eor>\n",
            "MOSS": f"<|MOSS|>: {text(rng)}<eom>\n",
        }
    row = {"conversation_id": rng.randint(1, 10**6), "meta_instruction": "You are an AI assistant whose name is MOSS.\n"
           "- Inner thoughts: enabled.\n- Web search: enabled. API: Search(query)\n- Calculator: enabled. API: "
           "Calculate(expression)\n", "num_turns": n, "chat": turns, "category": "tools"}
    return _moss_defect(row, turns, n, defect)


def _moss_defect(row: dict, turns: dict, n: int, defect: str | None) -> dict:
    if defect == "role_order":
        row["num_turns"] = n + 1
    elif defect == "missing_field":
        del turns["turn_1"]["MOSS"]
    elif defect == "empty":
        turns["turn_1"]["Human"] = turns["turn_1"]["Human"].replace("<eoh>", "")
    return row


def preference_sharegpt(rng: random.Random, defect: str | None) -> dict:
    """Preference pairs in LLaMA-Factory's sharegpt shape (a conversation, then chosen / rejected answers)."""
    conv = []
    for _ in range(rng.randint(0, 2)):
        conv += [{"from": "human", "value": text(rng)}, {"from": "gpt", "value": text(rng)}]
    conv.append({"from": "human", "value": text(rng)})
    row: dict = {"conversations": conv, "chosen": {"from": "gpt", "value": text(rng)},
                 "rejected": {"from": "gpt", "value": text(rng)}}
    if defect == "missing_field":
        del row["rejected"]
    elif defect:
        row["chosen"]["value"] = ""
    return row


def preference_openai(rng: random.Random, defect: str | None) -> dict:
    """Preference pairs in OpenAI's fine-tuning shape (input / preferred_output / non_preferred_output)."""
    row = {"input": {"messages": [{"role": "user", "content": text(rng)}]},
           "preferred_output": [{"role": "assistant", "content": text(rng)}],
           "non_preferred_output": [{"role": "assistant", "content": text(rng)}]}
    if defect:
        row["preferred_output"][0]["content"] = ""
    return row


def kto(rng: random.Random, defect: str | None) -> dict:
    """KTO rows: a conversation whose last answer is labelled desirable or not (LLaMA-Factory's kto demo shape)."""
    row = openai(rng, None)
    row["label"] = rng.random() < 0.5
    if defect:
        row["label"] = "yes"
    return row


def multimodal(rng: random.Random, defect: str | None) -> dict:
    """sharegpt rows with images (files in media/ beside the data file, made by `media_folder`) and their placeholders."""
    n = rng.randint(1, 2)
    conv = [{"from": "human", "value": "<image>" * n + text(rng)}, {"from": "gpt", "value": text(rng)}]
    row = {"conversations": conv, "images": [f"media/{rng.randint(0, MEDIA_FILES - 1)}.jpg" for _ in range(n)]}
    if defect:
        row["images"].append("media/missing.jpg")
    return row


MAKERS = {"sharegpt": sharegpt, "alpaca": alpaca, "openai": openai, "moss": moss, "openai_tools": openai_tools,
          "sharegpt_tools": sharegpt_tools, "moss_plugins": moss_plugins, "preference_sharegpt": preference_sharegpt,
          "preference_openai": preference_openai, "kto": kto, "multimodal": multimodal}
RICH = ["openai_tools", "sharegpt_tools", "moss_plugins", "preference_sharegpt", "preference_openai", "kto",
        "multimodal"]
MEDIA_FILES = 1000


def media_folder(folder: "Path", kind: str = "JPEG", size: tuple[int, int] = (320, 240)) -> None:
    """The images multimodal rows name: real, seeded images (validate decodes them), 320x240 JPEG by default
    (about 10 KB each, a photo's texture: a gradient and noise)."""
    import random

    from PIL import Image

    (folder / "media").mkdir(exist_ok=True)
    rng = random.Random(0)
    base = Image.linear_gradient("L").resize(size).convert("RGB")
    for i in range(MEDIA_FILES):
        noise = Image.effect_noise(size, 20 + rng.randrange(40)).convert("RGB")
        image = Image.blend(base, noise, 0.3 + rng.random() * 0.4)
        suffix = "jpg" if kind == "JPEG" else kind.lower()
        image.save(folder / "media" / f"{i}.{suffix}", kind, **({"quality": 85} if kind == "JPEG" else {}))


def repeat_file(src: "Path", out: "Path", megabytes: float) -> None:
    """A real file repeated to about `megabytes` (the shared MOSS sample, for one real-data row of the table)."""
    data = src.read_bytes()
    with open(out, "wb") as f:
        for _ in range(max(1, int(megabytes * 1e6 // len(data)))):
            f.write(data)


class Pool(random.Random):
    """Texts drawn from a pre-made pool: the same distribution, generated fast enough for GB-sized files."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        maker = random.Random(seed)
        self.texts = [_text(maker) for _ in range(4000)]


def _text(rng: random.Random) -> str:
    return _make_text(rng)


def generate(fmt: str, rows: int, out: str, invalid: float = 0.03, seed: int = 0, broken_json: bool = True) -> None:
    """`broken_json=False` keeps every line parseable (datasets.load_dataset stops at the first broken line)."""
    rng = Pool(seed)
    make = MAKERS[fmt]
    defects = DEFECTS if broken_json else DEFECTS[:-1]
    with open(out, "wb") as f:
        for _ in range(rows):
            defect = rng.choice(defects) if rng.random() < invalid else None
            line = orjson.dumps(make(rng, defect))
            if defect == "bad_json":
                line = line[: len(line) // 2]
            f.write(line + b"\n")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("format", choices=sorted(MAKERS))
    p.add_argument("rows", type=int)
    p.add_argument("out")
    p.add_argument("--invalid", type=float, default=0.03)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    generate(a.format, a.rows, a.out, a.invalid, a.seed)
    if a.format == "multimodal":
        media_folder(Path(a.out).resolve().parent)
