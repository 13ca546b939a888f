"""Combining knowledge bases from several sources into one."""

from __future__ import annotations

import pandas as pd

from metaknowledge.exceptions import InvalidInputError
from metaknowledge.knowledge._kb import KnowledgeBase

__all__ = ["merge_knowledge_bases"]


def _union(indexes: list[pd.Index]) -> list[object]:
    seen: dict[object, None] = {}
    for index in indexes:
        seen.update(dict.fromkeys(index))
    return list(seen)


def _fill(frames: list[pd.DataFrame], index: list[object], columns: list[object]) -> pd.DataFrame:
    """Each cell from the first frame that knows it (later frames fill gaps, never overwrite)."""
    result = pd.DataFrame(float("nan"), index=pd.Index(index), columns=pd.Index(columns))
    for frame in frames:
        if frame.empty:
            continue
        result = result.combine_first(frame.astype(float)).reindex(index=index, columns=columns)
    return result.astype(float)


def merge_knowledge_bases(*kbs: KnowledgeBase) -> KnowledgeBase:
    """One knowledge base holding every dataset and configuration of ``kbs``.

    - ``performance``/``runtime``: the union of datasets (rows) and configurations (columns), NaN
      where no source measured the pair. A cell known to several sources keeps the first source's
      value (sources are in argument order; their configuration ids are their own namespaces, so
      this only happens when two sources share ids).
    - ``metafeatures``: the union of datasets and qualities; a later source only fills values the
      earlier ones lack (NaN), never overwrites a known one.
    - ``configs``: the union (the first definition of an id wins); ``datasets``: one row per
      dataset, each keeping the name and ``source`` of the first source that has it.
    - ``provenance``: concatenated in order; ``version``: the versions joined with ``+``.

    Raises:
        InvalidInputError: no knowledge base given, or they measure different ``metric`` or
            ``task_type`` (their scores would not be comparable).
    """
    if not kbs:
        raise InvalidInputError("merge_knowledge_bases needs at least one knowledge base")
    first = kbs[0]
    for kb in kbs[1:]:
        if kb.metric != first.metric or kb.task_type != first.task_type:
            raise InvalidInputError(
                f"cannot merge knowledge bases of different metrics or task types: "
                f"{first.metric}/{first.task_type} and {kb.metric}/{kb.task_type}"
            )
    dataset_ids = [int(str(i)) for i in _union([kb.performance.index for kb in kbs])]
    config_ids = [str(c) for c in _union([kb.performance.columns for kb in kbs])]
    configs: dict[str, dict[str, object]] = {}
    for kb in kbs:
        for cid, config in kb.configs.items():
            configs.setdefault(str(cid), {"learner": config["learner"], "params": config["params"]})

    performance = _fill([kb.performance for kb in kbs], list(dataset_ids), list(config_ids))
    runtime = _fill([kb.runtime for kb in kbs], list(dataset_ids), list(config_ids))
    mf_ids = [int(str(i)) for i in _union([kb.metafeatures.index for kb in kbs])]
    mf_names = _union([kb.metafeatures.columns for kb in kbs])
    metafeatures = _fill([kb.metafeatures for kb in kbs], list(mf_ids), mf_names)

    names: dict[int, str] = {}
    sources: dict[int, str] = {}
    for kb in kbs:
        for dataset_id, row in kb.datasets.iterrows():
            key = int(str(dataset_id))
            names.setdefault(key, str(row.get("name", "")))
            sources.setdefault(key, str(row.get("source", "")))
    index = pd.Index(dataset_ids, name="dataset_id", dtype="int64")
    columns = pd.Index(config_ids, name="config_id", dtype=object)
    performance.index, performance.columns = index, columns
    runtime.index, runtime.columns = index, columns
    metafeatures.index = pd.Index(mf_ids, name="dataset_id", dtype="int64")
    metafeatures.columns = pd.Index([str(c) for c in mf_names], dtype=object)
    return KnowledgeBase(
        performance=performance,
        metafeatures=metafeatures,
        configs=configs,
        runtime=runtime,
        datasets=pd.DataFrame(
            {
                "name": [names.get(i, "") for i in dataset_ids],
                "source": [sources.get(i, "") for i in dataset_ids],
            },
            index=index,
        ),
        version="+".join(dict.fromkeys(kb.version for kb in kbs)),
        metric=first.metric,
        task_type=first.task_type,
        provenance=tuple(p for kb in kbs for p in kb.provenance),
    )
