"""Content blocks: a message's content as a list of parts, in each convention the field writes, read into text with
`<image>` / `<video>` / `<audio>` placeholders and the record's media lists, in order.

- OpenAI: `{"type": "text", "text"}`, `{"type": "image_url", "image_url": {"url", "detail"?}}` (a URL or data URL),
  `{"type": "input_audio", "input_audio": {"data": base64, "format": "wav"|"mp3"}}` (-> `data:audio/wav;base64,...`),
  `{"type": "file", "file": {"file_data": data URL, "filename"?}}` (an image, audio or video data URL only: a PDF
  has no media list to go to);
- transformers' chat templates (what trl's vision-language examples use): `{"type": "image"|"video"|"audio"}` with
  one of `image`/`video`/`audio`/`url`/`path` (a reference) or `base64` (-> `data:image/*;base64,...`), or with
  none: trl's datasets (llava-instruct-mix) name the files in the row's `images` column and the block only marks
  the place (`index` / `text: null` are Arrow's fill for the columns of the other part type).

The parts as given are kept in the record's origins (`Origins.parts`), so the openai writer writes them back
exactly when the text and media are unchanged.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from ftdata.core.canonical import MEDIA_KINDS, PLACEHOLDERS, Message, Record
from ftdata.core.problems import Problem, from_validation_error, problem
from ftdata.core.rules import Origins
from ftdata.formats.base import ClosedPart

KIND_OF = {"image": "images", "video": "videos", "audio": "audios"}


class TextPart(ClosedPart):
    type: Literal["text"]
    text: str
    index: None = None  # Arrow's fill (trl's llava-instruct-mix rows)


class ImageURL(ClosedPart):
    url: str
    detail: str | None = None


class ImagePart(ClosedPart):
    type: Literal["image_url"]
    image_url: ImageURL


def at_most_one(*keys: str) -> dict[str, Any]:
    """JSON Schema: no two of `keys` together."""
    return {"not": {"anyOf": [{"required": [a, b]} for i, a in enumerate(keys) for b in keys[i + 1:]]}}


class MediaPart(ClosedPart):
    """transformers: {"type": "image", "image": "cat.jpg"}: the reference under the kind's own key, `url` or `path`,
    or the bytes as `base64`: one of them, or none (trl: the row's list holds it; each kind's JSON Schema says so
    too)."""

    url: str | None = None
    path: str | None = None
    base64: str | None = None
    index: int | None = None  # trl's rows: Arrow's fill, or the position in the row's list
    text: None = None  # Arrow's fill

    @model_validator(mode="after")
    def _one_source(self) -> MediaPart:
        given = [k for k in self.model_fields_set if k not in ("type", "index", "text")]
        if len(given) > 1:
            kind = getattr(self, "type")
            raise PydanticCustomError("invalid_value", "the {kind} block names its media under at most one of "
                                      "'{kind}', 'url', 'path', 'base64'; got {got}",
                                      {"kind": kind, "got": ", ".join(sorted(given)) or "none"})
        return self

    def ref(self) -> str | None:
        """The reference it holds; None: the block marks the place of the next item of the row's own list."""
        kind = getattr(self, "type")
        if self.base64 is not None:
            return f"data:{kind}/*;base64,{self.base64}"
        value: str | None = getattr(self, kind, None) or self.url or self.path
        return value


class ImageBlock(MediaPart):
    model_config = ConfigDict(json_schema_extra=at_most_one("image", "url", "path", "base64"))
    type: Literal["image"]
    image: str | None = None


class VideoBlock(MediaPart):
    model_config = ConfigDict(json_schema_extra=at_most_one("video", "url", "path", "base64"))
    type: Literal["video"]
    video: str | None = None


class AudioBlock(MediaPart):
    model_config = ConfigDict(json_schema_extra=at_most_one("audio", "url", "path", "base64"))
    type: Literal["audio"]
    audio: str | None = None


class InputAudio(ClosedPart):
    data: str
    format: str


class InputAudioPart(ClosedPart):
    type: Literal["input_audio"]
    input_audio: InputAudio


class FileData(ClosedPart):
    file_data: str | None = None
    file_id: str | None = None
    filename: str | None = None


class FilePart(ClosedPart):
    type: Literal["file"]
    file: FileData


Part = Annotated[Union[TextPart, ImagePart, ImageBlock, VideoBlock, AudioBlock, InputAudioPart, FilePart],
                 Field(discriminator="type")]
MediaLists = dict[str, list[str]]


def read_parts(parts: list[Any], media: MediaLists, path: str, origins: Origins, key: tuple[str, int]
               ) -> tuple[str, list[Problem]]:
    """`parts_text`, and the parts as given kept in `origins` under `key` (list name, index) for the writer."""
    mine: MediaLists = {}
    text, problems = parts_text(parts, mine, path)
    seen: dict[str, int] = {}
    for j, part in enumerate(parts):  # where each media item came from, for the media checks' problems
        kind, ref, _ = part_media(part) if not isinstance(part, TextPart) else (None, None, "")
        if kind is not None and ref is not None:
            origins.media_paths[f"{kind}[{len(media.get(kind, [])) + seen.get(kind, 0)}]"] = f"{path}[{j}]"
            seen[kind] = seen.get(kind, 0) + 1
    for kind, refs in mine.items():
        media.setdefault(kind, []).extend(refs)
    origins.parts[key] = ([p.model_dump(exclude_unset=True) for p in parts], text, mine)
    return text, problems


