"""Write the small AAC fixtures of the stsg-audio tests.

Needs PyAV (`pip install av numpy`; PyAV 18.1 bundles FFmpeg and its native AAC encoder).
The AAC files are re-encoded on every run, so their bytes (and `aac_reference.csv`) may change
with the FFmpeg version. The tests read the reference values from the CSV.
Run from this folder: `python make_fixtures.py`.

Each file holds 1.0 s of a 1 kHz sine at amplitude 0.5, 44.1 kHz; the stereo file has its right
channel at 0.6 times the left.
"""

import av
import numpy as np

RATE = 44_100
FRAMES = RATE


def tone(channels):
    t = np.arange(FRAMES) / RATE
    left = 0.5 * np.sin(2 * np.pi * 1000.0 * t)
    planes = [left, 0.6 * left][:channels]
    return np.stack(planes).astype(np.float32)


def write(path, container_format, channels):
    layout = "mono" if channels == 1 else "stereo"
    with av.open(path, "w", format=container_format) as container:
        stream = container.add_stream("aac", rate=RATE, layout=layout)
        stream.bit_rate = 64_000
        samples = tone(channels)
        step = 1024
        for start in range(0, FRAMES, step):
            block = np.ascontiguousarray(samples[:, start : start + step])
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=layout)
            frame.sample_rate = RATE
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def write_reference(paths, csv_path):
    """Record FFmpeg's own decoding of each file (frames per channel, peak and RMS over all
    channels) so the tests compare Symphonia against it."""
    with open(csv_path, "w") as out:
        out.write("file,ffmpeg_frames,ffmpeg_peak,ffmpeg_rms\n")
        for path in paths:
            with av.open(path) as container:
                planes = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)
            peak = float(np.abs(planes).max())
            rms = float(np.sqrt(np.mean(planes.astype(np.float64) ** 2)))
            out.write(f"{path},{planes.shape[1]},{peak:.6f},{rms:.6f}\n")


write("aac_44k1_stereo.m4a", "mp4", 2)
write("aac_44k1_mono.aac", "adts", 1)
write_reference(["aac_44k1_stereo.m4a", "aac_44k1_mono.aac"], "aac_reference.csv")


def write_opus(path):
    """An Ogg Opus file: Symphonia 0.6.1 reads the container but has no Opus decoder."""
    rate = 48_000
    with av.open(path, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=rate, layout="mono")
        t = np.arange(rate // 10) / rate
        samples = (0.5 * np.sin(2 * np.pi * 1000.0 * t)).astype(np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
        frame.sample_rate = rate
        frame.pts = 0
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def write_video_only(path):
    """A Matroska file with one 16x16 MJPEG video frame and no audio track."""
    with av.open(path, "w", format="matroska") as container:
        stream = container.add_stream("mjpeg", rate=1)
        stream.width = 16
        stream.height = 16
        stream.pix_fmt = "yuvj420p"
        image = np.zeros((16, 16, 3), dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


write_opus("opus_48k_mono.ogg")
write_video_only("video_only.mkv")
