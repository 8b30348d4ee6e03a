"""The analysis pipeline end to end: real media on loopback, the real SDKs against provider doubles."""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection

from accounts.models import Role
from kmeme.ai.circuit import circuit_state
from kmeme.ai.models import AICall, AICallStatus
from kmeme.ai.pricing import call_cost
from remix.models import AnalysisStatus, BriefSource, NodeStatus, RemixNode
from remix.pipeline import _analyze, _fetch_and_probe, gemini_cache_key, pipeline_run
from remix.services import node_submit
from tests.accounts.factories import UserFactory
from tests.doubles import server
from tests.doubles.fixtures import providers_on_doubles
from tests.doubles.gemini import generate_content_body
from tests.remix.factories import AI_ANALYSIS, AI_BRIEF


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def providers(settings, gemini_double, anthropic_double, media_root):
    """Both providers configured and pointed at their loopback doubles; retries without waiting."""
    providers_on_doubles(settings, gemini_double, anthropic_double, AI_TIMEOUT_S=2)
    return gemini_double, anthropic_double


@pytest.fixture
def creator():
    return UserFactory(role=Role.CREATOR, display_name="Mina Kim", first_name="Mina", last_name="Kim")


def _submit(user, url: str, title: str = "Colour flip") -> RemixNode:
    node, _job_id = node_submit(user=user, video_url=url, title=title)
    return node


def _run(node: RemixNode) -> RemixNode:
    pipeline_run(node_id=node.pk)
    node.refresh_from_db()
    return node


pytestmark = pytest.mark.django_db


# --- no keys: the local default ----------------------------------------------------------------------------------


def test_without_keys_the_video_is_measured_and_lands_in_manual_review(media_root, creator, video_url):
    node = _run(_submit(creator, video_url))
    assert node.status == NodeStatus.NEEDS_REVIEW
    assert node.media_name and (media_root / node.media_name).is_file()
    assert 6.8 <= node.probe["duration_s"] <= 7.2 and abs(node.probe["bpm"] - 128) <= 2
    analysis = node.analyses.get()
    assert analysis.status == AnalysisStatus.FALLBACK and analysis.provider == "probe"
    assert abs(float(analysis.bpm) - 128) <= 2 and float(analysis.duration_s) == pytest.approx(7.0, abs=0.2)
    assert "GEMINI_API_KEY" in analysis.error
    brief = node.briefs.get()
    assert brief.source == BriefSource.RULE_BASED and "AI 작성 아님" in brief.content["concept"]
    assert not AICall.objects.exists()


def test_an_unreachable_video_without_keys_still_ends_in_manual_review_with_the_reason(media_root, creator):
    node = _run(_submit(creator, "http://127.0.0.1:9/missing.mp4"))
    assert node.status == NodeStatus.NEEDS_REVIEW
    analysis = node.analyses.get()
    assert float(analysis.duration_s) == 15.0 and analysis.bpm is None  # the design documents' defaults
    assert "could not be downloaded" in analysis.error


# --- with the provider doubles ----------------------------------------------------------------------------------


