"""Audio and video probed as a trainer's loader would open them: PyAV (FFmpeg's demuxers and decoders, the optional
`media` extra, imported lazily) for every container (mp3, flac, ogg, m4a, wav, mp4, webm, avi, mov, ...); without
it, WAV with the standard library's `wave` and the rest not probed (counted as not checked).

Why PyAV rather than soundfile (measured on LLaMA-Factory's demo media and 1,000 bench files, DOCS-media.md):
soundfile (libsndfile) reads wav / flac / ogg / mp3 but no m4a and no video at all, so video would need PyAV
anyway; one library for both kinds costs one wheel (~35 MB) instead of two.

Cost is bounded: the container header first (format, streams, the duration it announces); the first frame of the
wanted stream decoded (a codec that cannot read the data fails here); then the packets of the last second only
(a seek; demuxed, not decoded) to see that the data the header announces is there. A file whose header gives no
duration is demuxed to its end to learn it (packets, no decoding).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import IO, Any


@dataclass(frozen=True, slots=True)
class Probe:
    """What a media file holds: its format, pixel size (images, video frames) and duration (audio, video), or why it
    cannot be read (`error`); `checked` is False when nothing could look (the optional extra is absent, or the
    format is not probed here)."""

    format: str | None = None
    width: int = 0
    height: int = 0
    error: str | None = None
    checked: bool = True
    seconds: float | None = None  # audio / video: the duration

    @property
    def pixels(self) -> int:
        return self.width * self.height


NOT_CHECKED = Probe(checked=False)
STREAM = {"audios": "audio", "videos": "video"}
TAIL_SECONDS = 1.0  # the packets of the last second are demuxed to see that the file ends where its header says


def _av() -> Any:
    """The `av` module (PyAV), or None when it is not installed (pip install 'ftdata[media]')."""
    try:
        import av
    except ImportError:
        return None
    return av


def has_av() -> bool:
    return _av() is not None


def probe_av(source: str | IO[bytes], kind: str, name: str = "") -> Probe:
    """An audio (`kind` "audios") or video ("videos") file or bytes: its container, duration and frame size, or why
    a loader could not read it (no such stream, no frame decodes, truncated)."""
    av = _av()
    if av is None:
        return NOT_CHECKED
    want = STREAM[kind]
    # a hostile or cut file can fail anywhere inside PyAV (a stream without a codec context is None: AttributeError),
    # so any exception while reading it is that file's problem, never the run's
    errors = (Exception,)
    try:
        opened = av.open(source, metadata_errors="ignore")
    except errors as err:  # no container FFmpeg knows (text, noise), or its header is cut
        return Probe(error=f"not {want} FFmpeg can read ({_reason(err, 'header')})")
    try:
        with opened as box:
            stream = next((s for s in box.streams if s.type == want), None)
            if stream is None:
                held = ", ".join(sorted({s.type for s in box.streams}))
                return Probe(error=f"it holds no {want} stream (only {held})" if held else
                             "no stream could be read from it (cut short, or not a media file)")
            fmt, announced = _format(box.format.name, name), _announced(box, stream)
            if stream.codec_context is None:  # the stream's header is cut: FFmpeg has no decoder for it
                return Probe(error=f"its {want} stream cannot be decoded (cut short, or a codec FFmpeg lacks)")
            stream.codec_context.thread_count = 1  # one frame is decoded: a decoder's thread pool costs more
            if next(iter(box.decode(stream)), None) is None:
                return Probe(error=f"no {want} frame decodes")
            end = _tail_end(box, stream, announced)
    except errors as err:
        return Probe(error=_reason(err, want))
    if announced is not None and end is not None and end < announced - max(0.1, 0.01 * announced):
        return Probe(error=f"truncated: its {want} ends at {end:.2f} s of the {announced:.2f} s its header announces")
    seconds = announced if announced is not None else end
    size = (stream.codec_context.width, stream.codec_context.height) if want == "video" else (0, 0)
    return Probe(fmt, size[0], size[1], seconds=seconds)


def _format(names: str, name: str) -> str:
    """FFmpeg's demuxer names ('mov,mp4,m4a,3gp,3g2,mj2') -> the one the file's suffix names, else the first."""
    options = names.split(",")
    suffix = PurePath(name).suffix.lower().lstrip(".")
    return suffix if suffix in options else options[0]


def _announced(box: Any, stream: Any) -> float | None:
    """The stream's duration from the header (its own, else the container's), or None when neither says."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return box.duration / 1_000_000 if box.duration and box.duration > 0 else None


def _tail_end(box: Any, stream: Any, announced: float | None) -> float | None:
    """Where the stream's packets end (seconds): the last second's packets, after a seek when the header gives the
    duration; every packet when it does not."""
    if announced is not None and announced > 2 * TAIL_SECONDS:
        try:
            box.seek(int((announced - TAIL_SECONDS) * 1_000_000), backward=True)
        except Exception:  # noqa: BLE001 - a demuxer that cannot seek: read on from here (still no decoding)
            pass
    end: float | None = None
    for packet in box.demux(stream):
        if packet.pts is not None and packet.size and packet.time_base:
            stop = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            end = stop if end is None else max(end, stop)
    return end


def _reason(err: BaseException, what: str) -> str:
    """FFmpeg's error in words: `what` is 'header' while opening, else the stream's kind."""
    text = getattr(err, "strerror", None) or str(err) or type(err).__name__
    if "Invalid data found" in text:
        return "invalid data" if what == "header" else f"invalid {what} data"
    if "End of file" in text:
        return "it ends inside its header" if what == "header" else f"it ends inside its {what} data (truncated)"
    return text[:200]


def probe_wav(source: str | IO[bytes]) -> Probe:
    """A WAV file's duration from its header, and whether the sample data it announces is all there (the standard
    library: PCM only; other WAV encodings are not checked)."""
    import wave

    try:
        with wave.open(source, "rb") as w:
            frames, rate, width = w.getnframes(), w.getframerate(), w.getsampwidth() * w.getnchannels()
            data = w.readframes(frames)
    except (wave.Error, EOFError, OSError, ValueError) as err:
        if str(err).startswith("unknown format"):
            return NOT_CHECKED  # float or compressed WAV: the standard library cannot say, a loader may read it
        return Probe(error=f"not a WAV file the standard library can read ({err})")
    if rate <= 0:
        return Probe(error="its header gives a sample rate of 0")
    if len(data) < frames * width:
        return Probe(error=f"truncated: {len(data) // max(width, 1):,} of the {frames:,} frames its header announces")
    return Probe("WAV", seconds=frames / rate)


def probe_sound(source: str | IO[bytes], kind: str, name: str = "") -> Probe:
    """Audio or video: a PCM WAV (by its name) with the standard library (exact and cheaper), anything else with
    PyAV where it is installed (a WAV the standard library cannot read too: float samples, or another format under
    a .wav name, which loaders open by content); else not checked."""
    if kind == "audios" and name.lower().endswith((".wav", ".wave")):
        found = probe_wav(source)
        if found.error is None and found.checked or found.error is not None and found.error.startswith("truncated") \
                or not has_av():
            return found
        if not isinstance(source, str):
            source.seek(0)
    return probe_av(source, kind, name) if has_av() else NOT_CHECKED
