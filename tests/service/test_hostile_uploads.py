"""Hostile uploads: every one answers a clear 4xx JSON error, or is read exactly as documented.

Each rejection is checked to leave no dataset row and no file behind (on SQLite and, with
``WARMSTART_TEST_DATABASE_URL``, PostgreSQL).
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from service_testdata import classification_frame, to_csv, upload
from sqlalchemy import create_engine, func, select

from service.advisor import Advisor
from service.app import create_app
from service.config import Settings
from service.db.models import DatasetRow


def _dataset_rows(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(DatasetRow)) or 0)
    finally:
        engine.dispose()


def _left_files(settings: Settings) -> list[str]:
    root = settings.uploads_dir
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def _parquet(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def _arff(attributes: str, data: str) -> bytes:
    return f"@relation lying\n{attributes}\n@data\n{data}".encode()


_ARFF_ATTRIBUTES = "@attribute a NUMERIC\n@attribute b NUMERIC\n@attribute y {yes,no}"
_VALID_PARQUET = _parquet(pa.table({"a": [1.0, 2.0, 3.0], "y": ["x", "y", "x"]}))


def _corrupt_footer(data: bytes) -> bytes:
    # The footer (Thrift metadata) sits before its 4-byte length and the closing magic.
    cut = len(data) - 8
    return data[: cut - 40] + bytes(b ^ 0x5A for b in data[cut - 40 : cut]) + data[cut:]


HOSTILE = [
    # Ragged rows: more fields than the header is an error (fewer are missing values, below).
    pytest.param(b"a,b\n1,2\n3,4,5\n", 400, "expected 2 fields in line 3", id="csv-long-row"),
    pytest.param(b'a,b\n"1,2\n3,4\n', 400, "not a table", id="csv-unclosed-quote"),
    pytest.param(b"a,b,a\n1,2,3\n", 422, "'a'", id="csv-duplicate-names"),
    pytest.param(b"a,,c\n1,2,3\n", 422, "2 (counting from 1)", id="csv-empty-name"),
    pytest.param(b"a,b,\n1,2,\n", 422, "3 (counting from 1)", id="csv-trailing-delimiter"),
    pytest.param(b'" ",b\n1,2\n', 422, "without a name", id="csv-blank-name"),
    pytest.param(b"\xff\xfea\x00,\x00b\x00\n\x00", 400, "UTF-16", id="utf16"),
    pytest.param(b"BZh91AY&SY" + b"\x00" * 20, 415, "bzip2", id="bzip2"),
    pytest.param(b"\xfd7zXZ\x00" + b"\x00" * 20, 415, "xz", id="xz"),
    pytest.param(gzip.compress(gzip.compress(b"a,b\n1,2\n")), 415, "gzip inside", id="gzip-gzip"),
    pytest.param(b"\x1f\x8b\x08\x00garbage-not-deflate", 400, "gzip", id="gzip-broken"),
    pytest.param(gzip.compress(b"a,b\n1,2\n" * 100)[:-12], 400, "cut off", id="gzip-cut"),
    pytest.param(
        _arff(_ARFF_ATTRIBUTES, "1,2,yes\n3,4,no,5\n"), 400, "line", id="arff-extra-value"
    ),
    pytest.param(_arff(_ARFF_ATTRIBUTES, "1,2,yes\n3,4\n"), 400, "line", id="arff-missing-value"),
    pytest.param(
        _arff(_ARFF_ATTRIBUTES, "1,2,yes\n3,4,maybe\n"), 400, "maybe", id="arff-undeclared-nominal"
    ),
    pytest.param(
        _arff("@attribute a NUMERIC\n@attribute a NUMERIC", "1,2\n"),
        400,
        "already in use",
        id="arff-duplicate-attribute",
    ),
    pytest.param(
        _arff(_ARFF_ATTRIBUTES, "1,2,yes\n{9 1}\n"), 400, "not valid ARFF", id="arff-sparse-lie"
    ),
    pytest.param(_corrupt_footer(_VALID_PARQUET), 400, "Parquet", id="parquet-corrupt-footer"),
    pytest.param(_VALID_PARQUET[: len(_VALID_PARQUET) // 2], 400, "Parquet", id="parquet-cut"),
    pytest.param(
        _parquet(pa.table({"a": [[1, 2], [3]], "y": ["x", "y"]})), 422, "'a'", id="parquet-nested"
    ),
    pytest.param(
        _parquet(pa.table({"a": [b"\x00", b"\x01"], "y": ["x", "y"]})),
        422,
        "'a'",
        id="parquet-binary",
    ),
    pytest.param(
        _parquet(pa.table([pa.array([1, 2]), pa.array([3, 4])], names=["a", "a"])),
        422,
        "'a'",
        id="parquet-duplicate-names",
    ),
]


@pytest.mark.parametrize(("data", "status", "words"), HOSTILE)
def test_hostile_uploads_are_clear_4xx_and_leave_nothing(
    client: TestClient, settings: Settings, database_url: str, data: bytes, status: int, words: str
) -> None:
    response = client.post("/v1/datasets", files={"file": ("evil.csv", data)})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert words.lower() in response.json()["detail"].lower(), response.text
    assert _dataset_rows(database_url) == 0
    assert _left_files(settings) == []


@pytest.fixture
def small_client(
    make_settings: Callable[..., Settings], advisor: Advisor
) -> Iterator[tuple[TestClient, Settings]]:
    settings = make_settings(max_upload_bytes=100_000, max_upload_rows=10, max_upload_columns=20)
    with TestClient(create_app(settings, advisor=advisor)) as test_client:
        yield test_client, settings


def _table(n_rows: int, n_columns: int) -> pd.DataFrame:
    return pd.DataFrame(
        {f"c{j}": [float(i + j) for i in range(n_rows)] for j in range(n_columns - 1)}
        | {"y": [f"k{i % 2}" for i in range(n_rows)]}
    )


def test_row_and_column_limits_answer_413_naming_the_setting(
    small_client: tuple[TestClient, Settings], database_url: str, tmp_path: Path
) -> None:
    client, settings = small_client
    assert upload(client, to_csv(_table(10, 20)))["n_rows"] == 10  # exactly at both limits
    path = tmp_path / "t.parquet"
    over = [
        (to_csv(_table(11, 3)), "WARMSTART_MAX_UPLOAD_ROWS"),
        (to_csv(_table(3, 21)), "WARMSTART_MAX_UPLOAD_COLUMNS"),
        (gzip.compress(to_csv(_table(11, 3))), "WARMSTART_MAX_UPLOAD_ROWS"),
        (_arff("@attribute a NUMERIC\n@attribute y {p,q}", "1,p\n" * 11), "ROWS"),
    ]
    _table(11, 3).to_parquet(path)
    over.append((path.read_bytes(), "WARMSTART_MAX_UPLOAD_ROWS"))
    _table(3, 21).to_parquet(path)
    over.append((path.read_bytes(), "WARMSTART_MAX_UPLOAD_COLUMNS"))
    for data, setting in over:
        response = client.post("/v1/datasets", files={"file": ("big.csv", data)})
        assert response.status_code == 413, response.text
        assert setting in response.json()["detail"]
    assert _dataset_rows(database_url) == 1
    assert len(_left_files(settings)) == 1


def test_gzip_bomb_is_stopped_at_the_decompressed_limit(
    small_client: tuple[TestClient, Settings], database_url: str
) -> None:
    client, settings = small_client
    bomb = gzip.compress(b"a,b\n" + b"1,2\n" * 5_000_000, compresslevel=9)
    assert len(bomb) < 100_000  # small on the wire, 20 MB unpacked
    response = client.post("/v1/datasets", files={"file": ("bomb.csv.gz", bomb)})
    assert response.status_code == 413, response.text
    assert "decompresses to more than the limit of 100000 bytes" in response.json()["detail"]
    assert _dataset_rows(database_url) == 0
    assert _left_files(settings) == []


def test_gzip_is_stored_decompressed_and_is_the_same_dataset(
    client: TestClient, settings: Settings
) -> None:
    data = to_csv(classification_frame(seed=7))
    packed = upload(client, gzip.compress(data), "train.csv.gz")
    assert packed["file_format"] == "csv" and packed["name"] == "train"
    assert packed["size_bytes"] == len(data)
    assert (settings.uploads_dir / f"{packed['sha256']}.csv").read_bytes() == data
    response = client.post("/v1/datasets", files={"file": ("plain.csv", data)})
    assert response.status_code == 200 and response.json()["id"] == packed["id"]
    # Concatenated members (``cat a.gz b.gz``) are one stream.
    head, tail = data[:100], data[100:]
    joined = upload(client, gzip.compress(head) + gzip.compress(tail))
    assert joined["id"] == packed["id"]
    task = client.post("/v1/tasks", json={"dataset_id": packed["id"], "target": "label"})
    assert task.status_code == 201, task.text


def _columns(body: dict) -> dict[str, dict]:
    return {c["name"]: c for c in body["columns"]}


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_sniffed(client: TestClient, delimiter: str) -> None:
    rows = ["a,b;c|d\te", "1,5;2|x\t1", "2,5;3|y\t0", "3,5;4|x\t1"]
    # Only the chosen delimiter splits consistently; the others appear inside the values.
    text = "\n".join(delimiter.join(f'"{cell}"' for cell in row.split(delimiter)) for row in rows)
    body = upload(client, text.encode(), f"d{ord(delimiter)}.txt")
    assert body["n_columns"] == len(rows[0].split(delimiter))


def test_quotes_bom_and_short_rows(client: TestClient) -> None:
    data = (
        '\ufeffname,"say ""hi""",y\n"Smith, J","line one\nline two",a\nDoe,plain,b\nRoe\n'
    ).encode()
    body = upload(client, data)
    assert [c["name"] for c in body["columns"]] == ["name", 'say "hi"', "y"]
    assert body["n_rows"] == 3
    assert _columns(body)["y"]["n_missing"] == 1  # a short row's missing fields are missing