def test_full_flow_ends_with_an_ai_brief_in_review_and_priced_calls(providers, creator, video_url, video_bytes):
    gemini, claude = providers
    gemini.script_generate(AI_ANALYSIS, prompt_tokens=2100, output_tokens=300)
    claude.script_tool_use("remix_brief", AI_BRIEF, input_tokens=1500, output_tokens=700)
    node = _run(_submit(creator, video_url))

    assert node.status == NodeStatus.IN_REVIEW
    analysis = node.analyses.get()
    assert (analysis.provider, analysis.status, float(analysis.bpm)) == ("gemini", "ok", 128.0)
    assert analysis.probe["bpm"] == pytest.approx(128, abs=2)  # our own measurement kept beside Gemini's
    brief = node.briefs.get()
    assert brief.source == BriefSource.AI and brief.generated["concept"] == AI_BRIEF["concept"]
    assert brief.prompt_version == "brief.v1"

    calls = {c.purpose: c for c in AICall.objects.all()}
    assert calls["analysis"].status == calls["brief"].status == AICallStatus.OK
    assert calls["analysis"].cost_usd == call_cost(model=calls["analysis"].model, input_tokens=2100, output_tokens=300)
    assert calls["brief"].cost_usd == call_cost(model=calls["brief"].model, input_tokens=1500, output_tokens=700)
    assert analysis.cost_usd == calls["analysis"].cost_usd

    sent = gemini.generate_requests[0].json
    inline = [p for p in sent["contents"][0]["parts"] if "inline_data" in p or "inlineData" in p]
    assert inline, "a small downloaded video goes to Gemini inline"
    assert sent["generationConfig"]["responseMimeType"] == "application/json"
    tool_choice = claude.message_requests[0].json["tool_choice"]
    assert tool_choice == {"type": "tool", "name": "remix_brief"}


def test_no_personal_data_reaches_either_provider(providers, creator, video_url):
    gemini, claude = providers
    gemini.script_generate(AI_ANALYSIS)
    claude.script_tool_use("remix_brief", AI_BRIEF)
    title = "Mina Kim's café, call 010-1234-5678 or mina@example.com, 서울 성동구 성수이로 78"
    _run(_submit(creator, video_url, title=title))
    for body in (gemini.generate_requests[0].text, claude.message_requests[0].text):
        for secret in ("Mina Kim", "010-1234-5678", "mina@example.com", "성수이로 78"):
            assert secret not in body
        assert "[NAME]" in body and "[PHONE]" in body and "[EMAIL]" in body


def test_a_rate_limit_is_retried_and_then_succeeds(providers, creator, video_url):
    gemini, claude = providers
    gemini.script_error(429)
    gemini.script_generate(AI_ANALYSIS)
    claude.script_error(429, retry_after=1)
    claude.script_tool_use("remix_brief", AI_BRIEF)
    node = _run(_submit(creator, video_url))
    assert node.status == NodeStatus.IN_REVIEW
    assert len(gemini.generate_requests) == 2 and len(claude.message_requests) == 2
    assert AICall.objects.filter(status=AICallStatus.OK).count() == 2


def test_server_errors_three_times_fall_back_to_manual_review_with_the_reason(providers, creator, video_url):
    gemini, _claude = providers
    gemini.script_error(500, times=3)
    node = _run(_submit(creator, video_url))
    assert node.status == NodeStatus.NEEDS_REVIEW
    assert len(gemini.generate_requests) == 3
    analysis = node.analyses.get()
    assert analysis.status == AnalysisStatus.FALLBACK and "after 3 attempt(s)" in analysis.error
    assert abs(float(analysis.bpm) - 128) <= 2  # the probe's BPM, not the generic default
    call = AICall.objects.get()
    assert (call.status, call.cost_usd) == (AICallStatus.ERROR, Decimal(0))
    assert circuit_state(provider="gemini")["recent_failures"] == 1


def test_claude_overloaded_three_times_gives_a_rule_based_brief(providers, creator, video_url):
    gemini, claude = providers
    gemini.script_generate(AI_ANALYSIS)
    claude.script_error(529, times=3)
    node = _run(_submit(creator, video_url))
    assert node.status == NodeStatus.NEEDS_REVIEW
    assert len(claude.message_requests) == 3
    assert node.briefs.get().source == BriefSource.RULE_BASED
    assert node.analyses.get().status == AnalysisStatus.OK  # Gemini's analysis is kept


