"""Bring-your-own results: CSV or Parquet files with an architecture column and metric columns,
plus the ``nb201-merged`` preset for the shared ``nb201_merged.csv``.

Metric mapping syntax (``--metric``, repeatable)::

    COLUMN:accuracy:DATASET:SPLIT:EPOCHS     e.g. c10_test:accuracy:cifar10:test:200
    COLUMN:latency:DEVICE[:DATASET]          e.g. lat_pixel3:latency:pixel3:cifar10
    COLUMN:params[:DATASET]                  e.g. params_M:params:cifar10
    COLUMN=METRIC-KEY                        e.g. c10_test=accuracy/cifar10/test/200ep

Any form may end with ``[UNIT]`` (``lat:latency:pixel3[s]``). Other kinds (loss, train_time, ...)
use the accuracy form. Rows naming the same cell twice are averaged and kept as repeats.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasviz.data.importers.common import MISSING_TEXTS, Accumulator, check_exists, parse_cell_id, provenance_entry
from nasviz.data.metrics import DEVICE_KINDS, SIZE_KINDS, MetricSpec, parse_key
from nasviz.data.table import BenchmarkTable
from nasviz.errors import ConfigError, DataError
from nasviz.fileio import MAX_CSV_BYTES, MAX_DECODED_BYTES, MAX_ROWS, check_file_size, read_bytes_capped
from nasviz.progress import ProgressCallback, no_progress
from nasviz.spaces.nb201 import NUM_CELLS

_UNIT_RE = re.compile(r"^(.*)\[([^\]]*)\]$")


def parse_metric_mapping(text: str, source: str = "") -> tuple[str, MetricSpec]:
    """``(column, MetricSpec)`` from one ``--metric`` value (see the module docstring)."""
    raw = text.strip()
    unit = ""
    match = _UNIT_RE.match(raw)
    if match:
        raw, unit = match.group(1), match.group(2)
    try:
        if "=" in raw:
            column, key = raw.split("=", 1)
            spec = parse_key(key)
        else:
            parts = raw.split(":")
            if len(parts) < 2 or not parts[0]:
                raise ConfigError("expected COLUMN:KIND[:...] or COLUMN=METRIC-KEY")
            column, kind, rest = parts[0], parts[1].strip().lower(), [p.strip() for p in parts[2:]]
            if kind in DEVICE_KINDS:
                if not 1 <= len(rest) <= 2:
                    raise ConfigError(f"expected COLUMN:{kind}:DEVICE[:DATASET]")
                spec = MetricSpec(kind, device=rest[0], dataset=rest[1] if len(rest) > 1 else None)
            elif kind in SIZE_KINDS:
                if len(rest) > 1:
                    raise ConfigError(f"expected COLUMN:{kind}[:DATASET]")
                spec = MetricSpec(kind, dataset=rest[0] if rest else None)
            else:
                if len(rest) > 3:
                    raise ConfigError(f"expected COLUMN:{kind}:DATASET:SPLIT:EPOCHS")
                epochs_text = rest[2].lower().removesuffix("ep") if len(rest) > 2 and rest[2] else None
                if epochs_text is not None and not epochs_text.isdigit():
                    raise ConfigError(f"epochs must be a whole number, got {rest[2]!r}")
                spec = MetricSpec(kind, dataset=rest[0] if rest else None, split=rest[1] if len(rest) > 1 else None,
                                  epochs=int(epochs_text) if epochs_text else None)
    except ConfigError as exc:
        raise ConfigError(f"bad --metric {text!r}: {exc}") from None
    spec = MetricSpec(spec.kind, spec.dataset, spec.split, spec.epochs, unit=unit, source=source, device=spec.device)
    return column.strip(), spec


_LINES = "nasviz_lines"  # frame.attrs key: the file line of each data row (for messages)


def _csv_text(path: Path) -> str:
    data = read_bytes_capped(path, MAX_CSV_BYTES, "CSV file")
    if b"\x00" in data[:4096]:
        raise DataError(f"{path}: not a text CSV file (binary content); expected CSV with a header row")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text CSV file (binary content); expected CSV with a header row") from None


def scan_csv(text: str, path: Path) -> list[int]:
    """The line number of each data row of CSV ``text``, refusing a truncated or ragged file before anything is
    imported: a last line without its newline (a file cut inside a value), or a row whose field count differs from
    the header's (a short last row, missing or extra fields). Blank lines are skipped, as pandas does."""
    if not text.strip():
        raise DataError(f"{path}: empty file; expected CSV with a header row")
    if not text.endswith(("\n", "\r")):
        last = text.count("\n") + 1
        raise DataError(f"{path}: line {last}: the file does not end with a newline, so its last line may be cut "
                        "short (a truncated copy?); re-copy the complete file, or add the final newline if it is "
                        "complete")
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    lines: list[int] = []
    try:
        header = next(reader)
        width = len(header)
        for record in reader:
            if not record:
                continue
            if len(record) != width:
                kind = "short" if len(record) < width else "long"
                raise DataError(f"{path}: line {reader.line_num}: {len(record)} field(s) where the header has "
                                f"{width}: a {kind} row (truncated or ragged file); nothing was imported")
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise DataError(f"{path}: line {reader.line_num}: malformed CSV ({exc})") from None
    return lines