def test_formula_cells_are_plain_strings(client: TestClient, settings: Settings) -> None:
    formula = "=cmd|' /C calc'!A0"
    data = f'"=SUM(A1:A9)",y\n"{formula}",a\n"+1+1",b\n"@x",a\n'.encode()
    body = upload(client, data)
    assert _columns(body)["=SUM(A1:A9)"]["dtype"] == "categorical"
    stored = settings.uploads_dir / f"{body['sha256']}.csv"
    assert stored.read_bytes() == data  # stored as sent; nothing is evaluated or rewritten

    from service.tables import read_table

    frame, _ = read_table(stored)
    assert frame["=SUM(A1:A9)"].tolist() == [formula, "+1+1", "@x"]


def test_nan_and_inf_strings_are_missing(client: TestClient, tmp_path: Path) -> None:
    data = b"x,z,y\n1,NaN,a\ninf,2,b\n-inf,nan,a\nInfinity,N/A,b\n5,,a\n1e999,3,b\n"
    body = upload(client, data)
    columns = _columns(body)
    assert columns["x"] == {"name": "x", "dtype": "numeric", "n_missing": 4}
    assert columns["z"] == {"name": "z", "dtype": "numeric", "n_missing": 4}
    path = tmp_path / "inf.parquet"
    pd.DataFrame({"x": [1.0, float("inf"), float("nan")], "y": ["a", "b", "a"]}).to_parquet(path)
    assert _columns(upload(client, path.read_bytes()))["x"]["n_missing"] == 2


def test_ten_thousand_columns_work_and_one_more_is_413(
    client: TestClient, settings: Settings, database_url: str
) -> None:
    assert settings.max_upload_columns == 10_000
    ok = to_csv(_table(3, 10_000))
    body = upload(client, ok)
    assert body["n_columns"] == 10_000 and len(body["columns"]) == 10_000
    assert client.get(f"/v1/datasets/{body['id']}").json()["n_columns"] == 10_000
    response = client.post("/v1/datasets", files={"file": ("wide.csv", to_csv(_table(3, 10_001)))})
    assert response.status_code == 413
    assert "10000" in response.json()["detail"]
    assert _dataset_rows(database_url) == 1
    assert len(_left_files(settings)) == 1