def test_a_timeout_is_retried(providers, creator, video_url, settings):
    gemini, claude = providers
    settings.AI_TIMEOUT_S = 0.5
    gemini.script_stall(2)
    gemini.script_generate(AI_ANALYSIS)
    claude.script_tool_use("remix_brief", AI_BRIEF)
    assert _run(_submit(creator, video_url)).status == NodeStatus.IN_REVIEW
    assert len(gemini.generate_requests) == 2


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        (lambda g: g.script_malformed(), "JSONDecodeError"),
        (lambda g: g.script_generate("this is not json"), "not JSON"),
        (lambda g: g.script_generate({**AI_ANALYSIS, "bpm": 999}), "does not match the schema"),
        (lambda g: g.script_huge(200_000), "too large"),
    ],
    ids=["malformed-body", "non-json-text", "schema-invalid", "huge"],
)
def test_unusable_answers_fall_back_without_retrying(providers, creator, video_url, script, reason):
    gemini, _ = providers
    script(gemini)
    node = _run(_submit(creator, video_url))
    assert node.status == NodeStatus.NEEDS_REVIEW
    assert len(gemini.generate_requests) == 1
    assert reason in node.analyses.get().error


def test_a_brief_with_forbidden_words_never_reaches_the_editor(providers, creator, video_url):
    gemini, claude = providers
    gemini.script_generate(AI_ANALYSIS)
    claude.script_tool_use("remix_brief", {**AI_BRIEF, "caption": "카지노 협찬 이벤트"})
    node = _run(_submit(creator, video_url))
    assert node.status == NodeStatus.NEEDS_REVIEW
    brief = node.briefs.get()
    assert brief.source == BriefSource.RULE_BASED and "카지노" not in json.dumps(brief.content, ensure_ascii=False)
    assert AICall.objects.get(purpose="brief").status == AICallStatus.ERROR  # charged, recorded, refused


