"""Reading uploaded tables (CSV, Parquet, ARFF) into DataFrames, with errors a person can act on.

The format is recognised from the content (Parquet's magic bytes, ARFF's ``@relation`` header), not
from the file name, so a renamed file still reads. Text formats must be UTF-8 (a UTF-8 byte order
mark is dropped). Gzip is undone before a file gets here (see :mod:`service.filestore`).

Every reader ends in the same checks, so all formats follow one set of rules: at most
``TableLimits`` rows and columns, every column named and no name twice (rejected, never renamed:
the names the caller sees are the names in their file), no nested Parquet types, and infinite
numbers read as missing values. Cells are data only: nothing in a file is ever evaluated, and a
cell such as ``=cmd|' /C calc'!A0`` stays that string.
"""

from __future__ import annotations

import csv
import io
import itertools
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import arff
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from service.errors import (
    InvalidTableError,
    InvalidUploadError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)

__all__ = ["FORMATS", "TableLimits", "describe_columns", "detect_format", "read_table"]

FORMATS = ("csv", "parquet", "arff")
DELIMITERS = (",", ";", "\t", "|")
_PARQUET_MAGIC = b"PAR1"
_BINARY_MAGICS = {
    b"PK\x03\x04": "a ZIP archive (xlsx, zip); gzip is the one compression read",
    b"\x1f\x8b": "gzip inside gzip; compress once",
    b"BZh": "a bzip2 file; gzip is the one compression read",
    b"\xfd7zXZ\x00": "an xz file; gzip is the one compression read",
    b"\x28\xb5\x2f\xfd": "a zstd file; gzip is the one compression read",
    b"\x89PNG": "a PNG image",
    b"%PDF": "a PDF document",
    b"\xd0\xcf\x11\xe0": "an old Office document (xls)",
    b"\x7fELF": "an executable",
}
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_SNIFF_BYTES = 64 * 1024
_SNIFF_ROWS = 50
_MAX_SNIFF_CHARS = 4 * 1024 * 1024
_NAMES_SHOWN = 5


@dataclass(frozen=True)
class TableLimits:
    """The largest table accepted at upload (``WARMSTART_MAX_UPLOAD_ROWS`` / ``_COLUMNS``)."""

    max_rows: int
    max_columns: int
    #: Bound on what a compressed Parquet file may expand to, from its own metadata.
    max_bytes: int


def detect_format(head: bytes) -> str:
    """``csv``, ``parquet`` or ``arff`` from the first bytes of a file.

    Raises:
        InvalidUploadError: the file is empty, or UTF-16 text.
        UnsupportedMediaTypeError: a known binary format that is not Parquet, or other binary data.
    """
    if not head.strip():
        raise InvalidUploadError("the file is empty")
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    for magic, what in _BINARY_MAGICS.items():
        if head.startswith(magic):
            raise UnsupportedMediaTypeError(f"the file is {what}; upload CSV, Parquet or ARFF")
    if head.startswith(_UTF16_BOMS):
        raise InvalidUploadError("the file is UTF-16 text, not UTF-8; save it as UTF-8")
    if b"\x00" in head:
        raise UnsupportedMediaTypeError("the file is binary data, not CSV, Parquet or ARFF")
    for line in head.decode("utf-8", errors="replace").lstrip("\ufeff").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("%"):
            continue
        return "arff" if stripped.lower().startswith("@relation") else "csv"
    return "csv"


def read_table(path: Path, *, limits: TableLimits | None = None) -> tuple[pd.DataFrame, str]:
    """The table stored at ``path`` and its format.

    The result has at least one row and two columns (features and a target), unique non-empty
    column names, and no infinite numbers (they are read as missing). ``limits`` (checked at
    upload; files already stored are read without them) bound rows and columns.

    Raises:
        InvalidUploadError: empty, not UTF-8, malformed, or fewer than 2 columns / 1 row (400).
        InvalidTableError: duplicate or empty column names, nested Parquet columns (422).
        PayloadTooLargeError: more rows or columns than ``limits`` allow (413).
        UnsupportedMediaTypeError: not CSV, Parquet or ARFF (415).
    """
    with path.open("rb") as f:
        head = f.read(_SNIFF_BYTES)
    file_format = detect_format(head)
    if file_format == "parquet":
        frame = _read_parquet(path, limits)
    else:
        text = _decode(path.read_bytes())
        frame = _read_arff(text) if file_format == "arff" else _read_csv(text, limits)
    _check_limits(frame.shape[0], frame.shape[1], limits)
    _check_shape(frame)
    _check_names([str(c) for c in frame.columns])
    return _infinite_as_missing(frame), file_format


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InvalidUploadError(
            f"the file is not UTF-8 text (invalid byte 0x{data[e.start]:02x} at offset {e.start}); "
            "save it as UTF-8"
        ) from None


def _sniff_delimiter(text: str) -> str:
    """The delimiter among :data:`DELIMITERS` that splits the first rows most consistently.

    Each candidate parses the first rows (quotes respected); the one whose rows most often have
    the header's field count wins, then the one with more fields, then the earlier in the list.
    A header that no candidate splits means a one-column file: ``,``.
    """
    sample = text[:_MAX_SNIFF_CHARS]
    best: tuple[float, int, int] = (0.0, 1, 0)
    chosen = ","
    for rank, delimiter in enumerate(DELIMITERS):
        reader = csv.reader(io.StringIO(sample), delimiter=delimiter)
        try:
            rows = [row for row in itertools.islice(reader, _SNIFF_ROWS + 1) if row]
        except csv.Error:
            continue
        if len(sample) < len(text) and len(rows) > 1:
            rows = rows[:-1]  # the last row may be cut off by the sample
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        consistency = sum(len(row) == width for row in rows) / len(rows)
        score = (consistency, width, -rank)
        if score > best:
            best, chosen = score, delimiter
    return chosen


