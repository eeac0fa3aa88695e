"""The committed OpenAPI schema (docs/openapi.yaml) is what clients generate code from; it must
be what the code serves."""

import difflib
from pathlib import Path

from django.core.management import call_command

SCHEMA = Path(__file__).resolve().parents[3] / "docs" / "openapi.yaml"
REGENERATE = (
    "DJANGO_SETTINGS_MODULE=mestudio.settings.test .venv/bin/python manage.py spectacular "
    "--file docs/openapi.yaml --validate"
)


def test_committed_schema_matches_the_code(tmp_path):
    generated = tmp_path / "openapi.yaml"
    call_command("spectacular", "--file", str(generated), "--validate", "--fail-on-warn")
    committed = SCHEMA.read_text() if SCHEMA.exists() else ""
    current = generated.read_text()
    diff = "".join(
        difflib.unified_diff(
            committed.splitlines(keepends=True),
            current.splitlines(keepends=True),
            "docs/openapi.yaml (committed)",
            "generated from the code",
            n=2,
        )
    )
    assert committed == current, (
        f"The API schema drifted from docs/openapi.yaml. If the change is intended, regenerate "
        f"it with\n    {REGENERATE}\nand commit it.\n\n{diff[:6000]}"
    )
