"""Writes the parity fixtures of stsg-mel's tests.

Run from anywhere with the project's Python environment:

    /work/venv/bin/python crates/stsg-mel/testdata/make_fixtures.py [--real-clip SAMPLES.f32]

References: scipy 1.17 (scipy.signal.spectrogram), librosa 0.11 (librosa.filters.mel,
librosa.power_to_db, librosa.feature.mfcc), numpy 2.4. The spectrogram is computed from float64
samples, the most exact reference; the STSG reference code runs it on float32 audio.
The filterbank rescaling by the mean row sum reproduces opensoundscape 0.12's MelSpectrogram.

Generated signals are stored as int16 (`*_pcm.npy`, value / 32768 gives the float samples), so
the tests use the very samples the fixtures were computed from. Filterbanks are stored sparse:
`fb_<name>_runs.npy` holds (first bin, length) per band and `fb_<name>_values.npy` the weights of
all runs, concatenated.

`--real-clip` takes a raw little-endian float32 dump of the 5 s Ogg Vorbis test clip
(shared/data/formats/ogg_vorbis_32k_mono.ogg) as stsg-audio decodes it, and writes only derived
features (`real_clip_*.npy`) and the CRC-32 of the samples, never audio: the recording's licence
does not allow committing it. Make the dump with

    STSG_MEL_WRITE_SAMPLES=/tmp/clip.f32 cargo test -p stsg-mel --test real_clip

and compare it with libvorbis (soundfile) using the line this script prints.
"""

import argparse
import zlib
from pathlib import Path

import librosa
import numpy as np
import scipy.signal

OUT = Path(__file__).resolve().parent
FLOOR = 1e-10


def save(name, array):
    np.save(OUT / f"{name}.npy", array)


def save_filterbank(name, fb):
    runs, values = [], []
    for row in fb:
        nz = np.flatnonzero(row)
        if nz.size == 0:
            runs.append((0, 0))
            continue
        first, last = nz[0], nz[-1]
        runs.append((first, last - first + 1))
        values.append(row[first : last + 1])
    save(f"fb_{name}_runs", np.array(runs, dtype=np.int32))
    save(f"fb_{name}_values", np.concatenate(values).astype(np.float32))


def rescale_by_mean_row_sum(fb):
    """opensoundscape 0.12: divide the filterbank by the mean over bands of each band's sum."""
    return fb / np.sum(fb, 1).mean()


def spectrogram(x, sr, frame_length, hop, n_fft):
    """Power spectrogram (bins x frames) with the STSG reference settings."""
    freqs, times, s = scipy.signal.spectrogram(
        x.astype(np.float64),
        fs=sr,
        window="hann",
        nperseg=frame_length,
        noverlap=frame_length - hop,
        nfft=n_fft,
        detrend="constant",
        scaling="spectrum",
        mode="psd",
    )
    expected_times = (frame_length / 2 + hop * np.arange(s.shape[1])) / sr
    assert np.allclose(times, expected_times), "frame times are not frame centres"
    return s


def db(mel, top_db=None):
    """10 log10(max(mel, floor)); with top_db, clipped per frame (column)."""
    if top_db is None:
        return librosa.power_to_db(mel, ref=1.0, amin=FLOOR, top_db=None)
    cols = [librosa.power_to_db(mel[:, t], ref=1.0, amin=FLOOR, top_db=top_db) for t in range(mel.shape[1])]
    return np.stack(cols, axis=1)


def mfcc(s, n_mfcc):
    return librosa.feature.mfcc(S=s, n_mfcc=n_mfcc, dct_type=2, norm="ortho", lifter=0)


def frames_first(a):
    """bins/bands x frames -> frames x bins/bands, float32."""
    return np.ascontiguousarray(a.T).astype(np.float32)


