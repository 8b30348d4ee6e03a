"""The strategy estimator on synthetic families with planted effects (pure functions, no database)."""

from __future__ import annotations

import math
import random

import pytest

from genealogy.strategies import (
    CATEGORY_MIN_EDGES,
    MIN_TOTAL_EDGES,
    MIN_TYPE_EDGES,
    Edge,
    edge_outcome,
    naive_type_averages,
    strategy_fit,
)

PLANTED = {"audio_swap": 0.60, "caption_change": 0.0, "product_swap": -0.20}  # true lift of each type alone
NEUTRAL = ["localization", "format_change", "setting_change", "character_change"]


def _y(types: set[str], rng: random.Random, noise: float) -> float:
    return sum(math.log1p(PLANTED.get(t, 0.0)) for t in types) + rng.gauss(0, noise)


def families(
    n: int, *, seed: int = 7, noise: float = 0.8, category: str = "food", two_type_share: float = 0.25
) -> list[Edge]:
    rng = random.Random(seed)
    kinds = [*PLANTED, *NEUTRAL]
    edges = []
    for _ in range(n):
        types = {rng.choice(kinds)}
        if rng.random() < two_type_share:
            types.add(rng.choice(kinds))
        edges.append(Edge(frozenset(types), category, _y(types, rng, noise)))
    return edges


def by_type(table) -> dict:
    return {e.mutation_type: e for e in table.types}


def test_planted_effects_are_recovered_with_intervals_that_cover_them():
    table = strategy_fit(families(6000, seed=8)).overall  # any seed: coverage is checked below
    ranked = [e.mutation_type for e in table.types if e.rank is not None]
    assert ranked[0] == "audio_swap"
    assert ranked[-1] == "product_swap"
    estimates = by_type(table)
    for mutation_type, lift in PLANTED.items():
        e = estimates[mutation_type]
        assert e.low_pct < 100 * lift < e.high_pct, (mutation_type, e.low_pct, e.high_pct)
        assert e.high_pct - e.low_pct < 25  # informative, not trivially wide
    assert estimates["audio_swap"].low_pct > estimates["caption_change"].high_pct
    assert estimates["product_swap"].high_pct < estimates["caption_change"].low_pct


def test_the_95_percent_intervals_cover_the_truth_about_95_percent_of_the_time():
    """Calibration over many synthetic data sets: every type's interval, every seed."""
    truth = {**PLANTED, **dict.fromkeys(NEUTRAL, 0.0)}
    hits = total = 0
    for seed in range(40):
        for e in strategy_fit(families(1500, seed=100 + seed)).overall.types:
            hits += e.low_pct < 100 * truth[e.mutation_type] < e.high_pct
            total += 1
    assert 0.88 <= hits / total <= 0.995, hits / total


def test_edges_carrying_each_type_are_counted_per_type():
    edges = [Edge(frozenset({"audio_swap", "caption_change"}), "food", 0.5)] * 30
    table = strategy_fit(edges).overall
    assert by_type(table)["audio_swap"].edges == 30
    assert by_type(table)["caption_change"].edges == 30
    assert table.edges == 30  # each edge is one observation, whatever it carries


def test_a_two_type_edge_is_not_credited_twice():
    """Caption changes mostly ride along with audio swaps: the per-type average credits them with the audio's +60 %,
    the regression separates the two."""
    rng = random.Random(3)
    edges = []
    for i in range(1200):
        types = (
            {"audio_swap", "caption_change"}
            if i % 3 == 0
            else {["audio_swap", "caption_change", "localization"][i % 3]}
        )
        edges.append(Edge(frozenset(types), "food", _y(types, rng, 0.5)))
    naive_caption = 100 * math.expm1(naive_type_averages(edges)["caption_change"][0])
    assert naive_caption > 20  # the bias the regression must not have
    caption = by_type(strategy_fit(edges).overall)["caption_change"]
    assert caption.low_pct < 0 < caption.high_pct
    assert abs(caption.lift_pct) < 10


def test_one_lucky_remix_is_shrunk_below_a_well_measured_type():
    edges = families(1500, seed=11)
    lucky = Edge(frozenset({"character_change"}), "food", edge_outcome(parent_views=1000, child_views=50_000))
    edges = [e for e in edges if "character_change" not in e.types] + [lucky]
    naive = naive_type_averages(edges)
    assert naive["character_change"][0] > naive["audio_swap"][0]  # the raw average would put it on top
    estimates = by_type(strategy_fit(edges).overall)
    lucky_estimate, audio = estimates["character_change"], estimates["audio_swap"]
    assert lucky_estimate.lift_pct < audio.lift_pct
    assert lucky_estimate.edges == 1 and not lucky_estimate.enough_data and lucky_estimate.rank is None
    assert audio.rank == 1


def test_too_few_edges_say_so():
    report = strategy_fit(families(MIN_TOTAL_EDGES - 1))
    assert report.overall.basis == "none" and not report.overall.enough_data
    assert report.for_category("food").basis == "none"
    assert report.for_category("food").types == ()


def test_a_type_seen_on_few_edges_is_listed_as_insufficient_after_the_ranked_ones():
    edges = [e for e in families(600) if "setting_change" not in e.types]
    edges += [Edge(frozenset({"setting_change"}), "food", 0.1)] * (MIN_TYPE_EDGES - 1)
    table = strategy_fit(edges).overall
    setting = by_type(table)["setting_change"]
    assert not setting.enough_data and setting.rank is None
    assert table.types[-1].rank is None
    assert [e.rank for e in table.types if e.rank] == list(range(1, len(PLANTED) + len(NEUTRAL)))


def test_a_small_category_falls_back_to_the_all_category_table():
    edges = families(1500, category="food") + families(CATEGORY_MIN_EDGES - 1, seed=2, category="tech")
    report = strategy_fit(edges)
    tech = report.for_category("tech")
    assert tech.basis == "all_categories"
    assert tech.types == report.overall.types
    assert report.category_edges["tech"] == CATEGORY_MIN_EDGES - 1
    assert report.for_category("travel").basis == "all_categories"  # no edges at all


@pytest.mark.parametrize("beauty_audio", [0.0, 1.5])
def test_a_large_category_is_fitted_on_its_own_edges(beauty_audio):
    """In beauty an audio swap does something else than elsewhere: with enough edges the category says so; a
    category that behaves like the rest stays close to the all-category answer."""
    edges = families(2000, category="food")
    rng = random.Random(5)
    for i in range(800):
        types = {["audio_swap", "caption_change", "product_swap", "localization"][i % 4]}
        effect = beauty_audio if "audio_swap" in types else sum(math.log1p(PLANTED.get(t, 0.0)) for t in types)
        edges.append(Edge(frozenset(types), "beauty", effect + rng.gauss(0, 0.8)))
    report = strategy_fit(edges)
    beauty = report.for_category("beauty")
    assert beauty.basis == "category" and beauty.edges == 800
    audio = by_type(beauty)["audio_swap"]
    assert audio.low_pct < 100 * math.expm1(beauty_audio) < audio.high_pct
    assert (
        by_type(report.for_category("food"))["audio_swap"].low_pct
        < 60
        < by_type(report.for_category("food"))["audio_swap"].high_pct
    )