def test_the_same_url_within_a_day_is_not_analysed_again(providers, creator, video_url):
    gemini, claude = providers
    gemini.script_generate(AI_ANALYSIS)
    claude.script_tool_use("remix_brief", AI_BRIEF)
    claude.script_tool_use("remix_brief", AI_BRIEF)
    first = _run(_submit(creator, video_url))
    second = _run(_submit(UserFactory(), video_url))
    assert first.status == second.status == NodeStatus.IN_REVIEW
    assert len(gemini.generate_requests) == 1
    assert second.analyses.get().raw_output["cached"] is True
    assert AICall.objects.filter(purpose="analysis").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_submissions_at_the_same_moment_run_one_analysis(providers, creator, video_url):
    gemini, claude = providers

    def slow_answer(request, match):
        time.sleep(0.5)  # long enough for the second run to arrive while the first waits on Gemini
        return server.json(200, generate_content_body(AI_ANALYSIS, model_version=match["model"].split("/", 1)[1]))

    gemini.push("generate", slow_answer)
    claude.script_tool_use("remix_brief", AI_BRIEF)
    claude.script_tool_use("remix_brief", AI_BRIEF)
    nodes = [_submit(creator, video_url), _submit(UserFactory(), video_url)]
    barrier = threading.Barrier(2)

    def run(node):
        barrier.wait()
        try:
            pipeline_run(node_id=node.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(gemini.generate_requests) == 1
    assert {RemixNode.objects.get(pk=n.pk).status for n in nodes} == {NodeStatus.IN_REVIEW}


def test_past_the_budget_no_call_is_made_and_the_node_waits_for_review(providers, creator, video_url, settings):
    gemini, claude = providers
    settings.LLM_MONTHLY_CAP = 0.0001
    node = _run(_submit(creator, video_url))
    assert node.status == NodeStatus.NEEDS_REVIEW
    assert gemini.generate_requests == [] and claude.message_requests == []
    assert "budget" in node.analyses.get().error
    assert AICall.objects.get().status == AICallStatus.REFUSED_BUDGET


def test_an_open_circuit_skips_the_provider(providers, creator, video_url, settings):
    gemini, _ = providers
    settings.AI_CIRCUIT_FAILURES = 1
    gemini.script_error(503, times=3)
    _run(_submit(creator, video_url))
    node = _run(_submit(UserFactory(), video_url + "?again"))
    assert len(gemini.generate_requests) == 3  # only the first node's attempts
    assert "circuit_open" in node.analyses.get().error


def test_youtube_goes_to_gemini_by_url(providers, creator):
    gemini, claude = providers
    gemini.script_generate(AI_ANALYSIS)
    claude.script_tool_use("remix_brief", AI_BRIEF)
    url = "https://www.youtube.com/shorts/abcDEF12345"
    node = _run(_submit(creator, url))  # the download fails (no network in tests); Gemini fetches it itself
    assert node.status == NodeStatus.IN_REVIEW
    parts = gemini.generate_requests[0].json["contents"][0]["parts"]
    file_uris = [
        p.get("file_data", p.get("fileData", {})).get("file_uri", p.get("fileData", {}).get("fileUri"))
        for p in parts
        if "file_data" in p or "fileData" in p
    ]
    assert file_uris == [url]


def test_large_videos_go_through_the_files_api_and_wait_until_active(
    providers, creator, video_url, video_bytes, settings
):
    gemini, claude = providers
    settings.GEMINI_INLINE_MAX_BYTES = 1000
    settings.GEMINI_FILE_POLL_S = 0.01
    gemini.script_file_states("PROCESSING", "PROCESSING", "ACTIVE")
    gemini.script_generate(AI_ANALYSIS)
    claude.script_tool_use("remix_brief", AI_BRIEF)
    node = _run(_submit(creator, video_url))
    assert node.status == NodeStatus.IN_REVIEW
    (name,) = gemini.files
    assert gemini.uploaded_bytes(name) == video_bytes
    assert len(gemini.requests_for("files.get")) >= 2
    assert name.split("/")[-1] in gemini.generate_requests[0].text


def test_a_file_gemini_fails_to_process_falls_back(providers, creator, video_url, settings):
    gemini, _ = providers
    settings.GEMINI_INLINE_MAX_BYTES = 1000
    settings.GEMINI_FILE_POLL_S = 0.01
    gemini.script_file_states("PROCESSING", "FAILED")
    node = _run(_submit(creator, video_url))
    assert node.status == NodeStatus.NEEDS_REVIEW
    assert "could not process" in node.analyses.get().error
    assert gemini.generate_requests == []


def test_a_job_killed_after_the_analysis_resumes_without_paying_twice(providers, creator, video_url):
    gemini, claude = providers
    gemini.script_generate(AI_ANALYSIS)
    claude.script_tool_use("remix_brief", AI_BRIEF)
    node = _submit(creator, video_url)
    # The first run got as far as the analysis, then its worker died.
    node = RemixNode.objects.get(pk=node.pk)
    _analyze(node, _fetch_and_probe(node))
    # The job runs again.
    node = _run(node)
    assert node.status == NodeStatus.IN_REVIEW
    assert len(gemini.generate_requests) == 1 and node.analyses.count() == 1
    assert AICall.objects.filter(purpose="analysis").count() == 1


def test_running_a_finished_job_again_changes_nothing(media_root, creator, video_url):
    node = _run(_submit(creator, video_url))
    assert pipeline_run(node_id=node.pk) == NodeStatus.NEEDS_REVIEW
    assert node.analyses.count() == 1 and node.briefs.count() == 1


def test_an_analysis_whose_url_lock_was_lost_meanwhile_still_finishes(providers, creator, video_url):
    """Redis restarted (or the lock expired) while Gemini was answering: the answer is stored, the lost lock is
    logged, and the run ends in review instead of failing over the lock's release."""
    gemini, claude = providers
    key = f"lock:{gemini_cache_key(video_url)}"

    def answer_after_losing_the_lock(request, match):
        assert cache.has_key(key)  # held while the call runs
        cache.delete(key)
        return server.json(200, generate_content_body(AI_ANALYSIS))

    gemini.push("generate", answer_after_losing_the_lock)
    claude.script_tool_use("remix_brief", AI_BRIEF)
    node = _run(_submit(creator, video_url))
    assert node.status == NodeStatus.IN_REVIEW
    assert node.analyses.get().status == AnalysisStatus.OK
