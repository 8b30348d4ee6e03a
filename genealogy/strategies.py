"""Which mutations spread best: the lift of a child over its parent at the same age, per mutation type.

An edge (parent → child, carrying one or more mutation types) is usable when both nodes are published and both
have a view count at the same age after their own publication (`AGE`): the latest snapshot at or before
published_at + AGE, no older than `AGE_TOLERANCE` before it. Its outcome is y = ln(child_views+1) − ln(parent_views+1).

The model is a Bayesian ridge regression on type indicators, y = β0 + Σ β_t·x_t + ε, so an edge carrying two types
is one observation shared between them (a per-type average would count it once for each and credit each type with
the other's effect). β0 is unpenalised (a flat prior); each β_t has the prior N(0, σ²/λ), so a type seen on few edges
is shrunk toward the overall effect β0 and one lucky remix cannot top the table. λ (the prior strength, in
"pseudo-edges") is chosen by maximising the marginal likelihood over a log grid, on the edges whose types are all
seen on at least `MIN_TYPE_EDGES` edges (a type seen once says nothing about how much types differ, yet one outlier
there would loosen the prior for every type), and never below `LAMBDA_FLOOR`; the 95 % intervals come from the
posterior covariance σ²·(XᵀX + Λ)⁻¹. A type's expected lift is exp(β0 + β_t) − 1: what an edge carrying only that
type gains, on the geometric mean.

Per commerce category (the parent's: the category a master's creators remix *from*): a category with at least
`CATEGORY_MIN_EDGES` edges is fitted on its own edges with the prior centred on the all-category coefficients, of
the documented strength `CATEGORY_PRIOR_EDGES` (with a handful of categories, one of them differing in one type, a
strength fitted by marginal likelihood over-shrinks exactly the cell that differs), so thin cells lean on the global
answer; a smaller category gets the all-category table and says so (`basis`). Below `MIN_TOTAL_EDGES` usable edges
nothing is fitted, and a type seen on fewer than `MIN_TYPE_EDGES` edges of its basis is listed as insufficient
data, after the ranked ones.

Everything below `strategy_edges` is pure functions on plain data (tested on synthetic families, benchmarked in
benchmarks/strategies.py); `strategy_report_cached` keeps the whole report in Redis for `CACHE_TTL_S`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from genealogy.models import NodePerformanceSnapshot
from kmeme.exceptions import ApplicationError
from kmeme.vocabulary import CommerceCategory
from remix.models import Layer, Mutation, MutationType, NodeStatus, RemixNode

AGE = timedelta(days=7)  # compare parent and child at the same age after their own publication
AGE_TOLERANCE = timedelta(days=1)  # the snapshot used may be at most this much older than that age
MIN_TOTAL_EDGES = 20  # below this many usable edges (overall, or in the basis), nothing is recommended
CATEGORY_MIN_EDGES = 30  # a category is fitted on its own edges from this many; below, the all-category table
MIN_TYPE_EDGES = 5  # a type is ranked only when this many edges of its basis carry it
Z95 = 1.959963984540054
LAMBDA_GRID = np.logspace(-2, 4, 61)  # prior strengths tried, in pseudo-edges
LAMBDA_FLOOR = 1.0  # a type's own mean never counts for more than n/(n+1) of its estimate
CATEGORY_PRIOR_EDGES = 30.0  # a category's cell of n edges weighs n/(n+30) against the all-category estimate
INTERCEPT_PRIOR = 1e-8  # β0's "penalty": a flat prior in practice, but keeps the system positive definite
CACHE_KEY = "genealogy:strategies:v1"
CACHE_TTL_S = 600  # also dropped when counts arrive (strategy_cache_drop); the TTL covers new edges and publications

TYPES: tuple[str, ...] = tuple(MutationType.values)
_INDEX = {t: i + 1 for i, t in enumerate(TYPES)}  # column 0 is the intercept


@dataclass(frozen=True)
class Edge:
    """One usable lineage edge, as plain data."""

    types: frozenset[str]
    category: str
    y: float  # ln(child_views + 1) − ln(parent_views + 1)


def edge_outcome(*, parent_views: int, child_views: int) -> float:
    return math.log(child_views + 1) - math.log(parent_views + 1)


@dataclass(frozen=True)
class Estimate:
    """Expected lift of an edge carrying only `mutation_type` (None: the plain mean over all edges)."""

    mutation_type: str | None
    log_effect: float
    se: float
    edges: int
    enough_data: bool
    rank: int | None = None

    @property
    def lift_pct(self) -> float:
        return 100 * math.expm1(self.log_effect)

    @property
    def low_pct(self) -> float:
        return 100 * math.expm1(self.log_effect - Z95 * self.se)

    @property
    def high_pct(self) -> float:
        return 100 * math.expm1(self.log_effect + Z95 * self.se)

    @property
    def label(self) -> str:
        return MutationType(self.mutation_type).label if self.mutation_type else "All mutations"


@dataclass(frozen=True)
class StrategyTable:
    category: str | None  # None: all categories
    basis: str  # "category" (fitted on its own edges), "all_categories" (fell back), "none" (too little data)
    edges: int  # usable edges of the basis
    overall: Estimate | None
    types: tuple[Estimate, ...]  # ranked ones first, by expected lift; then the insufficient ones
    prior_strength: float | None

    @property
    def enough_data(self) -> bool:
        return self.basis != "none" and any(e.enough_data for e in self.types)


@dataclass(frozen=True)
class StrategyReport:
    overall: StrategyTable
    categories: dict[str, StrategyTable]
    computed_at: datetime
    category_edges: dict[str, int] = field(default_factory=dict)  # usable edges per category, before fallback

    def for_category(self, category: str) -> StrategyTable:
        return self.categories.get(category) or _fallback(self.overall, category)


# --- the estimator: pure functions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Moments:
    """Sufficient statistics of the regression: all a fit needs, so per-category fits cost nothing extra."""

    xtx: np.ndarray
    xty: np.ndarray
    yty: float
    n: int
    counts: np.ndarray  # edges carrying each type
    y_sum: float


def _design(edges: Sequence[Edge]) -> tuple[np.ndarray, np.ndarray]:
    x = np.zeros((len(edges), len(TYPES) + 1))
    x[:, 0] = 1.0
    y = np.empty(len(edges))
    for row, edge in enumerate(edges):
        for t in edge.types:
            x[row, _INDEX[t]] = 1.0
        y[row] = edge.y
    return x, y


def _moments(edges: Sequence[Edge]) -> _Moments:
    x, y = _design(edges)
    return _Moments(
        xtx=x.T @ x, xty=x.T @ y, yty=float(y @ y), n=len(edges), counts=x[:, 1:].sum(axis=0), y_sum=float(y.sum())
    )


def _penalty(lam: float, *, intercept: float) -> np.ndarray:
    return np.diag([intercept] + [lam] * len(TYPES))


def _posterior(m: _Moments, prior_mean: np.ndarray, penalty: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Posterior mean, A = XᵀX + Λ, and Q = rᵀr − rᵀX A⁻¹ Xᵀr for r = y − X·prior_mean (the penalised RSS)."""
    a = m.xtx + penalty
    xtr = m.xty - m.xtx @ prior_mean
    rtr = m.yty - 2 * prior_mean @ m.xty + prior_mean @ m.xtx @ prior_mean
    delta = np.linalg.solve(a, xtr)
    return prior_mean + delta, a, max(float(rtr - xtr @ delta), 1e-12)