def read_frame(path: Path):
    """A CSV or Parquet file as a pandas DataFrame of strings/numbers (DataError naming the file). CSVs are
    size-capped and refused when truncated or ragged (see :func:`scan_csv`); ``frame.attrs["nasviz_lines"]`` holds
    the file line of each row."""
    import pandas as pd

    path = check_exists(path)
    if path.is_dir():
        raise DataError(f"{path}: a folder, not a CSV or Parquet file")
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        import pyarrow as pa
        import pyarrow.parquet as pq

        check_file_size(path, MAX_CSV_BYTES, "Parquet file")
        try:
            meta = pq.ParquetFile(path).metadata
            decoded = max(sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)),
                          8 * meta.num_rows * meta.num_columns)  # dictionary/RLE pages decode to >= 8 B a value
            if decoded > MAX_DECODED_BYTES or meta.num_rows > MAX_ROWS:
                raise DataError(f"{path}: {meta.num_rows:,} rows, {decoded / 2**20:,.0f} MB once decoded: more than "
                                f"the limits ({MAX_ROWS:,} rows, {MAX_DECODED_BYTES / 2**20:,.0f} MB); refused before "
                                "reading it")
            frame = pq.read_table(path).to_pandas()
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
        if frame.empty:
            raise DataError(f"{path}: no data rows")
        frame.attrs[_LINES] = list(range(1, len(frame) + 1))  # Parquet rows are numbered from 1
        return frame
    text = _csv_text(path)
    lines = scan_csv(text, path)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: empty file; expected CSV with a header row") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: malformed CSV ({str(exc).strip()})") from None
    if frame.empty:
        raise DataError(f"{path}: no data rows")
    if len(frame) != len(lines):
        raise DataError(f"{path}: {len(frame)} rows read but {len(lines)} rows counted: malformed CSV (quoting?)")
    frame.attrs[_LINES] = lines
    return frame


def _line(frame, row: int) -> int:
    lines = frame.attrs.get(_LINES)
    return int(lines[row]) if lines is not None and row < len(lines) else row + 2


def _numeric_column(frame, column: str, path: Path, required: bool = False) -> np.ndarray:
    """A float column; blank/NaN cells are NaN ("not measured") unless ``required``; text that is not a number and
    infinite values (``inf``, ``1e400``) are refused with the file, line and column."""
    import pandas as pd

    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    if raw.dtype == object or str(raw.dtype).startswith(("str", "string")):
        text = raw.astype(str).str.strip().str.lower()
        blank = text.isin(list(MISSING_TEXTS)).to_numpy()
        bad = np.flatnonzero(np.isnan(values) & (~blank | required))
        if len(bad):
            row = int(bad[0])
            what = "an empty value (this file has every value)" if blank[row] else "not a number"
            raise DataError(f"{path}: line {_line(frame, row)}, column {column!r}: {raw.iloc[row]!r} is {what}")
    elif required and np.isnan(values).any():
        row = int(np.flatnonzero(np.isnan(values))[0])
        raise DataError(f"{path}: line {_line(frame, row)}, column {column!r}: missing value (this file has every value)")
    infinite = np.flatnonzero(np.isinf(values))
    if len(infinite):
        row = int(infinite[0])
        raise DataError(f"{path}: line {_line(frame, row)}, column {column!r}: {raw.iloc[row]!r} is not a finite "
                        "number; a metric must be finite (leave the cell empty when it was not measured)")
    return values


