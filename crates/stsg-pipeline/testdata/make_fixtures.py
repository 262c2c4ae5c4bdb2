"""Writes the Ogg Vorbis fixture of the stsg-pipeline tests.

`tone_chirps_32k.ogg`: 8 s of 32 kHz mono Vorbis, a 2 kHz tone with 3 to 5 kHz up-sweeps every
second over faint noise. The end-to-end test cuts a copy of it to make a truncated Ogg file.

Run with the project's Python environment: `python make_fixtures.py` (numpy, soundfile with
libsndfile's Vorbis encoder).
"""

import numpy as np
import soundfile as sf

SR = 32_000
rng = np.random.default_rng(7)
t = np.arange(8 * SR) / SR
signal = 0.2 * np.sin(2 * np.pi * 2000 * t)
for start in range(8):
    n = int(0.4 * SR)
    u = np.arange(n) / n
    phase = 2 * np.pi * np.cumsum(3000 + 2000 * u) / SR
    i = start * SR + SR // 4
    signal[i : i + n] += 0.3 * np.sin(phase) * np.hanning(n)
signal += 0.01 * rng.standard_normal(len(t))
sf.write("tone_chirps_32k.ogg", signal.astype(np.float32), SR, format="OGG", subtype="VORBIS")