def _neg2_loglik(m: _Moments, lam: float) -> float:
    """−2 log marginal likelihood of y ~ N(Xβ, σ²I) with β_t ~ N(0, σ²/λ), σ² profiled out (σ̂² = Q/n), up to a
    constant in λ. By the matrix determinant lemma log det(I + XΛ⁻¹Xᵀ) = log det A − log det Λ, so only
    (p+1)-sized matrices appear, never an n×n one."""
    penalty = _penalty(lam, intercept=INTERCEPT_PRIOR)
    _, a, q = _posterior(m, np.zeros(len(TYPES) + 1), penalty)
    logdet = np.linalg.slogdet(a)[1] - np.log(np.diag(penalty)).sum()
    return m.n * math.log(q / m.n) + logdet


def _estimates(
    beta: np.ndarray, cov: np.ndarray, counts: np.ndarray, m: _Moments, overall_se: float
) -> tuple[Estimate, tuple[Estimate, ...]]:
    rows = []
    for t, i in _INDEX.items():
        c = np.zeros(len(beta))
        c[0] = c[i] = 1.0
        n_t = int(counts[i - 1])
        rows.append(
            Estimate(
                mutation_type=t,
                log_effect=float(beta[0] + beta[i]),
                se=math.sqrt(max(float(c @ cov @ c), 0.0)),
                edges=n_t,
                enough_data=n_t >= MIN_TYPE_EDGES,
            )
        )
    ranked = sorted((e for e in rows if e.enough_data), key=lambda e: -e.log_effect)
    rest = sorted((e for e in rows if not e.enough_data), key=lambda e: -e.log_effect)
    ranked = [
        Estimate(e.mutation_type, e.log_effect, e.se, e.edges, True, rank) for rank, e in enumerate(ranked, start=1)
    ]
    overall = Estimate(None, m.y_sum / m.n, overall_se, m.n, True)
    return overall, (*ranked, *rest)


