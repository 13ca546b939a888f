"""One identity for configurations, shared by everyone who asks "have we run this one?"."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def config_key(learner: str, params: Mapping[str, Any]) -> str:
    """A string equal for equal configurations: the learner and its parameters as canonical
    JSON (keys sorted, so the order in which parameters were given does not matter).

    Values compare as JSON does: ``1`` and ``1.0`` give different keys, as they do in a study's
    stored parameters. Raises ``TypeError`` (or ``ValueError``, for a circular value) when JSON
    cannot hold the parameters.
    """
    return json.dumps([str(learner), dict(params)], sort_keys=True)
