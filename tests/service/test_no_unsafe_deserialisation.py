"""No untrusted deserialisation: nothing in ``service/`` or ``metaknowledge/`` may unpickle, load
YAML unsafely, ``eval`` or load NumPy files with pickles, except the reviewed lines allowed here.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("service", "metaknowledge")

FORBIDDEN = {
    "pickle": re.compile(r"\b(c?pickle|dill|cloudpickle|shelve|marshal)\b"),
    "joblib.load": re.compile(r"\bjoblib\b.*\bload\b|\bfrom\s+joblib\s+import\b.*\bload\b"),
    "yaml.load without SafeLoader": re.compile(r"\byaml\.(load|load_all|unsafe_load)\s*\("),
    "eval/exec": re.compile(r"(?<![\w.])(eval|exec)\s*\("),
    "np.load allow_pickle=True": re.compile(r"allow_pickle\s*=\s*True"),
    "pandas read_pickle": re.compile(r"\bread_pickle\b"),
    "torch.load": re.compile(r"\btorch\.load\s*\("),
}

#: ``(path, text on the line)`` pairs that were reviewed and are safe, with the reason.
ALLOWED: set[tuple[str, str]] = {
    # Docstring stating that the snapshot is read *without* pickles.
    ("metaknowledge/knowledge/_snapshot.py", "- ``snapshot.npz``: the numeric blocks"),
}


def _violations() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                for what, pattern in FORBIDDEN.items():
                    if not pattern.search(line):
                        continue
                    if what == "yaml.load without SafeLoader" and "SafeLoader" in line:
                        continue
                    if any(relative == p and text in line for p, text in ALLOWED):
                        continue
                    found.append(f"{relative}:{number}: {what}: {line.strip()}")
    return found


def test_no_untrusted_deserialisation() -> None:
    assert _violations() == []


def test_the_scan_finds_what_it_forbids() -> None:
    lines = [
        "import pickle",
        "model = joblib.load(path)",
        "yaml.load(text)",
        "value = eval(expression)",
        "np.load(path, allow_pickle=True)",
    ]
    for line in lines:
        assert any(p.search(line) for p in FORBIDDEN.values()), line
    assert not FORBIDDEN["eval/exec"].search("ast.literal_eval(header)")
