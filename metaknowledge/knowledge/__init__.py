"""Knowledge bases: the run-history schema, the bundled snapshot, and the loaders that build it.

``ingest_openml`` and ``IngestionResult`` are imported on first use: the ``openml`` client costs
about a second to import and most users of the library never talk to OpenML.
"""

from typing import TYPE_CHECKING, Any

from metaknowledge.knowledge._collect import CollectResult, collect_knowledge_base
from metaknowledge.knowledge._history import (
    HistoryDataset,
    HistoryKnowledge,
    HistoryRun,
    append_history,
    knowledge_base_from_history,
)
from metaknowledge.knowledge._kb import KnowledgeBase, Provenance, local_dataset_id
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
    "CollectResult",
    "HistoryDataset",
    "HistoryKnowledge",
    "HistoryRun",
    "IngestionResult",
    "KnowledgeBase",
    "Provenance",
    "append_history",
    "collect_knowledge_base",
    "default_snapshot_dir",
    "ingest_openml",
    "knowledge_base_from_history",
    "load_knowledge_base",
    "local_dataset_id",
    "merge_knowledge_bases",
    "read_snapshot",
    "write_snapshot",
]
