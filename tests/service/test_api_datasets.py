"""POST /v1/datasets: formats, deduplication, and every kind of bad upload (never a 500)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import arff
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


def _stored_files(settings: Settings) -> list[str]:
    root = settings.uploads_dir
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_csv_upload_describes_the_table(client: TestClient) -> None:
    frame = classification_frame()
    frame.loc[3, "f2"] = None
    response = client.post(
        "/v1/datasets", files={"file": ("iris.csv", to_csv(frame))}, data={"name": "my data"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "my data"
    assert (body["n_rows"], body["n_columns"]) == (60, 5)
    assert len(body["sha256"]) == 64 and body["file_format"] == "csv"
    columns = {c["name"]: c for c in body["columns"]}
    assert columns["f2"] == {"name": "f2", "dtype": "numeric", "n_missing": 1}
    assert columns["colour"]["dtype"] == "categorical"
    assert client.get(f"/v1/datasets/{body['id']}").json()["sha256"] == body["sha256"]


def test_same_bytes_again_return_the_existing_dataset(client: TestClient) -> None:
    data = to_csv(classification_frame(seed=1))
    first = client.post("/v1/datasets", files={"file": ("a.csv", data)})
    second = client.post("/v1/datasets", files={"file": ("renamed.csv", data)})
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]


def test_parquet_and_arff_are_read(client: TestClient, tmp_path: Path) -> None:
    frame = classification_frame(seed=2)
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    parquet = upload(client, path.read_bytes(), "t.parquet")
    assert parquet["file_format"] == "parquet" and parquet["n_rows"] == 60

    text = arff.dumps(
        {
            "relation": "tiny",
            "attributes": [
                ("x", "NUMERIC"),
                ("colour", ["red", "green", "blue"]),
                ("label", ["c0", "c1"]),
            ],
            "data": [[float(i), ["red", "green", "blue"][i % 3], f"c{i % 2}"] for i in range(20)],
        }
    )
    body = upload(client, text.encode(), "tiny.arff")
    assert body["file_format"] == "arff" and body["n_columns"] == 3
    assert {c["name"]: c["dtype"] for c in body["columns"]}["colour"] == "categorical"


def test_semicolon_csv_with_an_all_missing_column_is_accepted(client: TestClient) -> None:
    data = b"a;b;empty;y\n1;2;;x\n3;4;;z\n5;6;;x\n"
    body = upload(client, data)
    assert body["n_columns"] == 4
    assert {c["name"]: c["n_missing"] for c in body["columns"]}["empty"] == 3


BAD_UPLOADS = [
    pytest.param(b"", 400, "empty", id="empty-file"),
    pytest.param(b"  \n\n", 400, "empty", id="blank-file"),
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 415, "PNG", id="not-a-table-png"),
    pytest.param(b"PK\x03\x04" + b"\x00" * 40, 415, "ZIP", id="not-a-table-zip"),
    pytest.param(b"a,b\n1,2\n3,4,5,6\n", 400, "not a table", id="ragged-rows"),
    pytest.param("ä,ö\n1,2\n".encode("latin-1"), 400, "UTF-8", id="non-utf8"),
    pytest.param(b"only\n1\n2\n3\n", 400, "1 column", id="one-column"),
    pytest.param(b"a,b\n", 400, "no data rows", id="header-only"),
    pytest.param(b"PAR1 this is not parquet", 400, "Parquet", id="broken-parquet"),
    pytest.param(
        b"@relation x\n@attribute a NUMERIC\n@data\n1,2,3\n", 400, "ARFF", id="broken-arff"
    ),
]


@pytest.mark.parametrize(("data", "status", "words"), BAD_UPLOADS)
def test_bad_uploads_are_clear_4xx_and_leave_nothing(
    client: TestClient, settings: Settings, database_url: str, data: bytes, status: int, words: str
) -> None:
    response = client.post("/v1/datasets", files={"file": ("bad.csv", data)})
    assert response.status_code == status, response.text
    assert words.lower() in response.json()["detail"].lower()
    assert _dataset_rows(database_url) == 0
    assert _stored_files(settings) == []


def test_oversize_upload_is_413_with_a_configurable_limit(
    make_settings: Callable[..., Settings], advisor: Advisor, database_url: str
) -> None:
    settings = make_settings(max_upload_bytes=2_000)
    small = to_csv(classification_frame(n_rows=20, seed=3))
    assert len(small) < 2_000
    big = to_csv(classification_frame(n_rows=400, seed=3))
    with TestClient(create_app(settings, advisor=advisor)) as client:
        assert client.post("/v1/datasets", files={"file": ("s.csv", small)}).status_code == 201
        response = client.post("/v1/datasets", files={"file": ("b.csv", big)})
        assert response.status_code == 413
        assert "2000 bytes" in response.json()["detail"]
        # Just over the file limit but under the multipart allowance: caught while streaming.
        near = small + b"x" * (2_001 - len(small))
        response = client.post("/v1/datasets", files={"file": ("n.csv", near)})
        assert response.status_code == 413
        # Chunked body without Content-Length.
        response = client.post(
            "/v1/datasets",
            content=iter([b"--b\r\n", b"x" * 200_000]),
            headers={"content-type": "multipart/form-data; boundary=b"},
        )
        assert response.status_code == 413
    assert _dataset_rows(database_url) == 1
    assert len(_stored_files(settings)) == 1


def test_missing_file_field_is_422(client: TestClient) -> None:
    response = client.post("/v1/datasets", data={"name": "x"})
    assert response.status_code == 422
    assert "detail" in response.json()


def test_unknown_dataset_is_404(client: TestClient) -> None:
    response = client.get("/v1/datasets/9999")
    assert response.status_code == 404
    assert response.json() == {"detail": "dataset 9999 not found"}


def test_lost_file_is_restored_by_uploading_again(client: TestClient, settings: Settings) -> None:
    data = to_csv(classification_frame(seed=4))
    body = upload(client, data)
    stored = settings.uploads_dir / f"{body['sha256']}.csv"
    stored.unlink()
    again = client.post("/v1/datasets", files={"file": ("a.csv", io.BytesIO(data))})
    assert again.status_code == 200 and stored.read_bytes() == data
