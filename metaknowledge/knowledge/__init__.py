"""Knowledge bases: the run-history schema, the bundled snapshot, and the loaders that build it."""

from metaknowledge.knowledge._kb import KnowledgeBase, Provenance
from metaknowledge.knowledge._snapshot import (
    SNAPSHOT_SCHEMA_VERSION,
    default_snapshot_dir,
    load_knowledge_base,
    read_snapshot,
    write_snapshot,
)

__all__ = [
    "SNAPSHOT_SCHEMA_VERSION",
    "KnowledgeBase",
    "Provenance",
    "default_snapshot_dir",
    "load_knowledge_base",
    "read_snapshot",
    "write_snapshot",
]
