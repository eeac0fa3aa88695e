"""Django's `{# #}` comments end at the line's end: one spread over lines is not a comment but
text in the page (base.html once put its htmx note into every page's head this way)."""

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def test_no_template_comment_spans_lines():
    spread = [
        f"{path.relative_to(TEMPLATES)}:{text[: match.start()].count(chr(10)) + 1}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for text in [path.read_text()]
        for match in re.finditer(r"\{#(?:(?!#\}).)*$", text, re.M)
    ]
    assert not spread, f"use {{% comment %}} for comments over several lines: {spread}"
