"""Prompt templates, versioned: a template's file name carries its version (`brief.v1.txt`).

A change to what a prompt asks for is a new file and a bump here, so every stored
brief and analysis records the exact prompt version it was generated with.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from string import Template

CURRENT = {"analysis": "v1", "brief": "v1"}
_DIR = Path(__file__).parent


@cache
def _template(name: str, version: str) -> Template:
    return Template((_DIR / f"{name}.{version}.txt").read_text(encoding="utf-8"))


def prompt_render(name: str, **context: object) -> tuple[str, str]:
    """Render the current version of a prompt: returns (version label, text). Missing variables raise KeyError."""
    version = CURRENT[name]
    return f"{name}.{version}", _template(name, version).substitute(**{k: str(v) for k, v in context.items()})
