"""The family tree as a picture: a Lineage drawn by Graphviz (`dot`), as SVG.

Edges are labelled and coloured by mutation type, nodes filled by status and shaped by layer (masters boxes, forks
ellipses), the node asked about drawn bold with a double border. Every title goes into DOT as a quoted string with
its backslashes, quotes and markup characters escaped, so nothing from a title can change the graph or reach the
SVG as markup.
"""

from __future__ import annotations

import shutil
import subprocess

from django.utils.translation import gettext as _

from genealogy.lineage import Lineage
from kmeme.exceptions import ApplicationError

DOT_TIMEOUT_S = 5
LABEL_CHARS = 40

MUTATION_COLOURS = {
    "audio_swap": "#d62728",
    "localization": "#1f77b4",
    "format_change": "#9467bd",
    "product_swap": "#ff7f0e",
    "caption_change": "#2ca02c",
    "setting_change": "#8c564b",
    "character_change": "#e377c2",
}
STATUS_FILLS = {
    "published": "#e6f4ea",
    "approved": "#e8f0fe",
    "in_review": "#fef7e0",
    "needs_review": "#fce8e6",
    "analyzing": "#f1f3f4",
    "draft": "#ffffff",
    "rejected": "#f8d7da",
    "archived": "#dddddd",
}


def dot_text(text: str) -> str:
    """`text` for the inside of a DOT quoted string: markup characters as entities (Graphviz passes entities
    through to the SVG as text), backslashes and quotes escaped, line breaks flattened."""
    text = " ".join(str(text).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _short(title: str) -> str:
    return title if len(title) <= LABEL_CHARS else title[: LABEL_CHARS - 1] + "…"


def lineage_dot(lineage: Lineage) -> str:
    """The DOT source of a lineage."""
    lines = [
        "digraph lineage {",
        '  graph [rankdir=TB, bgcolor="white", fontname="sans-serif", fontsize=10];',
        '  node [style="filled", fontname="sans-serif", fontsize=10, color="#5f6368"];',
        '  edge [fontname="sans-serif", fontsize=9];',
    ]
    for node in lineage.nodes:
        current = node.pk == lineage.node.pk
        # Two lines: the title, then layer and status (`\n` is DOT's line break, outside any escaped text).
        meta = f"{node.layer} · {node.status.replace('_', ' ')}"
        attributes = [
            f'label="{dot_text(_short(node.title))}\\n{dot_text(meta)}"',
            f"shape={'box' if node.layer == 'master' else 'ellipse'}",
            f'fillcolor="{STATUS_FILLS.get(node.status, "#ffffff")}"',
        ]
        if current:
            attributes += ["peripheries=2", "penwidth=2.5", 'fontname="sans-serif bold"']
        lines.append(f"  n{node.pk} [{', '.join(attributes)}];")
    for edge in lineage.edges:
        types = list(edge.mutation_types)
        colour = MUTATION_COLOURS.get(types[0], "#5f6368") if len(types) == 1 else "#202124"
        label = ", ".join(t.replace("_", " ") for t in types)
        lines.append(f'  n{edge.parent_id} -> n{edge.child_id} [label="{dot_text(label)}", color="{colour}"];')
    lines.append("}")
    return "\n".join(lines)


def lineage_svg(lineage: Lineage) -> str:
    """The lineage drawn by Graphviz as an SVG document. ApplicationError 503 `graph_unavailable` when Graphviz
    is missing or fails."""
    dot = shutil.which("dot")
    if dot is None:
        raise ApplicationError(
            _("Family-tree pictures are unavailable: Graphviz (dot) is not installed on the server."),
            code="graph_unavailable",
            status_code=503,
        )
    try:
        result = subprocess.run(  # noqa: S603 - Graphviz by its resolved path; the graph goes in on stdin
            [dot, "-Tsvg"], input=lineage_dot(lineage).encode(), capture_output=True, timeout=DOT_TIMEOUT_S, check=True
        )
    except (subprocess.TimeoutExpired, subprocess.CalledProcessError) as exc:
        raise ApplicationError(
            _("The family tree could not be drawn right now."), code="graph_unavailable", status_code=503
        ) from exc
    return result.stdout.decode()
