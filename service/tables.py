"""Reading uploaded tables (CSV, Parquet, ARFF) into DataFrames, with errors a person can act on.

The format is recognised from the content (Parquet's magic bytes, ARFF's ``@relation`` header), not
from the file name, so a renamed file still reads. Text formats must be UTF-8.
"""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path

import arff
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from service.errors import InvalidUploadError, UnsupportedMediaTypeError

__all__ = ["FORMATS", "describe_columns", "detect_format", "read_table"]

FORMATS = ("csv", "parquet", "arff")
_PARQUET_MAGIC = b"PAR1"
_BINARY_MAGICS = {
    b"PK\x03\x04": "a ZIP archive (xlsx, zip)",
    b"\x1f\x8b": "a gzip file",
    b"\x89PNG": "a PNG image",
    b"%PDF": "a PDF document",
    b"\xd0\xcf\x11\xe0": "an old Office document (xls)",
    b"\x7fELF": "an executable",
}
_SNIFF_BYTES = 64 * 1024


def detect_format(head: bytes) -> str:
    """``csv``, ``parquet`` or ``arff`` from the first bytes of a file.

    Raises:
        InvalidUploadError: the file is empty.
        UnsupportedMediaTypeError: a known binary format that is not Parquet, or other binary data.
    """
    if not head.strip():
        raise InvalidUploadError("the file is empty")
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    for magic, what in _BINARY_MAGICS.items():
        if head.startswith(magic):
            raise UnsupportedMediaTypeError(f"the file is {what}; upload CSV, Parquet or ARFF")
    if b"\x00" in head:
        raise UnsupportedMediaTypeError("the file is binary data, not CSV, Parquet or ARFF")
    for line in head.decode("utf-8", errors="replace").lstrip("\ufeff").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("%"):
            continue
        return "arff" if stripped.lower().startswith("@relation") else "csv"
    return "csv"


def read_table(path: Path) -> tuple[pd.DataFrame, str]:
    """The table stored at ``path`` and its format.

    The result has at least one row and two columns (features and a target).

    Raises:
        InvalidUploadError: empty, not UTF-8, malformed, or fewer than 2 columns / 1 row.
        UnsupportedMediaTypeError: not CSV, Parquet or ARFF.
    """
    with path.open("rb") as f:
        head = f.read(_SNIFF_BYTES)
    file_format = detect_format(head)
    if file_format == "parquet":
        frame = _read_parquet(path)
    else:
        text = _decode(path.read_bytes())
        frame = _read_arff(text) if file_format == "arff" else _read_csv(text)
    _check_shape(frame)
    return frame, file_format


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InvalidUploadError(
            f"the file is not UTF-8 text (invalid byte 0x{data[e.start]:02x} at offset {e.start}); "
            "save it as UTF-8"
        ) from None


def _read_csv(text: str) -> pd.DataFrame:
    sample = text[:_SNIFF_BYTES]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    try:
        with warnings.catch_warnings():
            # More fields in a row than in the header would otherwise be dropped silently.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(
                io.StringIO(text), sep=delimiter, skipinitialspace=True, index_col=False
            )
    except pd.errors.EmptyDataError:
        raise InvalidUploadError("the file has no columns") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InvalidUploadError(f"the file is not a table: {first}") from None


def _read_arff(text: str) -> pd.DataFrame:
    try:
        decoded = arff.loads(text)
    except (arff.ArffException, ValueError, IndexError) as e:
        raise InvalidUploadError(f"the file is not valid ARFF: {e}") from None
    names = [str(name) for name, _ in decoded["attributes"]]
    frame = pd.DataFrame(decoded["data"], columns=names)
    for name, kind in decoded["attributes"]:
        if isinstance(kind, list):  # nominal attribute
            frame[name] = frame[name].astype("category")
        elif str(kind).upper() in {"NUMERIC", "REAL", "INTEGER"}:
            frame[name] = pd.to_numeric(frame[name], errors="coerce")
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError, ValueError) as e:
        raise InvalidUploadError(f"the file is not valid Parquet: {e}") from None


def _check_shape(frame: pd.DataFrame) -> None:
    if frame.shape[1] < 2:
        raise InvalidUploadError(
            f"the table has {frame.shape[1]} column; a dataset needs at least one feature column "
            "and a target column (is the delimiter , ; tab or |?)"
        )
    if frame.shape[0] < 1:
        raise InvalidUploadError("the table has a header but no data rows")
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        raise InvalidUploadError("the table has duplicate column names")


def column_kind(series: pd.Series) -> str:
    """``boolean``, ``numeric``, ``datetime`` or ``categorical``."""
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    return "categorical"


def describe_columns(frame: pd.DataFrame) -> list[dict[str, str | int]]:
    """``[{name, dtype, n_missing}]`` of every column, in order."""
    return [
        {
            "name": str(name),
            "dtype": column_kind(frame[name]),
            "n_missing": int(frame[name].isna().sum()),
        }
        for name in frame.columns
    ]
