"""Writing the report into a README between ``<!-- e2e:start -->`` and ``<!-- e2e:end -->``."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["END", "START", "update_readme"]

START = "<!-- e2e:start -->"
END = "<!-- e2e:end -->"


def update_readme(readme: Path, body: str, plot: Path | None) -> None:
    """Replace what lies between the markers of ``readme`` with ``body`` and a link to ``plot``.

    Raises:
        ValueError: the markers are missing or out of order.
    """
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{readme} needs the markers {START} and {END} (in that order)")
    block = body.rstrip("\n")
    if plot is not None:
        link = Path(os.path.relpath(plot, readme.parent)).as_posix()
        block += f"\n\n![regret vs trials]({link})"
    updated = text[: start + len(START)] + "\n" + block + "\n" + text[end:]
    readme.write_text(updated, encoding="utf-8")