def pcm(rng, n, sr, parts):
    t = np.arange(n) / sr
    x = np.zeros(n)
    for kind, amp, *args in parts:
        if kind == "tone":
            x += amp * np.sin(2 * np.pi * args[0] * t)
        elif kind == "chirp":
            x += amp * scipy.signal.chirp(t, f0=args[0], t1=t[-1], f1=args[1], method="logarithmic")
        elif kind == "noise":
            x += amp * rng.standard_normal(n)
        elif kind == "dc":
            x += amp
    return np.clip(np.round(x * 32768), -32768, 32767).astype(np.int16)


def filterbanks():
    configs = {
        "sr32000_nfft8192_mels128_slaney": dict(sr=32000, n_fft=8192, n_mels=128),
        "sr32000_nfft8192_mels768_slaney": dict(sr=32000, n_fft=8192, n_mels=768),
        "sr22050_nfft2048_mels128_slaney": dict(sr=22050, n_fft=2048, n_mels=128),
        "sr22050_nfft2048_mels128_htk": dict(sr=22050, n_fft=2048, n_mels=128, htk=True),
        "sr16000_nfft1024_mels40_htk_peak_fmin300_fmax6000": dict(
            sr=16000, n_fft=1024, n_mels=40, htk=True, norm=None, fmin=300.0, fmax=6000.0
        ),
    }
    for name, kwargs in configs.items():
        save_filterbank(name, librosa.filters.mel(**kwargs))
    fb = librosa.filters.mel(sr=32000, n_fft=8192, n_mels=768)
    save_filterbank("sr32000_nfft8192_mels768_slaney_rescaled", rescale_by_mean_row_sum(fb))


def signal_32k(rng):
    """7 frames at the STSG settings: tones, a chirp, white noise and a DC offset."""
    n = 8000 + 6 * 4000 + 1234
    x16 = pcm(
        rng,
        n,
        32000,
        [("tone", 0.3, 440.0), ("tone", 0.1, 3000.0), ("chirp", 0.05, 200.0, 12000.0), ("noise", 0.02), ("dc", 0.05)],
    )
    save("sig32_pcm", x16)
    x = x16.astype(np.float32) / 32768
    s = spectrogram(x, 32000, 8000, 4000, 8192)
    assert s.shape == (4097, 7)
    save("sig32_power_bins_frames_0_3_6", frames_first(s[:, [0, 3, 6]]))

    fb128 = rescale_by_mean_row_sum(librosa.filters.mel(sr=32000, n_fft=8192, n_mels=128)).astype(np.float64)
    fb768 = rescale_by_mean_row_sum(librosa.filters.mel(sr=32000, n_fft=8192, n_mels=768)).astype(np.float64)
    mel128 = fb128 @ s
    mel768 = fb768 @ s
    save("sig32_v1_mel_power", frames_first(mel128))
    save("sig32_v1_mfcc_linear_quirk", frames_first(mfcc(mel128, 20)))
    save("sig32_v2_mel_power", frames_first(mel768))
    save("sig32_v2_db", frames_first(db(mel768)))
    plain128 = librosa.filters.mel(sr=32000, n_fft=8192, n_mels=128).astype(np.float64) @ s
    save("sig32_mels128_db_top40", frames_first(db(plain128, top_db=40.0)))
    save("sig32_mels128_mfcc20", frames_first(mfcc(db(plain128), 20)))

    # A signal shorter than one frame, zero-padded at the end to one frame.
    short = np.zeros(8000, dtype=np.float32)
    short[:5000] = x[:5000]
    s_short = spectrogram(short, 32000, 8000, 4000, 8192)
    save("sig32_short5000_v2_db", frames_first(db(fb768 @ s_short)))