def _overall_se(m: _Moments) -> float:
    if m.n < 2:
        return 0.0
    variance = (m.yty - m.y_sum**2 / m.n) / (m.n - 1)
    return math.sqrt(max(variance, 0.0) / m.n)


def _insufficient(category: str | None, n: int) -> StrategyTable:
    return StrategyTable(category=category, basis="none", edges=n, overall=None, types=(), prior_strength=None)


def _fallback(table: StrategyTable, category: str) -> StrategyTable:
    basis = table.basis if table.basis == "none" else "all_categories"
    return StrategyTable(category, basis, table.edges, table.overall, table.types, table.prior_strength)


def strategy_fit(edges: Sequence[Edge]) -> StrategyReport:
    """The all-category table and one per category (fitted, fallen back, or insufficient)."""
    now = timezone.now()
    by_category: dict[str, list[Edge]] = {}
    for edge in edges:
        by_category.setdefault(edge.category, []).append(edge)
    category_edges = {c: len(v) for c, v in by_category.items()}
    if len(edges) < MIN_TOTAL_EDGES:
        overall = _insufficient(None, len(edges))
        return StrategyReport(overall, {}, now, category_edges)

    m = _moments(edges)
    zero = np.zeros(len(TYPES) + 1)
    well_measured = {t for t, n in zip(TYPES, m.counts, strict=True) if n >= MIN_TYPE_EDGES}
    tuning = [e for e in edges if e.types <= well_measured]
    m_tuning = _moments(tuning) if len(tuning) >= MIN_TOTAL_EDGES else m
    lam = max(
        float(min(LAMBDA_GRID, key=lambda g: _neg2_loglik(m_tuning, g))),
        LAMBDA_FLOOR,
    )
    penalty = _penalty(lam, intercept=INTERCEPT_PRIOR)
    beta, a, q = _posterior(m, zero, penalty)
    sigma2 = q / max(m.n - 1, 1)
    cov = sigma2 * np.linalg.inv(a)
    overall_est, types = _estimates(beta, cov, m.counts, m, _overall_se(m))
    overall = StrategyTable(None, "category", m.n, overall_est, types, lam)

    # Categories with enough edges: their own fit, the prior centred on the all-category coefficients.
    penalty_c = _penalty(CATEGORY_PRIOR_EDGES, intercept=CATEGORY_PRIOR_EDGES)
    categories: dict[str, StrategyTable] = {}
    for category, category_edges_ in by_category.items():
        if len(category_edges_) < CATEGORY_MIN_EDGES:
            continue
        mc = _moments(category_edges_)
        beta_c, a_c, _ = _posterior(mc, beta, penalty_c)
        a_inv = np.linalg.inv(a_c)
        # σ²A⁻¹ given the prior's centre, plus what the centre (the global fit) is itself unsure of.
        cov_c = sigma2 * a_inv + a_inv @ penalty_c @ cov @ penalty_c @ a_inv
        overall_c, types_c = _estimates(beta_c, cov_c, mc.counts, mc, _overall_se(mc))
        categories[category] = StrategyTable(category, "category", mc.n, overall_c, types_c, CATEGORY_PRIOR_EDGES)
    for category in CommerceCategory.values:
        categories.setdefault(category, _fallback(overall, category))
    return StrategyReport(overall, categories, now, category_edges)


