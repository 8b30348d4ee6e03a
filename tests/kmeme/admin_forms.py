"""Post an admin page's own form, as a browser would: read the fields from the rendered HTML, change some, post.

Reading the HTML (not the form class) keeps the tests honest: they submit exactly the fields the page shows
(hidden management forms, inline rows, split date/time widgets, map widgets), plus whatever a test adds on
purpose to prove that the admin ignores it.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from django.test import Client


class _FormFields(HTMLParser):
    """The name/value pairs a browser submits for the form with id `form_id` (no file inputs, no buttons)."""

    def __init__(self, form_id: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.found = False
        self.fields: list[tuple[str, str]] = []
        self._textarea: tuple[str, list[str]] | None = None
        self._select: dict[str, Any] | None = None
        self._option: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form" and not self.found and self._wanted(a):
            self.inside = self.found = True
            return
        if not self.inside:
            return
        name = a.get("name", "")
        submittable = name and "disabled" not in a and "__prefix__" not in name
        if tag == "input" and submittable:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((name, a.get("value", "on" if kind in ("checkbox", "radio") else "")))
        elif tag == "textarea":
            self._textarea = (name, []) if submittable else None
        elif tag == "select":
            self._select = {"name": name, "multiple": "multiple" in a, "options": []} if submittable else None
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "text": [], "selected": "selected" in a}
            self._select["options"].append(self._option)

    def _wanted(self, form: dict[str, str]) -> bool:
        if self.form_id is not None:
            return form.get("id") == self.form_id
        return form.get("method", "").lower() == "post" and form.get("id") not in ("logout-form", "language-switch")

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea[1].append(data)
        elif self._option is not None:
            self._option["text"].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "textarea" and self._textarea is not None:
            name, parts = self._textarea
            text = "".join(parts)
            self.fields.append((name, text[1:] if text.startswith("\n") else text))  # as browsers read it
            self._textarea = None
        elif tag == "option":
            self._option = None
        elif tag == "select" and self._select is not None:
            options = self._select["options"]
            chosen = [o for o in options if o["selected"]]
            if not chosen and options and not self._select["multiple"]:
                chosen = options[:1]
            for option in chosen:
                value = option["value"] if option["value"] is not None else "".join(option["text"]).strip()
                self.fields.append((self._select["name"], value))
            self._select = None


def form_fields(html: str, form_id: str | None = None) -> dict[str, Any]:
    """The fields of one form of a page (by id; else its first POST form but the header's logout and language
    forms): a value per name, a list where the page submits several."""
    parser = _FormFields(form_id)
    parser.feed(html)
    assert parser.found, f"no <form id={form_id!r}> on the page"
    # The test client does not check CSRF tokens; leave them out.
    parser.fields = [(name, value) for name, value in parser.fields if name != "csrfmiddlewaretoken"]
    data: dict[str, Any] = {}
    for name, value in parser.fields:
        if name in data:
            data[name] = [*data[name], value] if isinstance(data[name], list) else [data[name], value]
        else:
            data[name] = value
    return data


def admin_form(client: Client, url: str, model_name: str) -> dict[str, Any]:
    """GET an admin add/change page and return what its Save button would post (the page must be editable)."""
    response = client.get(url)
    assert response.status_code == 200, f"GET {url}: {response.status_code}"
    data = form_fields(response.content.decode(), f"{model_name}_form")
    data["_save"] = "Save"
    return data


def admin_action(client: Client, changelist_url: str, action: str, objects: list, *, follow: bool = True):
    """Tick `objects` on the changelist, choose `action` and press Go (the action must be offered there)."""
    page = client.get(changelist_url)
    assert page.status_code == 200, f"GET {changelist_url}: {page.status_code}"
    html = page.content.decode()
    assert f'<option value="{action}">' in html, f"the changelist does not offer {action}"
    data = form_fields(html, "changelist-form")
    data.update(action=action, index="0", _selected_action=[str(obj.pk) for obj in objects])
    return client.post(changelist_url, data, follow=follow)


def form_errors(response) -> list[str]:
    """Every error message the admin page shows on its main form and inlines (empty after a successful save)."""
    if response.status_code != 200 or response.context is None or "adminform" not in response.context:
        return []
    errors = [str(e) for field_errors in response.context["adminform"].form.errors.values() for e in field_errors]
    for inline in response.context.get("inline_admin_formsets", []):
        errors += [str(e) for e in inline.formset.non_form_errors()]
        errors += [str(e) for form_errs in inline.formset.errors for errs in form_errs.values() for e in errs]
    return errors


def page_messages(response) -> list[str]:
    """The messages (django.contrib.messages) shown on the page a redirect led to, or on this page."""
    return [str(m) for m in response.context["messages"]] if response.context else []
