"""Knowledge bases: the run-history schema, the bundled snapshot, and the loaders that build it.

``ingest_openml`` and ``IngestionResult`` are imported on first use: the ``openml`` client costs
about a second to import and most users of the library never talk to OpenML.
"""

from typing import TYPE_CHECKING, Any

from metaknowledge.knowledge._kb import KnowledgeBase, Provenance
from metaknowledge.knowledge._merge import merge_knowledge_bases
from metaknowledge.knowledge._snapshot import (
    SNAPSHOT_SCHEMA_VERSION,
    default_snapshot_dir,
    load_knowledge_base,
    read_snapshot,
    write_snapshot,
)

if TYPE_CHECKING:
    from metaknowledge.knowledge._openml import IngestionResult, ingest_openml

_LAZY = ("IngestionResult", "ingest_openml")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from metaknowledge.knowledge import _openml

        return getattr(_openml, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "SNAPSHOT_SCHEMA_VERSION",
    "IngestionResult",
    "KnowledgeBase",
    "Provenance",
    "default_snapshot_dir",
    "ingest_openml",
    "load_knowledge_base",
    "merge_knowledge_bases",
    "read_snapshot",
    "write_snapshot",
]
