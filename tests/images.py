"""Small real media for tests: images (Pillow), WAV (the standard library), audio and video (PyAV): media files are
decoded by validate, so a fake one is invalid."""

from __future__ import annotations

import io


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (4, 3)) -> bytes:
    """A valid `fmt` image of `size` pixels."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, fmt)
    return buf.getvalue()


def wav_bytes(seconds: float = 1.0, rate: int = 8000) -> bytes:
    """A mono 16-bit WAV of silence lasting `seconds`."""
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(2 * int(seconds * rate)))
    return buf.getvalue()


AUDIO = {"mp3": ("mp3", "mp3"), "flac": ("flac", "flac"), "ogg": ("ogg", "libopus"), "m4a": ("ipod", "aac"),
         "wav": ("wav", "pcm_s16le")}  # suffix -> (PyAV container, encoder)
VIDEO = {"mp4": ("mp4", "libx264"), "webm": ("webm", "libvpx"), "avi": ("avi", "mpeg4"), "mov": ("mov", "mpeg4")}


def audio_bytes(suffix: str = "mp3", seconds: float = 1.0, rate: int = 8000) -> bytes:
    """A mono 440 Hz tone of `seconds`, encoded by PyAV as `suffix` (a key of AUDIO): a few KB."""
    import av
    import numpy as np

    container, codec = AUDIO[suffix]
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as box:
        stream = box.add_stream(codec, rate=48000 if codec == "libopus" else rate, layout="mono")
        rate = stream.codec_context.sample_rate
        step = stream.codec_context.frame_size or 1024
        tone = (np.sin(2 * np.pi * 440 * np.arange(int(seconds * rate)) / rate) * 0.3).astype(np.float32)
        for start in range(0, len(tone), step):
            frame = av.AudioFrame.from_ndarray(tone[None, start:start + step], format="flt", layout="mono")
            frame.sample_rate, frame.pts = rate, start
            for packet in stream.encode(frame):
                box.mux(packet)
        for packet in stream.encode(None):
            box.mux(packet)
    return buf.getvalue()


def video_bytes(suffix: str = "mp4", seconds: float = 1.0, size: tuple[int, int] = (32, 24), fps: int = 10) -> bytes:
    """A `size` video of `seconds` (frames of changing grey), encoded by PyAV as `suffix` (a key of VIDEO)."""
    import av
    import numpy as np

    container, codec = VIDEO[suffix]
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as box:
        stream = box.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(int(seconds * fps)):
            grey = np.full((size[1], size[0], 3), (i * 20) % 256, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(grey, format="rgb24")):
                box.mux(packet)
        for packet in stream.encode(None):
            box.mux(packet)
    return buf.getvalue()
