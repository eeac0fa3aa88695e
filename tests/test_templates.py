"""Django's `{# #}` comments end at the line's end: one spread over lines is not a comment but
text in the page (base.html once put its htmx note into every page's head this way). And the
pages' templates mirror annotator's domains."""

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


# One folder per domain of annotator/ (../shared/design/architecture.md), as tests/annotator/
# mirrors them: a page's template sits beside its domain's views, its partials in partials/.
ANNOTATOR_TEMPLATE_FOLDERS = {"jobs", "accounts", "corpus", "coding", "exchange", "learning"}


def in_its_domain_folder(parts: tuple[str, ...]) -> bool:
    *folders, _name = parts
    domain, *below = folders or [""]
    return domain in ANNOTATOR_TEMPLATE_FOLDERS and below in ([], ["partials"])


def test_every_page_template_lives_in_its_domain_folder():
    root = TEMPLATES / "annotator"
    misplaced = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.html")
        if not in_its_domain_folder(path.relative_to(root).parts)
    )
    assert misplaced == [], (
        f"templates/annotator/ mirrors the domains: <domain>/<page>.html or "
        f"<domain>/partials/<part>.html, for a domain in {sorted(ANNOTATOR_TEMPLATE_FOLDERS)}: "
        f"{misplaced}"
    )
