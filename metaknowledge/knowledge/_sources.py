"""The upstream artifacts the bundled snapshots are derived from, pinned by version and sha256.

All are OpenML-derived run histories published inside PyPI packages, so building the snapshots
needs no OpenML access: Oboe and LCDB for classification (:data:`SOURCES`), auto-sklearn's
meta-learning files for regression (:data:`REGRESSION_SOURCES`). Changing a pin changes a
snapshot: bump ``SNAPSHOT_VERSION`` or ``REGRESSION_SNAPSHOT_VERSION`` with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from metaknowledge.knowledge._kb import Provenance

__all__ = [
    "AUTOSKLEARN",
    "LCDB",
    "OBOE",
    "REGRESSION_SNAPSHOT_VERSION",
    "REGRESSION_SOURCES",
    "SNAPSHOT_VERSION",
    "SOURCES",
    "SourceArtifact",
]

#: Version of the bundled snapshot (``<date of the build recipe>.<revision>``).
SNAPSHOT_VERSION = "2026.11.1"
#: Version of the bundled regression snapshot; it differs from the classification one so that a
#: meta-model version (``<kb version>+mm.<hash>``) names its task type.
REGRESSION_SNAPSHOT_VERSION = "regression-2026.11.1"


@dataclass(frozen=True)
class SourceArtifact:
    """One pinned distribution file on PyPI and the members we read from it.

    ``members`` maps a logical name to ``(path inside the archive, sha256 of that member)``.
    """

    source: str
    package: str
    version: str
    filename: str
    sha256: str
    licence: str
    members: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "members", MappingProxyType(dict(self.members)))

    @property
    def requirement(self) -> str:
        """The pip requirement that names exactly this distribution."""
        return f"{self.package}=={self.version}"

    def provenance(self, member: str) -> Provenance:
        """Where a snapshot's data from ``member`` came from (package, file, sha256, licence)."""
        path, sha256 = self.members[member]
        return Provenance(
            source=self.source,
            package=self.package,
            version=self.version,
            file=f"{self.filename}:{path}",
            sha256=sha256,
            licence=self.licence,
            description=self.description,
        )


OBOE = SourceArtifact(
    source="oboe",
    package="oboe",
    version="0.2.0",
    filename="oboe-0.2.0-py3-none-any.whl",
    sha256="0cb81ba4636b5b4918d7364b6325e2e0316ebd95efb5187f2dfd8cffdc9976a3",
    licence="BSD-3-Clause",
    members={
        "error_matrix": (
            "oboe/defaults/Oboe/error_matrix.csv",
            "d8c67fa3f8a01aa10cbe6711bed31f85653262e081eebe53f9e259f6a88c3f2e",
        ),
        "runtime_matrix": (
            "oboe/defaults/Oboe/runtime_matrix.csv",
            "f6c59a13bfbf2e56ae388f943b3960c205329b8a5cebb32510409d20d2611578",
        ),
        "dataset_sizes": (
            "oboe/defaults/Oboe/dataset_sizes.csv",
            "94554642f1232cfa06c1bd8430fe714c712002af359b3096af49336e3ae034bf",
        ),
        "licence": (
            "oboe-0.2.0.dist-info/LICENSE.txt",
            "015835e1e5453d83e974f5b2efa118fd9e2e70249eaaea124db8b99ae93ba203",
        ),
    },
    description=(
        "Balanced error rate (5-fold CV) of 219 scikit-learn configurations of 12 learners on 418 "
        "OpenML classification datasets (Yang et al., Oboe, KDD 2019)."
    ),
)

LCDB = SourceArtifact(
    source="lcdb",
    package="lcdb",
    version="0.1.0",
    filename="lcdb-0.1.0.tar.gz",
    sha256="450ea69b249866298653f718d66a825e3d19a4024dd4ff140b89f2e04d4777ae",
    licence="MIT",
    members={
        "datasets": (
            "lcdb-0.1.0/lcdb/datasets.csv",
            "308aba0fca44d5aca14102475fdd275920e54cc48df5f61340ada1b495cbd758",
        ),
        "licence": (
            "lcdb-0.1.0/LICENSE.txt",
            "3bf520cd1d077335a894cfaf3b52a8f6b60e37b88523bd7a02990be73d59576f",
        ),
    },
    description=(
        "65 OpenML dataset qualities of 219 OpenML classification datasets (Mohr et al., LCDB, "
        "ECML-PKDD 2022)."
    ),
)

SOURCES: tuple[SourceArtifact, ...] = (OBOE, LCDB)

_AUTOSKLEARN_FILES = "auto-sklearn-0.15.0/autosklearn/metalearning/files/r2_regression_dense"

AUTOSKLEARN = SourceArtifact(
    source="autosklearn",
    package="auto-sklearn",
    version="0.15.0",
    filename="auto-sklearn-0.15.0.tar.gz",
    sha256="082941a56acfc93a83e221e08ef5d5b2083b1ff58d18be7c27d003a11e4a41d0",
    licence="BSD-3-Clause",
    members={
        "algorithm_runs": (
            f"{_AUTOSKLEARN_FILES}/algorithm_runs.arff",
            "72b4e32658a29afe3448bdd2aab86426fbf2dca2075ec1920409ab5dfb3ff0f2",
        ),
        "configurations": (
            f"{_AUTOSKLEARN_FILES}/configurations.csv",
            "ef3020e9e044b54930b69b3564ad448dadeee340fd19bcbff0878be3cc011891",
        ),
        "feature_values": (
            f"{_AUTOSKLEARN_FILES}/feature_values.arff",
            "40ed29162190ffe6b2ce9248dc0a110a0cad5d9180edf98e8e7ac29c8100c3ff",
        ),
        "description": (
            f"{_AUTOSKLEARN_FILES}/description.txt",
            "508a3a7c81593c5caca3bf44c4ce25b70d61a6f62c172b8a06b090bf5204e854",
        ),
        "licence": (
            "auto-sklearn-0.15.0/LICENSE.txt",
            "51351fd5a7e241e9bb194f60181153e077ab73e8bad5bbdaf63971ec80d2624a",
        ),
    },
    description=(
        "R2 of the best pipeline auto-sklearn's search found on each of 97 OpenML regression "
        "datasets (ASlib scenario r2_regression_dense: one run per dataset, stored as the loss "
        "1 - R2), with the meta-features auto-sklearn computed on their training splits "
        "(Feurer et al., Efficient and Robust Automated Machine Learning, NeurIPS 2015)."
    ),
)

#: The pinned sources of the bundled regression snapshot.
REGRESSION_SOURCES: tuple[SourceArtifact, ...] = (AUTOSKLEARN,)
