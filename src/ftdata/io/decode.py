"""Media contents, checked as a trainer's loader would read them: images decoded with Pillow (the optional `media`
extra, imported lazily), audio and video probed (`ftdata.io.probe`: PyAV, or the standard library for WAV),
`data:` URLs decoded the same way.

Cost is bounded: the header first (`Image.open`: format and size, no pixel data), then `verify` for PNG (every
chunk's CRC: a truncated or patched file fails) and a load only where the header cannot tell (JPEG and the rest:
a reduced-size `draft` decode, which still reads every compressed byte, so truncation and garbage fail). A file's
result is cached per run by its stat (device, inode, size, mtime), so a dataset naming one file a thousand times
decodes it once.
"""

from __future__ import annotations

import binascii
import io
import os
import warnings
from typing import IO, Any

from ftdata.io.probe import NOT_CHECKED, Probe, probe_sound

__all__ = ["NOT_CHECKED", "PROBES", "Probe", "cached_probe", "decode_data_url", "probe_data_url", "probe_image"]


StatKey = tuple[int, int, int, int]
MAX_PROBES = 1_000_000  # files whose decoding is remembered per process (a run)
PROBES: dict[tuple[int, int, int, int, str], Probe] = {}  # (file stat key, kind) -> what decoding found; validate
# and stats share it (a file named as audio and as video is probed for each)


def _pillow() -> Any:
    """PIL.Image, or None when Pillow is not installed (pip install 'ftdata[media]')."""
    try:
        from PIL import Image
    except ImportError:
        return None
    return Image


def stat_key(path: str) -> StatKey | None:
    """(device, inode, size, mtime) of a file: the same file under two names is one key; None when gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def was_probed(path: str) -> bool:
    """Was this file (under any name) read as media in this run? An output must never replace one."""
    key = stat_key(path)
    return key is not None and any((*key, kind) in PROBES for kind in ("images", "videos", "audios"))


def cached_probe(path: str, kind: str = "images") -> Probe:
    """`probe_image` of a file (or, for audios and videos, `probe_sound`), once per file per run (keyed by its
    stat: a changed file is decoded again)."""
    key = stat_key(path)
    if key is None:
        return NOT_CHECKED
    found = PROBES.get((*key, kind))
    if found is None:
        found = probe_image(path) if kind == "images" else probe_sound(path, kind, path)
        if len(PROBES) < MAX_PROBES:
            PROBES[(*key, kind)] = found
    return found


def probe_image(source: str | IO[bytes]) -> Probe:
    """Decode an image (a path or bytes) as far as needed to know a loader reads it: header, then verify or load."""
    image_mod = _pillow()
    if image_mod is None:
        return NOT_CHECKED
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DecompressionBombWarning, EXIF warnings: the size is checked by us
            with image_mod.open(source) as im:
                fmt, (width, height) = im.format, im.size
                if fmt == "PNG":
                    im.verify()  # every chunk's CRC, no decompression
                else:
                    im.draft(im.mode, (max(1, width // 8), max(1, height // 8)))  # JPEG: DCT scaling, 1/64 the work
                    im.load()
    except image_mod.DecompressionBombError as err:
        return Probe(error=f"too large for Pillow's default limit ({err})")
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError, IndexError, TypeError) as err:
        return Probe(error=_reason(err))
    return Probe(fmt, width, height)


def _reason(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    if text.startswith("cannot identify image file"):
        return "not an image Pillow can read"
    return text[:200]


def decode_data_url(url: str) -> tuple[str, bytes | None, str | None]:
    """`data:[mime][;base64],payload` -> (mime, bytes, None), or (mime, None, why it cannot be decoded)."""
    head, comma, payload = url[5:].partition(",")
    mime = head.split(";")[0].strip().lower()
    if not comma:
        return mime, None, "a data URL without a ',' before its payload"
    if not head.endswith(";base64"):
        from urllib.parse import unquote_to_bytes

        return mime, unquote_to_bytes(payload), None
    try:
        return mime, binascii.a2b_base64(payload.strip(), strict_mode=True), None
    except (binascii.Error, ValueError) as err:
        return mime, None, f"its base64 payload is not valid ({err})"


def probe_data_url(url: str, kind: str = "images") -> Probe:
    """Decode a data URL's payload and probe it as the kind of media its list holds (`kind`); a payload whose MIME
    type names another kind is that row's problem (a loader would fail on it the same way)."""
    mime, data, why = decode_data_url(url)
    if data is None:
        return Probe(error=why)
    major, _, minor = mime.partition("/")
    if kind == "images":  # loaders open the bytes by their content, whatever the MIME type says
        found = probe_image(io.BytesIO(data))
        return Probe(error=f"it holds '{mime}', not an image") if found.error and mime and major != "image" else found
    if mime and major not in ("audio", "video"):
        return Probe(error=f"it holds '{mime}', not {kind[:-1]}")
    suffix = {"x-wav": "wav", "wave": "wav", "mpeg": "mp3", "*": ""}.get(minor, minor)
    return probe_sound(io.BytesIO(data), kind, f"data.{suffix}")
