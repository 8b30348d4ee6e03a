"""estimate_bpm: the tempo of an audio signal, from the autocorrelation of its onset envelope."""

from __future__ import annotations

import numpy as np

_BPM_MIN, _BPM_MAX = 60.0, 200.0
_BPM_PRIOR_CENTER, _BPM_PRIOR_OCTAVES = 120.0, 0.75
_BPM_MIN_STRENGTH = 0.2  # autocorrelation of the onset envelope at the chosen period, 0..1
_BPM_MIN_PROMINENCE = 0.15  # ... above the median over all candidate periods
_BPM_MIN_ONSET_CONTRAST = 0.1  # 99th percentile minus median of the onset envelope
_BPM_HALF_LAG_RATIO = 0.9


def _mel_filterbank(*, sample_rate: int, n_fft: int, n_bands: int = 40, f_min: float = 30.0) -> np.ndarray:
    """Triangular mel-spaced bands, (n_fft // 2 + 1, n_bands): low drums count as much as hi-hats."""

    def hz_to_mel(f: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel_to_hz(m: np.ndarray) -> np.ndarray:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    f_max = min(sample_rate / 2.0, 11025.0)
    edges = mel_to_hz(np.linspace(hz_to_mel(np.array(f_min)), hz_to_mel(np.array(f_max)), n_bands + 2))
    freqs = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
    bank = np.zeros((freqs.size, n_bands), dtype=np.float32)
    for b in range(n_bands):
        lo, mid, hi = edges[b], edges[b + 1], edges[b + 2]
        rising = (freqs - lo) / max(mid - lo, 1e-9)
        falling = (hi - freqs) / max(hi - mid, 1e-9)
        bank[:, b] = np.clip(np.minimum(rising, falling), 0.0, None)
    bank /= np.maximum(bank.sum(axis=0, keepdims=True), 1e-9)
    return bank


def _onset_envelope(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, float]:
    """Onset strength: half-wave-rectified flux of the log-compressed mel-band STFT magnitude.

    Returns (envelope, envelope frames per second); hop 512 at 22050 Hz (about 43 frames/s).
    """
    hop = max(1, round(512 * sample_rate / 22050))
    n_fft = 4 * hop
    if samples.size < n_fft + hop:
        return np.zeros(0), sample_rate / hop
    window = np.hanning(n_fft).astype(np.float32)
    bank = _mel_filterbank(sample_rate=sample_rate, n_fft=n_fft)
    frames = np.lib.stride_tricks.sliding_window_view(samples, n_fft)[::hop]
    flux = np.empty(len(frames), dtype=np.float64)
    prev: np.ndarray | None = None
    pos = 0
    for start in range(0, len(frames), 256):  # blocks keep memory flat for two minutes of audio
        bands = np.log1p(1000.0 * (np.abs(np.fft.rfft(frames[start : start + 256] * window, axis=1)) @ bank))
        stacked = bands if prev is None else np.vstack([prev[None, :], bands])
        values = np.maximum(np.diff(stacked, axis=0), 0.0).mean(axis=1)
        flux[pos : pos + len(values)] = values
        pos += len(values)
        prev = bands[-1]
    return flux[:pos], sample_rate / hop


def _parabolic(values: np.ndarray, i: int) -> float:
    """Sub-sample position of the peak at index i, by fitting a parabola through its neighbours."""
    if i <= 0 or i >= len(values) - 1:
        return float(i)
    left, centre, right = values[i - 1], values[i], values[i + 1]
    denom = left - 2 * centre + right
    if denom >= 0:
        return float(i)
    return i + 0.5 * (left - right) / denom


def estimate_bpm(*, samples: np.ndarray, sample_rate: int) -> float | None:
    """The tempo of a mono (or multi-channel) signal, in beats per minute, rounded to 0.1.

    Onset strength (spectral flux of the log-compressed mel-band STFT magnitude, hop 512 at 22050 Hz),
    then the autocorrelation of that envelope over the lags of 60-200 BPM, weighted by a log-normal
    prior around 120 BPM to pick the right octave; the period is refined by parabolic interpolation
    at the peak and at its multiples. None when the signal is silent or has no clear periodic beat.
    A 2-D `samples` is (channels, samples) as PyAV gives it, or (samples, channels); integer samples
    are scaled to [-1, 1].
    """
    x = np.asarray(samples)
    if x.ndim > 1:
        x = x.mean(axis=0) if x.shape[0] < x.shape[-1] else x.mean(axis=1)
    if np.issubdtype(x.dtype, np.integer):
        x = x.astype(np.float32) / float(np.iinfo(x.dtype).max)
    x = x.astype(np.float32, copy=False)
    if sample_rate <= 0 or x.size < 3 * sample_rate or not np.isfinite(x).all():
        return None
    if float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) < 1e-4:
        return None

    env, env_rate = _onset_envelope(x, sample_rate)
    min_lag = int(np.floor(60.0 * env_rate / _BPM_MAX))
    max_lag = int(np.ceil(60.0 * env_rate / _BPM_MIN))
    if env.size < 2 * max_lag + 2:
        return None
    # No onsets that stand out from the steady level (silence, a held tone, hiss): no beat to speak of.
    if float(np.percentile(env, 99) - np.median(env)) < _BPM_MIN_ONSET_CONTRAST:
        return None
    # Light smoothing (about 20 ms) makes the peaks round enough for interpolation.
    env = np.convolve(env, np.array([0.25, 0.5, 0.25]), mode="same")
    env = np.sqrt(env)  # evens out loud and soft onsets (kick vs snare), so the beat beats the bar
    env = env - env.mean()
    n = env.size
    spectrum = np.fft.rfft(env, n=2 * n)
    ac = np.fft.irfft(spectrum * np.conj(spectrum), n=2 * n)[:n]
    if ac[0] <= 0:
        return None
    ac = ac / ac[0]
    ac = ac / ((n - np.arange(n)) / n)  # unbiased: later lags overlap fewer frames

    lags = np.arange(max(min_lag, 1), min(max_lag, n - 2) + 1)
    bpms = 60.0 * env_rate / lags
    in_range = (bpms >= _BPM_MIN) & (bpms <= _BPM_MAX)
    # Only true local maxima of the autocorrelation count as candidate periods.
    is_peak = (ac[lags] >= ac[lags - 1]) & (ac[lags] >= ac[lags + 1]) & in_range
    if not is_peak.any():
        return None
    weights = np.exp(-0.5 * (np.log2(bpms / _BPM_PRIOR_CENTER) / _BPM_PRIOR_OCTAVES) ** 2)
    weighted = np.where(is_peak, ac[lags] * weights, -np.inf)
    best = int(lags[int(np.argmax(weighted))])
    strength = float(ac[best])
    prominence = strength - float(np.median(ac[lags]))
    if strength < _BPM_MIN_STRENGTH or prominence < _BPM_MIN_PROMINENCE:
        return None
    # The prior favours the slower of two equally strong readings above ~170 BPM; when the half period is
    # as strong a peak as the period itself, the faster reading is the one that is really there.
    if best // 2 - 1 >= max(min_lag, 1):
        half = best // 2 - 1 + int(np.argmax(ac[best // 2 - 1 : best // 2 + 2]))
        if ac[half] >= _BPM_HALF_LAG_RATIO * strength and 60.0 * env_rate / half <= _BPM_MAX:
            best, strength = half, float(ac[half])

    # Refine: the k-th multiple of the period is a peak too, and measuring it divides the error by k.
    weighted_sum, weight_total = _parabolic(ac, best), 1.0  # least squares through the origin: sum(k*p) / sum(k*k)
    for k in range(2, 9):
        centre = k * weighted_sum / weight_total
        lo, hi = int(np.floor(centre - 2)), int(np.ceil(centre + 2))
        if hi >= n // 2:
            break
        i = lo + int(np.argmax(ac[lo : hi + 1]))
        if ac[i] < 0.5 * strength:
            break
        weighted_sum += k * _parabolic(ac, i)
        weight_total += k * k
    period = weighted_sum / weight_total
    bpm = 60.0 * env_rate / period
    if not _BPM_MIN * 0.98 <= bpm <= _BPM_MAX * 1.02:
        return None
    return round(float(bpm), 1)
