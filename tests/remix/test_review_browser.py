"""The review console in a real browser: Playwright driving Debian's Chromium against a live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from accounts.models import AuditLog, Role
from remix.models import NodeStatus, RemixNode
from tests.accounts.factories import UserFactory
from tests.remix.factories import node_in_review

CHROMIUM = Path("/usr/bin/chromium")
# Flags that keep a headless Chromium from reaching for the network on its own.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "a long enough password"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium).")
    # Playwright's sync API keeps an event loop in this thread; the tests' own ORM calls stay synchronous.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _log_in(browser: Browser, live_server, email: str) -> Page:
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#review-queue")).to_be_visible()
    return page


def test_an_editor_edits_approves_and_publishes_while_a_second_editor_hits_the_lock(browser, live_server):
    UserFactory(email="kim@kmeme.test", role=Role.EDITOR, display_name="Editor Kim", password=PASSWORD)
    UserFactory(email="park@kmeme.test", role=Role.EDITOR, display_name="Editor Park", password=PASSWORD)
    node, _brief = node_in_review(title="Latte art in Seongsu")

    kim = _log_in(browser, live_server, "kim@kmeme.test")
    kim.get_by_role("link", name="Latte art in Seongsu").first.click()
    expect(kim.locator("#lock-free")).to_be_visible()  # reading takes no lock
    # Her first keystroke in the brief takes it (the page asks the server).
    kim.fill("#id_brief-caption", "성수에서 찍은")
    expect(kim.locator("body")).to_have_attribute("data-review-lock", "mine")

    # A second editor opens the same node: the lock holder is named, and saving is refused.
    park = _log_in(browser, live_server, "park@kmeme.test")
    park.goto(f"{live_server.url}/admin/remix/remixnode/{node.pk}/review/")
    expect(park.locator("#lock-banner")).to_contain_text("Editor Kim")
    park.get_by_role("button", name="Approve", exact=True).click()
    expect(park.locator(".messagelist")).to_contain_text("Editor Kim is reviewing this node")
    assert RemixNode.objects.get(pk=node.pk).status == NodeStatus.IN_REVIEW

    # The lock holder edits the caption and approves with the edit.
    kim.fill("#id_brief-caption", "성수에서 찍은 라떼 전환 ☕")
    kim.get_by_role("button", name="Approve with edits").click()
    expect(kim.locator(".messagelist")).to_contain_text("Approved “Latte art in Seongsu” with your edits")

    kim.goto(f"{live_server.url}/admin/remix/remixnode/{node.pk}/review/")
    expect(kim.locator("#brief")).to_contain_text("성수에서 찍은 라떼 전환")
    kim.get_by_role("button", name="Publish as master").click()
    expect(kim.locator(".messagelist")).to_contain_text("Published “Latte art in Seongsu”")
    assert RemixNode.objects.get(pk=node.pk).status == NodeStatus.PUBLISHED

    # The audit trail shows every decision, and it is read-only.
    kim.goto(f"{live_server.url}/admin/accounts/auditlog/?target_type=remix.remixnode&target_id={node.pk}")
    for action in ("brief.edit", "brief.approve", "node.publish"):
        expect(kim.locator("#result_list")).to_contain_text(action)
    assert set(AuditLog.objects.filter(target_id=str(node.pk)).values_list("action", flat=True)) >= {
        "brief.edit",
        "brief.approve",
        "node.publish",
    }


def test_an_editor_works_the_queue_by_keyboard(browser, live_server):
    UserFactory(email="lee@kmeme.test", role=Role.EDITOR, display_name="Editor Lee", password=PASSWORD)
    first, _ = node_in_review(title="Keyboard one")
    second, _ = node_in_review(title="Keyboard two")
    page = _log_in(browser, live_server, "lee@kmeme.test")

    page.locator("#take-next").focus()
    page.keyboard.press("Enter")
    expect(page.locator("h1, #content h1").first).to_contain_text("Keyboard one")
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_have_attribute("open", "")
    page.keyboard.press("/")  # into the brief's first field
    page.keyboard.press("End")
    page.keyboard.type(" · 키보드로 고침")
    page.keyboard.press("Control+Enter")  # approve with the edit
    expect(page.locator(".messagelist")).to_contain_text("Approved “Keyboard one” with your edits")
    expect(page.locator("#content h1").first).to_contain_text("Keyboard two")  # on to the next item
    page.keyboard.press("a")  # approve as written
    expect(page.locator(".messagelist")).to_contain_text("Approved “Keyboard two”.")
    assert {RemixNode.objects.get(pk=n.pk).status for n in (first, second)} == {NodeStatus.APPROVED}
    assert RemixNode.objects.get(pk=first.pk).briefs.get().content["concept"].endswith("· 키보드로 고침")


def test_the_script_is_edited_as_a_table_of_beats(browser, live_server):
    UserFactory(email="choi@kmeme.test", role=Role.EDITOR, display_name="Editor Choi", password=PASSWORD)
    node, _ = node_in_review(title="Beat table")
    page = _log_in(browser, live_server, "choi@kmeme.test")
    page.goto(f"{live_server.url}/admin/remix/remixnode/{node.pk}/review/")
    table = page.locator("#beat-table")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(page.locator("#id_brief-script")).to_be_hidden()  # the table writes into it

    page.click("#add-beat")
    page.keyboard.type("컵 클로즈업 추가")  # focus went to the new beat's "what to film"
    page.get_by_label("Beat 3 time in seconds").fill("2")
    page.get_by_label("Beat 3 beat number").fill("9")
    expect(table.locator("tbody tr").nth(2).locator(".warn")).to_contain_text("before the beat above")
    expect(table.locator("tbody tr").nth(2).locator(".warn")).to_contain_text("beat 5 at 128 BPM")
    table.locator("tbody tr").nth(2).get_by_role("button", name="Move beat up").click()
    page.get_by_label("Beat 2 beat number").fill("5")  # now the second beat (labels follow the order): fix its beat
    expect(table.locator("tbody tr").nth(1).locator(".warn")).to_have_text("")
    page.get_by_role("button", name="Approve with edits").click()
    expect(page.locator(".messagelist")).to_contain_text("Approved “Beat table” with your edits")
    script = RemixNode.objects.get(pk=node.pk).briefs.get().content["script"]
    assert [(b["t"], b["beat"], b["shot"]) for b in script] == [
        (0.0, 1, "클로즈업"),
        (2.0, 5, "컵 클로즈업 추가"),
        (3.75, 8, "전환"),
    ]


def test_an_editor_works_a_review_in_korean_by_keyboard(browser, live_server):
    """The browser's language is Korean: queue → review → edit a beat → approve → next, by keyboard, all in Korean."""
    UserFactory(email="han@kmeme.test", role=Role.EDITOR, display_name="한에디터", password=PASSWORD)
    first, _ = node_in_review(title="성수동 라떼 전환")
    second, _ = node_in_review(title="한강 피크닉")
    page = browser.new_context(locale="ko-KR", viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(f"{live_server.url}/admin/login/")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    page.fill("#id_username", "han@kmeme.test")
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#review-queue")).to_be_visible()
    expect(page.locator("#content h1").first).to_contain_text("검토 콘솔")

    page.locator("#take-next").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#content h1").first).to_contain_text("성수동 라떼 전환")
    expect(page.locator("#shortcuts summary")).to_contain_text("단축키")
    shot = page.locator("#beat-table tbody tr").first.locator("input").nth(2)
    shot.focus()  # the first beat's "what to film"
    page.keyboard.press("End")
    page.keyboard.type(" · 컵 클로즈업")
    page.keyboard.press("Control+Enter")  # approve with the edit
    expect(page.locator(".messagelist")).to_contain_text("“성수동 라떼 전환” 브리프를 수정 내용과 함께 승인했습니다.")
    expect(page.locator("#content h1").first).to_contain_text("한강 피크닉")  # on to the next item
    page.keyboard.press("a")  # approve as written
    expect(page.locator(".messagelist")).to_contain_text("“한강 피크닉” 브리프를 승인했습니다.")
    assert {RemixNode.objects.get(pk=n.pk).status for n in (first, second)} == {NodeStatus.APPROVED}
    script = RemixNode.objects.get(pk=first.pk).briefs.get().content["script"]
    assert script[0]["shot"].endswith("· 컵 클로즈업")
    history = AuditLog.objects.filter(target_id=str(first.pk), action="brief.approve")
    assert history.count() == 1 and history.get().details.get("with_edits")