def parts_text(parts: list[Any], media: MediaLists, path: str) -> tuple[str, list[Problem]]:
    """Parts -> text with placeholders; each media part's reference appended to `media[kind]` in order."""
    text: list[str] = []
    problems: list[Problem] = []
    for j, part in enumerate(parts):
        if isinstance(part, TextPart):
            text.append(part.text)
            continue
        kind, ref, why = part_media(part)
        if kind is None:
            problems.append(problem(f"{path}[{j}]", "invalid_value", why))
            continue
        text.append(PLACEHOLDERS[kind])
        if ref is not None:
            media.setdefault(kind, []).append(ref)
    return "".join(text), problems


def part_media(part: Any) -> tuple[str | None, str | None, str]:
    """(media kind, reference or None (the row's list holds it), '') of a media part, or (None, '', why it has no
    place in a record)."""
    if isinstance(part, ImagePart):
        return "images", part.image_url.url, ""
    if isinstance(part, MediaPart):
        return KIND_OF[getattr(part, "type")], part.ref(), ""
    if isinstance(part, InputAudioPart):
        return "audios", f"data:audio/{part.input_audio.format};base64,{part.input_audio.data}", ""
    data = part.file.file_data
    mime = data[5:].split(";")[0].split(",")[0].lower() if data and data.startswith("data:") else ""
    kind = KIND_OF.get(mime.split("/")[0])
    if data is None or kind is None:
        held = f"'{mime}'" if mime else "a file id" if part.file.file_id else "no data URL"
        return None, "", (f"a file block holding {held} has no place in a training record (its media are images, "
                          "videos and audios, as data URLs here); extract the text or drop the block")
    return kind, data, ""


class Parts(BaseModel):
    """A content given as a list of parts (the canonical reader checks such a content with it)."""

    parts: list[Part]


def canonical_parts(fields: dict[str, Any], lists: tuple[str, ...], origins: Origins) -> list[Problem]:
    """In a canonical record's fields (a copy), each message content given as parts -> text, its media appended
    to the record's lists."""
    problems: list[Problem] = []
    media: MediaLists = {kind: list(fields.get(kind) or []) for kind in MEDIA_KINDS}
    for name in lists:
        msgs = fields.get(name)
        if not isinstance(msgs, list):
            continue
        fields[name] = msgs = list(msgs)
        for i, m in enumerate(msgs):
            if not isinstance(m, dict) or not isinstance(m.get("content"), list):
                continue
            try:
                parts = Parts.model_validate({"parts": m["content"]}).parts
            except ValidationError as err:
                found = from_validation_error(err, {"parts": m["content"]})
                problems += [problem(f"{name}[{i}].content" + p.path.removeprefix("parts"), p.code, p.message)
                             for p in found]
                continue
            text, found = read_parts(parts, media, f"{name}[{i}].content", origins, (name, i))
            problems += found
            msgs[i] = {**m, "content": text}
    fields.update({kind: refs for kind, refs in media.items() if refs})
    return problems


def written_parts(origins: Origins, msgs: list[Message], record: Record
                  ) -> tuple[dict[int, list[dict[str, Any]]], MediaLists]:
    """Which of `msgs` (the record's messages in read order) get their content parts back as given (index -> parts),
    and the media lists left to write beside them. Parts are kept when the text they made is the message's content
    and their media are the tail of the record's lists, where the reader put them; otherwise none are."""
    if not origins.parts:  # nothing was read from parts (a light record, a row of lists): every item beside
        return {}, {kind: list(getattr(record, kind) or []) for kind in MEDIA_KINDS}
    keep: dict[int, list[dict[str, Any]]] = {}
    used: MediaLists = {}
    for i, m in enumerate(msgs):
        given = origins.parts.get(("messages", i))
        if given is not None and given[1] == m.content:
            keep[i] = given[0]
            for kind, refs in given[2].items():
                used.setdefault(kind, []).extend(refs)
    beside: MediaLists = {}
    for kind in MEDIA_KINDS:
        refs, tail = list(getattr(record, kind) or []), used.get(kind, [])
        if tail and refs[len(refs) - len(tail):] != tail:
            return {}, {k: list(getattr(record, k) or []) for k in MEDIA_KINDS}
        beside[kind] = refs[:len(refs) - len(tail)]
    return keep, beside


def marked_parts(content: str) -> list[dict[str, Any]]:
    """'<image>What is it?' -> [{"type": "image"}, {"type": "text", "text": "What is it?"}]: trl's convention for
    rows whose images sit in the `images` column (its processors' chat templates put the image tokens there)."""
    out: list[dict[str, Any]] = []
    for i, piece in enumerate(content.split(PLACEHOLDERS["images"])):
        if i:
            out.append({"type": "image"})
        if piece:
            out.append({"type": "text", "text": piece})
    return out
