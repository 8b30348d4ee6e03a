"""Korean first, English second (issue 15): the catalogue covers every string of the project, and the admin, its
messages, the review history and the API's error messages speak Korean unless a person asks for English.

The suite runs with English as its default (kmeme/settings_test.py); every test here puts the product's real default
back (`korean`), so what it sees is what an editor with a Korean browser — or no Accept-Language at all — sees.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

import kmeme.settings as product_settings
from accounts.models import Role, User
from remix.models import NodeStatus
from remix.services import node_create, node_transition
from tests.accounts.factories import UserFactory
from tests.remix.factories import node_in_review

pytestmark = pytest.mark.django_db

ROOT = Path(django_settings.BASE_DIR)
CATALOGUE = ROOT / "locale" / "ko" / "LC_MESSAGES" / "django.po"
PROJECT_DIRS = ("kmeme", "accounts", "remix", "genealogy", "campaigns", "privacy", "operations", "templates")


@pytest.fixture
def korean(settings):
    """The product's own default language, as kmeme.settings sets it."""
    assert product_settings.LANGUAGE_CODE == "ko"
    settings.LANGUAGE_CODE = product_settings.LANGUAGE_CODE
    with translation.override(None):
        yield


# --- the catalogue ----------------------------------------------------------------------------------------------------


def _po_entries(path: Path) -> list[tuple[str, list[str], bool]]:
    """(msgid, msgstrs, fuzzy) of every live entry of a .po file (obsolete `#~` entries are skipped)."""
    entries, msgid, strs, fuzzy, field = [], None, [], False, None

    def unq(text: str) -> str:
        return ast.literal_eval(text)

    def close():
        if msgid:  # the header has msgid ""
            entries.append((msgid, strs, fuzzy))

    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if line.startswith("#~"):
            continue
        if not line.strip():
            close()
            msgid, strs, fuzzy, field = None, [], False, None
        elif line.startswith("#,"):
            fuzzy = fuzzy or "fuzzy" in line
        elif line.startswith("msgid "):
            msgid, field = unq(line[6:]), "id"
        elif line.startswith("msgid_plural "):
            field = "plural"
        elif line.startswith("msgstr"):
            strs.append(unq(line.split(" ", 1)[1]))
            field = "str"
        elif line.startswith('"'):
            if field == "id":
                msgid += unq(line)
            elif field == "str":
                strs[-1] += unq(line)
    return entries


def test_every_project_string_has_a_korean_translation(tmp_path):
    """makemessages over a copy of the project: every string it finds is translated in locale/ko, none fuzzy."""
    for name in PROJECT_DIRS:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    shutil.copytree(ROOT / "locale", tmp_path / "locale", ignore=shutil.ignore_patterns("*.mo"))
    shutil.copy(ROOT / "manage.py", tmp_path / "manage.py")
    done = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "ko", "--no-wrap", "--add-location=file"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "kmeme.settings", "HOME": str(tmp_path)},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    missing = [
        msgid for msgid, strs, fuzzy in _po_entries(tmp_path / CATALOGUE.relative_to(ROOT)) if fuzzy or not all(strs)
    ]
    assert not missing, f"{len(missing)} project string(s) without a Korean translation in {CATALOGUE}:\n" + "\n".join(
        missing[:40]
    )


def test_the_committed_catalogue_is_complete_and_compiled():
    entries = _po_entries(CATALOGUE)
    assert len(entries) > 500
    assert [m for m, strs, fuzzy in entries if fuzzy or not all(strs)] == []
    mo = CATALOGUE.with_suffix(".mo")
    assert mo.is_file(), "provisioning (scripts/provision.sh) compiles locale/ko; run `make provision`"
    assert mo.stat().st_mtime >= CATALOGUE.stat().st_mtime, "locale/ko/…/django.mo is older than its .po"
    with translation.override("ko"):
        assert translation.gettext("Approve the selected briefs") == "선택한 브리프 승인"


# Where a user-facing string must be handed over translatable: the message of these calls and these keyword
# arguments. The API's OpenAPI descriptions (serializers, apis, openapi) are developer documentation and stay English.
_MESSAGE_CALLS = {"ApplicationError", "ValidationError", "CommandError", "message_user"}
_MESSAGE_KWARGS = {"verbose_name", "verbose_name_plural", "help_text", "short_description", "label", "empty_label"}
_DOC_MODULES = ("serializers.py", "apis.py", "openapi.py")


def _bare_strings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []

    def bare(node: ast.AST) -> bool:
        if isinstance(node, ast.JoinedStr):  # words of its own; `f"{translated}: {value}"` is fine
            return any(isinstance(part, ast.Constant) and any(c.isalpha() for c in part.value) for part in node.values)
        return isinstance(node, ast.Constant) and isinstance(node.value, str) and any(c.isalpha() for c in node.value)

    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name in _MESSAGE_CALLS and node.args:
            message = node.args[1] if name == "message_user" and len(node.args) > 1 else node.args[0]
            if (name != "message_user" or len(node.args) > 1) and bare(message):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}(…)")
        is_message = isinstance(node.func, ast.Attribute) and getattr(node.func.value, "id", "") == "messages"
        if is_message and node.args and name in ("success", "error", "warning", "info") and bare(node.args[-1]):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} messages.{name}(…)")
        if path.name not in _DOC_MODULES:
            for keyword in node.keywords:
                if keyword.arg in _MESSAGE_KWARGS and bare(keyword.value):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {keyword.arg}=")
    return found