def _read_csv(text: str, limits: TableLimits | None) -> pd.DataFrame:
    delimiter = _sniff_delimiter(text)
    try:
        reader = csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True)
        header = next((row for row in reader if row), None)
    except csv.Error as e:
        raise InvalidUploadError(f"the file is not a table: the header row: {e}") from None
    if header is None:
        raise InvalidUploadError("the file has no columns")
    # Before pandas: it would parse a huge header in full, and rename duplicates silently.
    _check_limits(0, len(header), limits)
    if len(header) >= 2:
        _check_names(header)
    try:
        with warnings.catch_warnings():
            # More fields in a row than in the header would otherwise be dropped silently.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO(text),
                sep=delimiter,
                skipinitialspace=True,
                index_col=False,
                nrows=None if limits is None else limits.max_rows + 1,
            )
    except pd.errors.EmptyDataError:
        raise InvalidUploadError("the file has no columns") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError, csv.Error) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InvalidUploadError(f"the file is not a table: {first}") from None
    if frame.shape[1] == len(header):
        frame.columns = pd.Index(header)  # the names exactly as written, whatever pandas made
    return frame


def _read_arff(text: str) -> pd.DataFrame:
    try:
        decoded = arff.loads(text)
        names = [str(name) for name, _ in decoded["attributes"]]
        frame = pd.DataFrame(decoded["data"], columns=names)
    # liac-arff raises more than its own errors on hostile input (TypeError, KeyError, ...);
    # whatever it raises, the file is the problem, not the service.
    except Exception as e:
        raise InvalidUploadError(f"the file is not valid ARFF: {e}") from None
    for name, kind in decoded["attributes"]:
        if isinstance(kind, list):  # nominal attribute
            frame[name] = frame[name].astype("category")
        elif str(kind).upper() in {"NUMERIC", "REAL", "INTEGER"}:
            frame[name] = pd.to_numeric(frame[name], errors="coerce")
    return frame


def _is_flat(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        return _is_flat(kind.value_type)
    return bool(
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_string_view(kind)
        or pa.types.is_temporal(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_null(kind)
    )


def _read_parquet(path: Path, limits: TableLimits | None) -> pd.DataFrame:
    # pyarrow raises ArrowException, OSError, ValueError, but also KeyError/TypeError from
    # pandas metadata that lies: any error here means the file is broken.
    try:
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
        metadata = parquet.metadata
    except Exception as e:
        raise InvalidUploadError(f"the file is not valid Parquet: {e}") from None
    with parquet:
        _check_limits(metadata.num_rows, len(schema), limits)
        nested = [f"{field.name!r} ({field.type})" for field in schema if not _is_flat(field.type)]
        if nested:
            raise InvalidTableError(
                "columns must hold numbers, strings, booleans or dates; these do not: "
                + _shown(nested)
            )
        if limits is not None:
            expanded = sum(
                metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups)
            )
            if expanded > limits.max_bytes:
                raise PayloadTooLargeError(
                    f"the Parquet file expands to {expanded} bytes, more than the limit of "
                    f"{limits.max_bytes} bytes (WARMSTART_MAX_UPLOAD_BYTES)"
                )
        try:
            return parquet.read().to_pandas()
        except Exception as e:
            raise InvalidUploadError(f"the file is not valid Parquet: {e}") from None


def _shown(items: list[str]) -> str:
    more = len(items) - _NAMES_SHOWN
    return ", ".join(items[:_NAMES_SHOWN]) + (f" and {more} more" if more > 0 else "")


def _check_limits(n_rows: int, n_columns: int, limits: TableLimits | None) -> None:
    if limits is None:
        return
    if n_columns > limits.max_columns:
        raise PayloadTooLargeError(
            f"the table has {n_columns} columns, more than the limit of {limits.max_columns} "
            "(WARMSTART_MAX_UPLOAD_COLUMNS)"
        )
    if n_rows > limits.max_rows:
        raise PayloadTooLargeError(
            f"the table has more than the limit of {limits.max_rows} rows "
            "(WARMSTART_MAX_UPLOAD_ROWS)"
        )


def _check_names(names: list[str]) -> None:
    empty = [str(i + 1) for i, name in enumerate(names) if not name.strip()]
    if empty:
        raise InvalidTableError(
            f"the header row leaves columns without a name: {_shown(empty)} (counting from 1); "
            "name every column"
        )
    counts = Counter(names)
    duplicates = [repr(name) for name, count in counts.items() if count > 1]
    if duplicates:
        raise InvalidTableError(
            f"the header row names these columns more than once: {_shown(duplicates)}; "
            "column names must be unique"
        )


def _check_shape(frame: pd.DataFrame) -> None:
    if frame.shape[1] < 2:
        raise InvalidUploadError(
            f"the table has {frame.shape[1]} column; a dataset needs at least one feature column "
            "and a target column (is the delimiter , ; tab or |?)"
        )
    if frame.shape[0] < 1:
        raise InvalidUploadError("the table has a header but no data rows")


def _infinite_as_missing(frame: pd.DataFrame) -> pd.DataFrame:
    floats = [name for name in frame.columns if pd.api.types.is_float_dtype(frame[name])]
    for name in floats:
        values = frame[name]
        if np.isinf(values.to_numpy(dtype=float, na_value=np.nan)).any():
            frame[name] = values.mask(np.isinf(values.to_numpy(dtype=float, na_value=np.nan)))
    return frame


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
