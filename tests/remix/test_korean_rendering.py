"""Korean in the editors' console renders as Korean, in a real browser: Hangul glyphs from a real font (not the
boxes a machine without a Korean font draws) and lines broken between words, not mid-word."""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import Browser

from accounts.models import Role
from tests.accounts.factories import UserFactory
from tests.remix.factories import node_in_review
from tests.remix.test_review_browser import browser  # noqa: F401 (the fixture: Debian's Chromium)

pytestmark = pytest.mark.django_db(transaction=True)

# Draw each character on a canvas in the page's own font and compare the pixels: without a Korean font every Hangul
# syllable is the same "missing glyph" box, so two different syllables draw identically.
GLYPHS = """(chars) => {
  const font = getComputedStyle(document.body).fontSize + ' ' + getComputedStyle(document.body).fontFamily;
  return chars.map((ch) => {
    const canvas = document.createElement('canvas');
    canvas.width = 48; canvas.height = 48;
    const ctx = canvas.getContext('2d');
    ctx.font = font.replace(/^[0-9.]+px/, '32px');
    ctx.fillText(ch, 4, 36);
    return Array.from(ctx.getImageData(0, 0, 48, 48).data).join(',');
  });
}"""


def test_hangul_renders_with_a_real_font_and_breaks_between_words(browser: Browser, live_server, tmp_path):  # noqa: F811
    editor = UserFactory(role=Role.EDITOR, display_name="김에디터")
    node, _ = node_in_review(title="성수동 카페에서 컵을 돌리면 방 색이 바뀌는 영상")
    session = Client()
    session.force_login(editor)
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="ko-KR")
    context.add_cookies([{"name": "sessionid", "value": session.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/remix/remixnode/{node.pk}/change/")
    page.screenshot(path=str(tmp_path / "korean.png"), full_page=True)
    han, guk, box = page.evaluate(GLYPHS, ["한", "국", "\U000f0000"])
    assert han != guk, "two Hangul syllables drew the same box: no Korean font"
    assert han != box and guk != box
    assert page.evaluate("getComputedStyle(document.body).wordBreak") == "keep-all"
    context.close()