def signal_22k(rng):
    """HTK bands between 50 Hz and 8 kHz at librosa's usual 22.05 kHz, 2048-point settings."""
    n = 8820
    x16 = pcm(rng, n, 22050, [("tone", 0.2, 1000.0), ("chirp", 0.1, 100.0, 10000.0), ("noise", 0.01)])
    save("sig22_pcm", x16)
    x = x16.astype(np.float32) / 32768
    s = spectrogram(x, 22050, 2048, 512, 2048)
    fb = librosa.filters.mel(sr=22050, n_fft=2048, n_mels=64, htk=True, fmin=50.0, fmax=8000.0)
    mel = fb.astype(np.float64) @ s
    save("sig22_htk64_mel_power", frames_first(mel))
    save("sig22_htk64_mfcc13", frames_first(mfcc(db(mel), 13)))


def signal_odd_fft(rng):
    """An odd FFT size: every bin but DC is doubled."""
    n = 3000
    x16 = pcm(rng, n, 16000, [("tone", 0.25, 700.0), ("noise", 0.05)])
    save("sig16_pcm", x16)
    x = x16.astype(np.float32) / 32768
    s = spectrogram(x, 16000, 1000, 250, 1001)
    assert s.shape == (501, 9)
    save("sig16_nfft1001_power_bins", frames_first(s))
    fb = librosa.filters.mel(sr=16000, n_fft=1001, n_mels=40)
    save("sig16_nfft1001_mels40_db", frames_first(db(fb.astype(np.float64) @ s)))


def real_clip(path):
    raw = Path(path).read_bytes()
    x = np.frombuffer(raw, dtype="<f4")
    crc = zlib.crc32(raw)
    print(f"real clip: {x.size} samples, CRC-32 {crc:08x}")
    s = spectrogram(x, 32000, 8000, 4000, 8192)
    fb128 = rescale_by_mean_row_sum(librosa.filters.mel(sr=32000, n_fft=8192, n_mels=128)).astype(np.float64)
    fb768 = rescale_by_mean_row_sum(librosa.filters.mel(sr=32000, n_fft=8192, n_mels=768)).astype(np.float64)
    mel128 = fb128 @ s
    mel768 = fb768 @ s
    save("real_clip_v1_mfcc_linear_quirk", frames_first(mfcc(mel128, 20)))
    save("real_clip_v1_mel_power", frames_first(mel128))
    save("real_clip_v2_db", frames_first(db(mel768)))
    (OUT / "real_clip_samples.crc32").write_text(f"{crc:08x}\n")

    # How far the float32 arithmetic of the reference code lands from this float64 reference.
    s32 = scipy.signal.spectrogram(
        x, fs=32000, window="hann", nperseg=8000, noverlap=4000, nfft=8192, scaling="spectrum"
    )[2]
    mel768_32 = rescale_by_mean_row_sum(librosa.filters.mel(sr=32000, n_fft=8192, n_mels=768)) @ s32
    gap = np.abs(db(mel768_32.astype(np.float64)) - db(mel768)).max()
    print(f"scipy float32 vs float64, v2 dB: max difference {gap:.2e} dB")

    ogg = Path(__file__).resolve().parents[4] / "shared/data/formats/ogg_vorbis_32k_mono.ogg"
    if ogg.exists():
        import soundfile

        ref, _ = soundfile.read(ogg, dtype="float32")
        n = min(ref.size, x.size)
        mel_ref = fb768 @ spectrogram(ref, 32000, 8000, 4000, 8192)
        print(
            f"libvorbis decode: {ref.size} samples, max sample difference {np.abs(ref[:n] - x[:n]).max():.2e}, "
            f"v2 dB max difference {np.abs(db(mel_ref) - db(mel768)).max():.2e} dB"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--real-clip", help="raw little-endian float32 samples of the 5 s test clip")
    args = parser.parse_args()
    rng = np.random.default_rng(20260104)
    filterbanks()
    signal_32k(rng)
    signal_22k(rng)
    signal_odd_fft(rng)
    if args.real_clip:
        real_clip(args.real_clip)
    total = sum(p.stat().st_size for p in OUT.glob("*.npy"))
    print(f"fixtures: {total / 1024:.0f} KiB in {OUT}")


if __name__ == "__main__":
    main()
