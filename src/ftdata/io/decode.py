"""Media contents, checked as a trainer's loader would read them: images decoded with Pillow (the optional `media`
extra, imported lazily), `data:` URLs decoded the same way. WAV audio is probed with the standard library's `wave`
(format, duration, and the sample data all there); other audio and video are not probed (no PyAV / soundfile
here): they are counted as not checked.

Cost is bounded: the header first (`Image.open`: format and size, no pixel data), then `verify` for PNG (every
chunk's CRC: a truncated or patched file fails) and a load only where the header cannot tell (JPEG and the rest:
a reduced-size `draft` decode, which still reads every compressed byte, so truncation and garbage fail). A file's
result is cached per run by its stat (device, inode, size, mtime), so a dataset naming one image a thousand times
decodes it once.
"""

from __future__ import annotations

import binascii
import io
import os
import warnings
from dataclasses import dataclass
from typing import IO, Any


@dataclass(frozen=True, slots=True)
class Probe:
    """What a media file holds: its format and pixel size, or why it cannot be read (`error`); `checked` is False
    when nothing could look (the optional extra is absent, or the kind is not probed)."""

    format: str | None = None
    width: int = 0
    height: int = 0
    error: str | None = None
    checked: bool = True
    seconds: float | None = None  # audio: the duration its header gives

    @property
    def pixels(self) -> int:
        return self.width * self.height


NOT_CHECKED = Probe(checked=False)
StatKey = tuple[int, int, int, int]
MAX_PROBES = 1_000_000  # files whose decoding is remembered per process (a run)
PROBES: dict[StatKey, Probe] = {}  # file (stat key) -> what decoding it found; validate and stats share it


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


def cached_probe(path: str, kind: str = "images") -> Probe:
    """`probe_image` (or, for audios, `probe_wav`) of a file, once per file per run (keyed by its stat: a changed
    file is decoded again)."""
    key = stat_key(path)
    if key is None:
        return NOT_CHECKED
    if kind == "audios" and not path.lower().endswith((".wav", ".wave")):
        return NOT_CHECKED
    found = PROBES.get(key)
    if found is None:
        found = probe_image(path) if kind == "images" else probe_wav(path)
        if len(PROBES) < MAX_PROBES:
            PROBES[key] = found
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


def probe_wav(source: str | IO[bytes]) -> Probe:
    """A WAV file's duration from its header, and whether the sample data it announces is all there."""
    import wave

    try:
        with wave.open(source, "rb") as w:
            frames, rate, width = w.getnframes(), w.getframerate(), w.getsampwidth() * w.getnchannels()
            data = w.readframes(frames)
    except (wave.Error, EOFError, OSError, ValueError) as err:
        return Probe(error=f"not a WAV file the standard library can read ({err})")
    if rate <= 0:
        return Probe(error="its header gives a sample rate of 0")
    if len(data) < frames * width:
        return Probe(error=f"truncated: {len(data) // max(width, 1):,} of the {frames:,} frames its header announces")
    return Probe("WAV", seconds=frames / rate)


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


def probe_data_url(url: str) -> Probe:
    """Decode a data URL's payload and probe it as an image when it says it is one (or says nothing)."""
    mime, data, why = decode_data_url(url)
    if data is None:
        return Probe(error=why)
    if mime in ("audio/wav", "audio/x-wav", "audio/wave"):
        return probe_wav(io.BytesIO(data))
    if mime and not mime.startswith("image/"):
        return NOT_CHECKED
    return probe_image(io.BytesIO(data))
