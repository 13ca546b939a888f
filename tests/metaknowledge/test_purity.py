"""metaknowledge is a pure library: importing it pulls in no web, database or optimiser stack."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("fastapi", "starlette", "sqlalchemy", "alembic", "optuna", "service", "uvicorn")


def test_importing_the_facade_imports_no_service_stack() -> None:
    code = (
        "import sys, metaknowledge, metaknowledge.evaluation, metaknowledge.searchspace;"
        f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules];"
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_only_the_knowledge_loaders_may_import_openml() -> None:
    from pathlib import Path

    import metaknowledge

    root = Path(metaknowledge.__file__).parent
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if "import openml" in p.read_text() and p.parts[-2] != "knowledge"
    ]
    assert offenders == []