def naive_type_averages(edges: Iterable[Edge]) -> dict[str, tuple[float, int]]:
    """The baseline the regression replaces: each type's mean outcome over the edges carrying it (an edge with two
    types counts for both, so each is credited with the other's effect). For tests and the benchmark only."""
    sums: dict[str, list[float]] = {}
    for edge in edges:
        for t in edge.types:
            sums.setdefault(t, []).append(edge.y)
    return {t: (sum(v) / len(v), len(v)) for t, v in sums.items()}


# --- the selector and the cache -------------------------------------------------------------------------------


def _views_at_age(node: str) -> Subquery:
    published_at = OuterRef(f"{node}__published_at")
    return Subquery(
        NodePerformanceSnapshot.objects.filter(
            node_id=OuterRef(f"{node}_id"),
            views__isnull=False,
            captured_at__lte=published_at + AGE,
            captured_at__gte=published_at + (AGE - AGE_TOLERANCE),
        )
        .order_by("-captured_at")
        .values("views")[:1]
    )


def strategy_edges() -> list[Edge]:
    """Every usable edge: both ends published, both with views at the same age. One query (the snapshot lookups are
    correlated subqueries on the (node, captured_at) index)."""
    rows = (
        Mutation.objects.filter(parent__status=NodeStatus.PUBLISHED, child__status=NodeStatus.PUBLISHED)
        .annotate(parent_views=_views_at_age("parent"), child_views=_views_at_age("child"))
        .filter(parent_views__isnull=False, child_views__isnull=False)
        .order_by()
        .values_list("mutation_types", "parent__commerce_category", "parent_views", "child_views")
    )
    return [
        Edge(frozenset(types), category, edge_outcome(parent_views=pv, child_views=cv))
        for types, category, pv, cv in rows.iterator(chunk_size=5000)
    ]


def strategy_cache_drop() -> None:
    """Forget the cached report: called when new counts arrive (a collector run that recorded some, a CSV import),
    so the next read ranks from them rather than waiting out the TTL."""
    cache.delete(CACHE_KEY)


def strategy_report_cached() -> StrategyReport:
    """The report over all edges, from Redis when fresh (computed at most every `CACHE_TTL_S` seconds)."""
    report = cache.get(CACHE_KEY)
    if report is None:
        report = strategy_fit(strategy_edges())
        cache.set(CACHE_KEY, report, CACHE_TTL_S)
    return report


def node_strategies(*, public_id: object) -> dict[str, Any]:
    """What the API answers for a master: its category's table. One query for the node, one more when the report is
    not cached. 404 unless the node is published; 400 `not_a_master` for a published fork."""
    node = (
        RemixNode.objects.filter(public_id=public_id, status=NodeStatus.PUBLISHED)
        .only("public_id", "layer", "commerce_category")
        .first()
    )
    if node is None:
        raise ApplicationError(_("No such remix."), code="not_found", status_code=404)
    if node.layer != Layer.MASTER:
        raise ApplicationError(_("Strategies are recommended for masters only."), code="not_a_master", status_code=400)
    report = strategy_report_cached()
    table = report.for_category(node.commerce_category)
    if table.basis == "none":
        message = f"Too little data: {table.edges} usable edges, {MIN_TOTAL_EDGES} needed."
    elif not table.enough_data:
        message = f"No mutation type is carried by {MIN_TYPE_EDGES} or more usable edges yet."
    elif table.basis == "all_categories":
        message = (
            f"Fewer than {CATEGORY_MIN_EDGES} usable edges in this category "
            f"({report.category_edges.get(node.commerce_category, 0)}): the table over all categories."
        )
    else:
        message = None
    return {
        "node": node.public_id,
        "commerce_category": node.commerce_category,
        "basis": table.basis,
        "enough_data": table.enough_data,
        "message": message,
        "age_days": AGE.days,
        "edges": table.edges,
        "overall": table.overall,
        "strategies": list(table.types),
        "computed_at": report.computed_at,
    }
