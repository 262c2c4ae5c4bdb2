"""Write the small AAC fixtures of the stsg-audio tests.

Needs PyAV (`pip install av numpy`; PyAV 18.1 bundles FFmpeg and its native AAC encoder).
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


write("aac_44k1_stereo.m4a", "mp4", 2)
write("aac_44k1_mono.aac", "adts", 1)
