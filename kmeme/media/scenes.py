"""Scene cuts: where a video changes shot, from small thumbnails compared a few times a second."""

from __future__ import annotations

import itertools

import av
import numpy as np

_SCENE_SAMPLE_FPS = 4.0
_SCENE_THUMB_WIDTH = 64
_SCENE_MIN_SCORE = 0.08  # mean absolute RGB difference (0..1) below which nothing counts as a cut
_SCENE_MIN_GAP_S = 0.5
_MAX_KEYFRAMES = 20


class SceneSampler:
    """Compares small thumbnails of the video a few times a second to find hard cuts.

    Frames between two samples are held (a handful of references) so that, where two samples differ
    enough to be a cut, the cut is placed on the exact frame where it happens.
    """

    def __init__(self) -> None:
        self._step = 1.0 / _SCENE_SAMPLE_FPS
        self._next_t = 0.0
        self._prev: tuple[float, np.ndarray] | None = None
        self._between: list[tuple[float, av.VideoFrame]] = []
        self._times: list[float] = []
        self._scores: list[float] = []

    @staticmethod
    def _thumb(frame: av.VideoFrame) -> np.ndarray:
        # Colour, not gray: two shots of equal brightness but different colour are still a cut.
        height = max(2, round(_SCENE_THUMB_WIDTH * frame.height / max(frame.width, 1)))
        rgb = frame.reformat(width=_SCENE_THUMB_WIDTH, height=height, format="rgb24").to_ndarray()
        return rgb[:, :_SCENE_THUMB_WIDTH].astype(np.float32)

    @staticmethod
    def _diff(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.mean(np.abs(a - b))) / 255.0

    def add(self, frame: av.VideoFrame, t: float) -> None:
        if t + 1e-3 < self._next_t:
            self._between.append((t, frame))
            return
        # Sample on a fixed grid (0, 0.25, 0.5 s, ...), at the first frame on or after each point.
        self._next_t = (np.floor(t / self._step + 1e-3) + 1) * self._step
        thumb = self._thumb(frame)
        if self._prev is not None:
            prev_t, prev_thumb = self._prev
            score = self._diff(prev_thumb, thumb)
            cut_t = t
            if score > _SCENE_MIN_SCORE and self._between:
                sequence = [(prev_t, prev_thumb)] + [(bt, self._thumb(bf)) for bt, bf in self._between] + [(t, thumb)]
                steps = [self._diff(a[1], b[1]) for a, b in itertools.pairwise(sequence)]
                cut_t = sequence[int(np.argmax(steps)) + 1][0]
            self._times.append(cut_t)
            self._scores.append(score)
        self._prev = (t, thumb)
        self._between = []

    def keyframes(self) -> list[dict]:
        result: list[dict] = [{"t": 0.0, "score": 1.0}]
        if not self._scores:
            return result
        scores = np.asarray(self._scores, dtype=np.float64)
        # Adaptive: a cut stands out from this video's ordinary frame-to-frame change. The median/MAD
        # keep a video with many cuts from raising its own bar; mean + 2 std is the classic rule.
        median = float(np.median(scores))
        mad = float(np.median(np.abs(scores - median))) * 1.4826
        threshold = max(_SCENE_MIN_SCORE, min(float(scores.mean() + 2 * scores.std()), median + 6 * mad))
        candidates = [(s, t) for s, t in zip(scores.tolist(), self._times, strict=True) if s > threshold]
        chosen: list[tuple[float, float]] = []
        for score, t in sorted(candidates, key=lambda c: -c[0]):
            if len(chosen) >= _MAX_KEYFRAMES - 1:
                break
            if t < _SCENE_MIN_GAP_S or any(abs(t - c) < _SCENE_MIN_GAP_S for _, c in chosen):
                continue
            chosen.append((score, t))
        for score, t in sorted(chosen, key=lambda c: c[1]):
            result.append({"t": round(t, 2), "score": round(min(1.0, score), 3)})
        return result