def parse_id_column(space_obj: Any, values: list[Any], path: Path, column: str,
                    progress: ProgressCallback = no_progress, lines: Sequence[int] | None = None) -> list[str]:
    """Canonical ids of an architecture column (identical raw values are parsed once); ``lines``: the file line
    of each value (for messages)."""
    seen: dict[Any, str] = {}
    ids = []
    total = len(values)
    for i, raw in enumerate(values):
        key = raw if isinstance(raw, (str, int, float)) else repr(raw)
        cell_id = seen.get(key)
        if cell_id is None:
            line = lines[i] if lines is not None else i + 2
            cell_id = parse_cell_id(space_obj, raw, f"{path}: line {line}, column {column!r}")
            seen[key] = cell_id
        ids.append(cell_id)
        if i % 2000 == 0:
            progress(i, total, path.name)
    progress(total, total, path.name)
    return ids


def _require_columns(frame, columns: Sequence[str], path: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(repr(c) for c in missing)}; "
                        f"the file has: {', '.join(map(str, frame.columns))}")


def import_tabular(paths: Sequence[Path], progress: ProgressCallback = no_progress, *, space: str | None = None,
                   arch_col: str | None = None, metrics: Sequence[str] = (), importer: str = "csv",
                   notes: str = "", **_: Any) -> BenchmarkTable:
    """Generic CSV/Parquet import (``nasviz data import csv|parquet PATH --space S --arch-col C --metric ...``)."""
    from nasviz.spaces import get_space

    if not space:
        raise ConfigError("--space is required for a generic import (nb201, nb101, darts, nat)")
    if not arch_col:
        raise ConfigError("--arch-col is required: the column holding the architecture (string, index or JSON)")
    if not metrics:
        raise ConfigError("at least one --metric COLUMN:KIND:... mapping is required")
    space_obj = get_space(space)
    mappings = [parse_metric_mapping(m) for m in metrics]
    specs = [spec for _, spec in mappings]
    if len({s.key for s in specs}) != len(specs):
        raise ConfigError("two --metric mappings give the same metric key")
    acc = Accumulator(space_obj.name, [])
    all_specs: list[MetricSpec] = []
    for path in paths:
        path = Path(path)
        frame = read_frame(path)
        _require_columns(frame, [arch_col] + [c for c, _ in mappings], path)
        file_specs = [s.with_source(s.source or f"{importer} import of {path.name}, column {c}") for c, s in mappings]
        columns = {s.key: _numeric_column(frame, c, path) for (c, _), s in zip(mappings, file_specs, strict=True)}
        ids = parse_id_column(space_obj, frame[arch_col].tolist(), path, arch_col, progress,
                              frame.attrs.get(_LINES))
        acc.add_rows(ids, columns)
        if not all_specs:
            all_specs = file_specs
    acc.metrics = all_specs
    note = notes
    if acc.repeated_cells:
        note = (note + "; " if note else "") + f"{acc.repeated_cells} cells appear more than once: values averaged"
    entry = provenance_entry(importer, list(paths), all_specs, len(acc), notes=note)
    return acc.table(entry)


# ---- the nb201_merged.csv preset ---------------------------------------------------------------

_NATS_200 = ("NATS-Bench tss get_more_info(hp='200', is_random=False) test accuracy, mean over seeds "
             "(via v-tao/nats-bench-landscape nats_bench.csv)")
_MINI_12 = ("mini-NAS-Bench-201 (BayesWatch) = NB201 v1_1 query_by_index hp='12': final (12th) epoch, mean over seeds")
_HELP = "HELP (HayeonLee/HELP data/nasbench201/latency/{device}.pt), ms per forward pass"