def test_user_facing_strings_are_handed_over_translatable():
    """A message, label or model name written as a plain literal would never reach the catalogue."""
    found = []
    for name in PROJECT_DIRS[:-1]:
        for path in sorted((ROOT / name).rglob("*.py")):
            if "migrations" not in path.parts and path.name not in ("settings.py", "settings_test.py"):
                found += _bare_strings(path)
    assert found == []


# --- the admin in Korean ----------------------------------------------------------------------------------------------


@pytest.fixture
def editor():
    return UserFactory(role=Role.EDITOR, display_name="김에디터")


def test_the_admin_speaks_korean_by_default_and_english_on_request(korean, editor):
    browser = Client()
    login = browser.get(reverse("admin:login")).content.decode()
    assert "로그인" in login and "K-MEME Factory 관리자" in login
    assert 'lang="ko"' in login

    browser.force_login(editor)
    node_in_review(title="라떼 아트 리믹스")
    queue = browser.get(reverse("admin:index")).content.decode()
    assert "검토 콘솔" in queue
    nodes = browser.get(reverse("admin:remix_remixnode_changelist")).content.decode()
    assert "선택한 브리프 승인" in nodes  # the bulk action
    assert "Approve the selected briefs" not in nodes
    assert re.search(r"\d{4}년 \d{1,2}월 \d{1,2}일", nodes)  # dates in Korean format
    assert re.search(r"\d+분 전", queue)  # ages too

    english = Client(HTTP_ACCEPT_LANGUAGE="en")
    english.force_login(editor)
    page = english.get(reverse("admin:remix_remixnode_changelist")).content.decode()
    assert "Approve the selected briefs" in page and 'lang="en"' in page


def test_the_language_switch_keeps_an_editors_choice_on_their_account(korean, editor):
    browser = Client(HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9")
    browser.force_login(editor)
    index = browser.get(reverse("admin:index")).content.decode()
    assert 'id="language-switch"' in index and "언어" in index

    response = browser.post(reverse("admin:language"), {"language": "en", "next": reverse("admin:index")})
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    assert User.objects.get(pk=editor.pk).language == "en"
    assert "Review console" in browser.get(reverse("admin:index")).content.decode()

    elsewhere = Client(HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9")  # another browser, same person: their choice follows
    elsewhere.force_login(User.objects.get(pk=editor.pk))
    assert "Review console" in elsewhere.get(reverse("admin:index")).content.decode()

    browser.post(reverse("admin:language"), {"language": "ko", "next": reverse("admin:index")})
    assert "검토 콘솔" in browser.get(reverse("admin:index")).content.decode()


def test_the_language_switch_refuses_what_it_does_not_know(korean, editor):
    browser = Client()
    browser.force_login(editor)
    for bad in ("xx", "", "ko' OR 1=1", "e" * 500):
        response = browser.post(reverse("admin:language"), {"language": bad, "next": "https://evil.example/"})
        assert response.status_code == 302 and response["Location"] == reverse("admin:index")  # no open redirect
    assert User.objects.get(pk=editor.pk).language == ""
    assert browser.get(reverse("admin:language")).status_code == 405


def test_bulk_messages_read_as_korean_sentences(korean, editor):
    browser = Client()
    browser.force_login(editor)
    (first, _), (second, _) = node_in_review(title="첫째"), node_in_review(title="둘째")
    page = browser.post(
        reverse("admin:remix_remixnode_changelist"),
        {"action": "approve_selected", "_selected_action": [first.pk, second.pk]},
        follow=True,
    ).content.decode()
    assert "노드 2개를 승인했습니다." in page, page[page.find("messagelist") : page.find("messagelist") + 400]


def test_history_reads_in_korean(korean, editor):
    browser = Client()
    browser.force_login(editor)
    node = node_create(title="역사", source_url="https://cdn.example.com/history.mp4", owner=None)
    node_transition(node=node, to=NodeStatus.ANALYZING, actor=None)
    page = browser.get(reverse("admin:remix_remixnode_review", args=[node.pk])).content.decode()
    assert "시스템" in page and "분석 중" in page


def test_hangul_titles_are_found_and_sorted(korean, editor):
    browser = Client()
    browser.force_login(editor)
    for title in ("다람쥐 챌린지", "가나다 댄스", "나비 라떼"):
        node_in_review(title=title)
    found = browser.get(reverse("admin:remix_remixnode_changelist"), {"q": "라떼"}).content.decode()
    assert "나비 라떼" in found and "가나다 댄스" not in found
    listed = browser.get(reverse("admin:remix_remixnode_changelist"), {"o": "1"}).content.decode()
    positions = [listed.find(t) for t in ("가나다 댄스", "나비 라떼", "다람쥐 챌린지")]
    assert -1 not in positions and positions == sorted(positions)


# --- the API ----------------------------------------------------------------------------------------------------------


def test_api_error_messages_follow_the_language_and_codes_do_not(korean):
    api = APIClient()
    korean_error = api.post("/api/v1/auth/refresh", {"refresh": "not-a-token"}, format="json")
    english_error = api.post(
        "/api/v1/auth/refresh", {"refresh": "not-a-token"}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert korean_error.status_code == english_error.status_code == 401
    korean_body, english_body = korean_error.json()["error"], english_error.json()["error"]
    assert korean_body["code"] == english_body["code"]
    assert "다시 로그인하세요" in korean_body["message"], korean_body
    assert "sign in again" in english_body["message"], english_body
    assert korean_error["Content-Language"] == "ko" and english_error["Content-Language"] == "en"
