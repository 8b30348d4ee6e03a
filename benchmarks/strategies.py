"""Time of the strategy table (genealogy/strategies.py) on a large synthetic set, beside the naive baseline.

    .venv/bin/python benchmarks/strategies.py [--edges 100000] [--repeat 5]

No database: the edges are made in memory (planted effects, a quarter of the edges carrying two types, nine
categories), then `strategy_fit` (the regression, the prior's marginal-likelihood search, every category's fit)
and the naive per-type average are each timed; the median of `--repeat` runs is printed, with what each says
about a caption change that mostly rides along with audio swaps (true lift 0 %).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kmeme.settings")

PLANTED = {"audio_swap": 0.60, "caption_change": 0.0, "product_swap": -0.20}


def synthetic(n: int, seed: int = 42) -> list:
    from genealogy.strategies import TYPES, Edge
    from kmeme.vocabulary import CommerceCategory

    rng = random.Random(seed)  # noqa: S311 - reproducible test data
    categories = list(CommerceCategory.values)
    edges = []
    for _ in range(n):
        types = {rng.choice(TYPES)}
        if rng.random() < 0.25:
            types.add(rng.choice(TYPES))
        if "audio_swap" in types and rng.random() < 0.5:
            types.add("caption_change")  # captions ride along with audio swaps: the per-type average's trap
        y = sum(math.log1p(PLANTED.get(t, 0.0)) for t in types) + rng.gauss(0, 0.8)
        edges.append(Edge(frozenset(types), rng.choice(categories), y))
    return edges


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edges", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import django

    django.setup()
    from genealogy.strategies import naive_type_averages, strategy_fit

    edges = synthetic(args.edges)
    fit_s, report = timed(lambda: strategy_fit(edges), args.repeat)
    naive_s, naive = timed(lambda: naive_type_averages(edges), args.repeat)
    caption = next(e for e in report.overall.types if e.mutation_type == "caption_change")
    print(f"{args.edges:,} edges, median of {args.repeat}:")
    print(
        f"  strategy table (regression + prior search + {len(report.categories)} categories): {fit_s * 1000:8.1f} ms"
        f"   caption change {caption.lift_pct:+.1f} % [{caption.low_pct:+.1f}, {caption.high_pct:+.1f}]"
    )
    print(
        f"  naive per-type average:                                  {naive_s * 1000:8.1f} ms"
        f"   caption change {100 * math.expm1(naive['caption_change'][0]):+.1f} %  (true: +0.0 %)"
    )


if __name__ == "__main__":
    main()