#: column -> (metric, source note)
NB201_MERGED_COLUMNS: dict[str, tuple[MetricSpec, str]] = {
    "c10_test_200ep": (MetricSpec("accuracy", "cifar10", "test", 200), _NATS_200 + "; trained on train+valid, ori-test"),
    "c100_test_200ep": (MetricSpec("accuracy", "cifar100", "test", 200), _NATS_200 + "; x-test split"),
    "in16_test_200ep": (MetricSpec("accuracy", "ImageNet16-120", "test", 200), _NATS_200 + "; x-test split"),
    "cifar10_test_12ep": (MetricSpec("accuracy", "cifar10", "test", 12), _MINI_12 + "; cifar10 ori-test"),
    "cifar10_val_12ep": (MetricSpec("accuracy", "cifar10", "valid", 12), _MINI_12 + "; cifar10-valid x-valid"),
    "cifar100_test_12ep": (MetricSpec("accuracy", "cifar100", "test", 12), _MINI_12 + "; x-test"),
    "cifar100_val_12ep": (MetricSpec("accuracy", "cifar100", "valid", 12), _MINI_12 + "; x-valid"),
    "imagenet_test_12ep": (MetricSpec("accuracy", "ImageNet16-120", "test", 12), _MINI_12 + "; x-test"),
    "imagenet_val_12ep": (MetricSpec("accuracy", "ImageNet16-120", "valid", 12), _MINI_12 + "; x-valid"),
    "params_M_c10": (MetricSpec("params", "cifar10", unit="M"), "exact count of the NB201 TinyNetwork (C=16, N=5)"),
    "params_M_c100": (MetricSpec("params", "cifar100", unit="M"), "exact count of the NB201 TinyNetwork (C=16, N=5)"),
    "params_M_in16": (MetricSpec("params", "ImageNet16-120", unit="M"), "exact count of the NB201 TinyNetwork (C=16, N=5)"),
}
#: HELP devices whose values were checked equal to HW-NAS-Bench CIFAR-10 latencies
HWNAS_VERIFIED_DEVICES = {"pixel3", "raspi4"}
INTEGER_MS_DEVICES = {"essential_ph_1", "pixel2", "samsung_a50", "samsung_s7"}


def help_latency_spec(device: str) -> MetricSpec:
    """Metric of a HELP NB201 latency file (pixel3/raspi4 are HW-NAS-Bench CIFAR-10 latencies)."""
    source = _HELP.format(device=device)
    if device in HWNAS_VERIFIED_DEVICES:
        source += "; equal to HW-NAS-Bench CIFAR-10 latency"
        return MetricSpec("latency", "cifar10", device=device, unit="ms", source=source)
    if device in INTEGER_MS_DEVICES:
        source += "; integer milliseconds"
    source += "; input dataset not stated in the file"
    return MetricSpec("latency", device=device, unit="ms", source=source)


def nb201_merged_columns(columns: Sequence[str]) -> list[tuple[str, MetricSpec]]:
    out = []
    for column in columns:
        if column in NB201_MERGED_COLUMNS:
            spec, note = NB201_MERGED_COLUMNS[column]
            out.append((column, spec.with_source(note)))
        elif column.startswith("lat_"):
            out.append((column, help_latency_spec(column[4:])))
    return out


def import_nb201_merged(paths: Sequence[Path], progress: ProgressCallback = no_progress, **_: Any) -> BenchmarkTable:
    """The shared ``nb201_merged.csv`` with every column mapped to its semantics."""
    from nasviz.spaces import get_space

    if len(paths) != 1:
        raise ConfigError("nb201-merged imports exactly one file")
    path = Path(paths[0])
    frame = read_frame(path)
    _require_columns(frame, ["index", "arch_str", *NB201_MERGED_COLUMNS], path)
    if len(frame) != NUM_CELLS:
        raise DataError(f"{path}: {len(frame):,} rows; nb201_merged.csv has one per NB201 architecture "
                        f"({NUM_CELLS:,}): a truncated or edited copy? Nothing was imported")
    mappings = nb201_merged_columns(list(frame.columns))
    space_obj = get_space("nb201")
    specs = [s for _, s in mappings]
    acc = Accumulator("nb201", specs)
    columns = {s.key: _numeric_column(frame, c, path, required=True) for c, s in mappings}
    lines = frame.attrs.get(_LINES)
    ids = parse_id_column(space_obj, frame["arch_str"].tolist(), path, "arch_str", progress, lines)
    for i, (index, cell_id) in enumerate(zip(frame["index"].tolist(), ids, strict=True)):
        if str(index).strip() != cell_id:
            raise DataError(f"{path}: line {_line(frame, i)}: index {index!r} does not match arch_str "
                            f"(official index {cell_id})")
    acc.add_rows(ids, columns)
    if acc.repeated_cells:
        raise DataError(f"{path}: {acc.repeated_cells} architectures appear more than once")
    entry = provenance_entry("nb201-merged", [path], specs, len(acc),
                             notes="derived join (shared data SOURCES.md): 200-epoch NATS-Bench test accuracies, "
                                   "12-epoch mini-bench, computed params, HELP latencies")
    return acc.table(entry)
