"""Similar search at 100,000 nodes: HNSW latency and recall@10 against the exact scan.

    .venv/bin/python benchmarks/similar.py [--nodes 100000] [--queries 200] [--k 10]

Fills a scratch database (`<your database>_bench`, dropped afterwards) with nodes on two dozen
topics (Korean and English titles and briefs, about a third published) and their local embeddings,
builds the HNSW index the migration defines (after loading, as one would for a backfill), then
asks `node_similar` (HNSW, iterative scan) and `node_similar_exact` (no index) for the same
query nodes: their latency in-process (median, p95) and how many of the exact top k the index
found (recall@k; a tie at the k-th distance counts as found). A sweep over `hnsw.ef_search`
shows what the chosen value buys, and a run without the iterative scan shows why it is on.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kmeme.settings")
from benchmarks._scratch import percentile, scratch_database  # noqa: E402

BATCH = 5000
PUBLISHED_SHARE = 0.3

# Two dozen topics a K-meme catalogue has: words a title, brief and analysis would use.
TOPICS: dict[str, tuple[str, str]] = {  # topic: (commerce category, its words)
    "cafe": ("food", "카페 라떼 딸기 디저트 성수 바리스타 케이크 말차 크로플 latte cafe dessert matcha barista"),
    "ramyeon": ("food", "라면 편의점 먹방 매운 치즈 불닭 꿀조합 ramyeon spicy mukbang noodles convenience"),
    "streetfood": ("food", "떡볶이 어묵 호떡 시장 길거리 분식 튀김 tteokbokki market street food busan"),
    "kbbq": ("food", "삼겹살 고기 쌈 소주 회식 숯불 갈비 kbbq pork grill soju samgyeopsal"),
    "glassskin": ("beauty", "글래스스킨 토너 세럼 스킨케어 루틴 보습 수분 glass skin toner serum routine"),
    "makeup": ("beauty", "메이크업 립 틴트 아이섀도 쿠션 데일리 makeup lip tint eyeshadow cushion grwm"),
    "hair": ("beauty", "헤어 펌 염색 앞머리 고데기 스타일링 hair perm dye bangs styling salon"),
    "ootd": ("fashion", "코디 룩북 데일리룩 오버핏 가디건 청바지 ootd lookbook outfit cardigan denim"),
    "sneakers": ("fashion", "스니커즈 운동화 언박싱 한정판 코디 sneakers unboxing limited kicks drop"),
    "vintage": ("fashion", "빈티지 구제 동묘 쇼핑 하울 thrift vintage haul secondhand market"),
    "dance": ("entertainment", "댄스 챌린지 안무 커버 아이돌 포인트안무 dance challenge choreo cover idol"),
    "kpopfan": ("entertainment", "콘서트 응원봉 포카 팬싸 덕질 최애 concert lightstick photocard fansign bias"),
    "drama": ("entertainment", "드라마 명장면 패러디 대사 로맨스 kdrama parody scene romance reenact"),
    "comedy": ("entertainment", "밈 상황극 공감 직장인 학생 웃긴 meme skit relatable office prank"),
    "gadget": ("tech", "아이폰 갤럭시 언박싱 리뷰 케이스 충전기 iphone galaxy unboxing review gadget"),
    "desk": ("tech", "데스크셋업 키보드 모니터 게이밍 조명 desk setup keyboard monitor gaming rgb"),
    "jeju": ("travel", "제주 여행 바다 드라이브 오름 감귤 jeju trip ocean drive island tangerine"),
    "seoul": ("travel", "서울 한옥 경복궁 한복 야경 남산 seoul hanok palace hanbok nightview tower"),
    "camping": ("travel", "캠핑 차박 텐트 불멍 바베큐 camping tent campfire van bbq outdoor"),
    "homeworkout": ("fitness", "홈트 스쿼트 플랭크 다이어트 30일 챌린지 workout squat plank diet"),
    "running": ("fitness", "러닝 마라톤 한강 러닝크루 기록 running marathon hanriver crew pace"),
    "pilates": ("fitness", "필라테스 요가 스트레칭 코어 자세 pilates yoga stretching core posture"),
    "interior": ("lifestyle", "인테리어 자취방 원룸 꾸미기 수납 interior studio room decor storage"),
    "pets": ("lifestyle", "강아지 고양이 산책 간식 댕댕이 집사 puppy cat walk treats pet"),
}
GENERIC_WORDS = (
    "브이로그 챌린지 리뷰 튜토리얼 꿀팁 하울 일상 추천 비교 따라하기 3분 초보 신상 여름 겨울 주말 "
    "vlog challenge review tutorial tips haul daily recommend compare easy beginner new weekend"
)
HOOKS = ["첫 장면에서 {a}", "{a} 하나로 끝", "{a}와 {b}의 반전", "wait for the {a}", "{a} in 3 seconds", "{a} 비교"]
SHOTS = ["클로즈업", "점프컷", "슬로모션", "전신 샷", "close-up", "jump cut", "top view", "셀카 앵글"]


def make_nodes(n: int, rng: random.Random) -> list[dict[str, Any]]:
    """Title, category and brief of each node: a topic (some far more common), its words, generic words."""
    names = list(TOPICS)
    generic = GENERIC_WORDS.split()
    weights = [1 / (rank + 1) ** 0.7 for rank in range(len(names))]
    nodes = []
    for i in range(n):
        topic = rng.choices(names, weights)[0]
        category, words = TOPICS[topic][0], TOPICS[topic][1].split()
        if rng.random() < 0.15:  # crossovers: a dance video in a cafe
            words = words + rng.sample(TOPICS[rng.choice(names)][1].split(), 4)

        def pick(k: int, words: list[str] = words) -> list[str]:
            return rng.sample(words, k)

        a, b = pick(2)
        title = " ".join([*pick(rng.randint(2, 4)), rng.choice(generic)])
        brief = {
            "concept": " ".join([*pick(4), *rng.sample(generic, 2)]),
            "hook": rng.choice(HOOKS).format(a=a, b=b),
            "caption": " ".join([*pick(3), rng.choice(generic), "✨"]),
            "hashtags": [f"#{w}" for w in pick(3)],
        }
        keyframes = [{"t": float(t), "description": f"{rng.choice(SHOTS)} {rng.choice(words)}"} for t in range(3)]
        status = "published" if rng.random() < PUBLISHED_SHARE else None
        nodes.append(
            {"i": i, "title": title, "category": category, "brief": brief, "keyframes": keyframes, "status": status}
        )
    return nodes


def embed_all(nodes: list[dict[str, Any]]) -> Any:
    import numpy as np

    from kmeme.ai.embeddings import embedding_text_compose
    from kmeme.ai.offline import local_embedding

    vectors = np.empty((len(nodes), 768), dtype=np.float32)
    started = time.perf_counter()
    for row, node in enumerate(nodes):
        text = embedding_text_compose(
            title=node["title"],
            commerce_category=node["category"],
            brief=node["brief"],
            analysis_hook=node["brief"]["hook"],
            keyframes=node["keyframes"],
        )
        vectors[row] = local_embedding(text)
        if row % 5000 == 0 or row == len(nodes) - 1:
            done = row + 1
            bar = "#" * (30 * done // len(nodes))
            print(f"\rEmbedding texts [{bar:<30}] {done}/{len(nodes)}", end="", file=sys.stderr, flush=True)
    print(f"\nEmbedded {len(nodes)} texts locally in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return vectors


def populate(nodes: list[dict[str, Any]], vectors: Any, rng: random.Random) -> None:
    import psycopg
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone
    from pgvector.psycopg import register_vector

    from kmeme.platforms import Platform
    from remix.models import Layer, NodeStatus, RemixBrief, RemixNode

    others = [s for s in NodeStatus.values if s != NodeStatus.PUBLISHED]
    now = timezone.now()
    started = time.perf_counter()
    ids: list[int] = []
    for offset in range(0, len(nodes), BATCH):
        objs = []
        for node in nodes[offset : offset + BATCH]:
            status = node["status"] or rng.choice(others)
            objs.append(
                RemixNode(
                    title=node["title"][:200],
                    source_url=f"https://www.tiktok.com/@c{node['i'] % 997}/video/{7300000000000000000 + node['i']}",
                    platform=Platform.TIKTOK,
                    layer=Layer.MASTER,
                    status=status,
                    commerce_category=node["category"],
                    published_at=now if status == NodeStatus.PUBLISHED else None,
                )
            )
        created = RemixNode.objects.bulk_create(objs)
        ids.extend(obj.pk for obj in created)
        RemixBrief.objects.bulk_create(
            RemixBrief(node=obj, version=1, source="ai", generated=node["brief"], review_status="approved")
            for obj, node in zip(created, nodes[offset : offset + BATCH], strict=True)
        )
        done = min(len(nodes), offset + BATCH)
        bar = "#" * (30 * done // len(nodes))
        print(f"\rGenerating nodes [{bar:<30}] {done}/{len(nodes)}", end="", file=sys.stderr, flush=True)
    print(f"\nGenerated {len(nodes)} nodes and briefs in {time.perf_counter() - started:.0f} s", file=sys.stderr)

    # Vectors in pgvector's binary format through COPY: ~300 MB that never becomes SQL text.
    started = time.perf_counter()
    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"]
    ) as raw:
        register_vector(raw)
        with raw.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE bench_embedding (id bigint PRIMARY KEY, embedding vector(768))")
            with cursor.copy("COPY bench_embedding (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
                copy.set_types(["int8", "vector"])
                for pk, vector in zip(ids, vectors, strict=True):
                    copy.write_row((pk, vector))
            cursor.execute(
                "UPDATE remix_remixnode AS n SET embedding = e.embedding FROM bench_embedding AS e WHERE n.id = e.id"
            )
        raw.commit()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE remix_remixnode")
    print(f"Stored the embeddings in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def build_index() -> float:
    """Drop and rebuild `node_embedding_hnsw` exactly as the model declares it, with memory for a fast build."""
    from django.db import connection

    from remix.models import RemixNode

    (index,) = [i for i in RemixNode._meta.indexes if i.name == "node_embedding_hnsw"]
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # The graph must fit in maintenance_work_mem or the build slows down by an order of magnitude.
        cursor.execute("SET maintenance_work_mem = '2GB'")
        cursor.execute("SET max_parallel_maintenance_workers = 1")  # plus the leader: both cores
    with connection.schema_editor() as editor:
        editor.add_index(RemixNode, index)
    with connection.cursor() as cursor:
        cursor.execute("RESET maintenance_work_mem")
        cursor.execute("ANALYZE remix_remixnode")
        cursor.execute("SELECT pg_size_pretty(pg_relation_size('node_embedding_hnsw'))")
        size = cursor.fetchone()[0]
    elapsed = time.perf_counter() - started
    print(f"Built node_embedding_hnsw (m=16, ef_construction=64, {size}) in {elapsed:.0f} s", file=sys.stderr)
    return elapsed


def timed(function, queries, k: int) -> tuple[list[float], list[list[tuple[int, float]]]]:
    timings, answers = [], []
    for node in queries:
        started = time.perf_counter()
        result = function(node=node, k=k)
        timings.append((time.perf_counter() - started) * 1000)
        answers.append([(n.pk, 1.0 - similarity) for n, similarity in result])
    timings.sort()
    return timings, answers


def recall(approx: list[list[tuple[int, float]]], exact: list[list[tuple[int, float]]], k: int) -> float:
    """Share of the exact top k found; a row as near as the exact k-th one counts (ties are arbitrary)."""
    found = total = 0
    for got, truth in zip(approx, exact, strict=True):
        if not truth:
            continue
        kth = truth[-1][1]
        truth_ids = {pk for pk, _ in truth}
        found += sum(1 for pk, distance in got if pk in truth_ids or distance <= kth + 1e-6)
        total += len(truth)
    return found / total if total else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    rng = random.Random(args.seed)  # noqa: S311 - reproducible test data
    started = time.perf_counter()
    with scratch_database():
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from remix import similar
        from remix.models import RemixNode

        nodes = make_nodes(args.nodes, rng)
        vectors = embed_all(nodes)
        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:  # loading into a graph row by row is far slower than one build
            cursor.execute("DROP INDEX node_embedding_hnsw")
        populate(nodes, vectors, rng)
        del vectors
        build_seconds = build_index()

        all_ids = list(RemixNode.objects.values_list("pk", flat=True))
        query_ids = rng.sample(all_ids, min(args.queries, len(all_ids)))
        queries = list(RemixNode.objects.filter(pk__in=query_ids).order_by("?"))
        published = RemixNode.objects.filter(status="published").count()
        k = args.k

        plan = similar.node_similar_plan(node=queries[0], k=k)
        index_line = next((line.strip() for line in plan.splitlines() if "node_embedding_hnsw" in line), None)
        exact_plan = similar.node_similar_plan(node=queries[0], k=k, exact=True)
        scan_line = next(line.strip() for line in exact_plan.splitlines() if "Scan" in line)

        for node in queries[:20]:  # warm the caches both ways
            similar.node_similar(node=node, k=k)
            similar.node_similar_exact(node=node, k=k)
        exact_ms, exact = timed(similar.node_similar_exact, queries, k)
        hnsw_ms, hnsw = timed(similar.node_similar, queries, k)

        sweep = []
        chosen_ef = similar.HNSW_EF_SEARCH
        for ef, mode in [(40, "relaxed_order"), (chosen_ef, "off"), (200, "relaxed_order"), (40, "strict_order")]:
            similar.HNSW_EF_SEARCH, similar.HNSW_ITERATIVE_SCAN = ef, mode
            ms, answers = timed(similar.node_similar, queries, k)
            short = sum(1 for a in answers if len(a) < k)
            sweep.append((ef, mode, ms, recall(answers, exact, k), short))
        similar.HNSW_EF_SEARCH, similar.HNSW_ITERATIVE_SCAN = chosen_ef, "relaxed_order"

        print(
            f"\nSimilar search at {len(all_ids):,} nodes ({published:,} published), "
            f"k={k}, {len(queries)} query nodes, in-process (Django ORM, one transaction per query):"
        )
        print(f"  HNSW index build: {build_seconds:.0f} s")
        print(f"  HNSW plan:  {index_line or 'the index was NOT used: ' + plan.splitlines()[0]}")
        print(f"  exact plan: {scan_line}")
        print(f"  {'query':<52} {'median':>9} {'p95':>9} {'recall@' + str(k):>10} {'short':>6}")
        rows = [
            (
                f"node_similar: HNSW, ef_search={chosen_ef}, relaxed_order",
                hnsw_ms,
                recall(hnsw, exact, k),
                sum(1 for a in hnsw if len(a) < k),
            ),
            ("node_similar_exact: no index (baseline)", exact_ms, 1.0, sum(1 for a in exact if len(a) < k)),
        ]
        rows += [(f"  sweep: ef_search={ef}, iterative_scan={mode}", ms, r, s) for ef, mode, ms, r, s in sweep]
        for label, ms, r, short in rows:
            print(f"  {label:<52} {statistics.median(ms):7.2f}ms {percentile(ms, 0.95):7.2f}ms {r:>10.3f} {short:>6}")
        print("  (short = queries that got fewer than k results although enough published nodes exist)")
        median, r = statistics.median(hnsw_ms), recall(hnsw, exact, k)
        verdict = "met" if median < 20 and r >= 0.95 else "NOT met"
        print(f"  target (median < 20 ms, recall@{k} >= 0.95): {verdict}")
    print(f"Total benchmark time: {time.perf_counter() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
