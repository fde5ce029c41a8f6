"""``nasviz data status|import|download|remove``: manage imported benchmark tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from nasviz.cli.common import JSON_OPTION, emit, handles_errors

data_app = typer.Typer(help="Import, download and inspect benchmark tables (stored in NASVIZ_HOME).",
                       no_args_is_help=True)


def _human_import_hints(row: dict[str, Any], indent: str = "       ") -> list[str]:
    """The recommended import command on a line of its own (copy-pasteable), notes as ``#`` comments."""
    lines = []
    if row.get("import_recommended"):
        label = "add more data" if row.get("available") else "import"
        lines.append(f"{indent}# {label} (recommended): {row.get('import_why', '')}".rstrip())
        lines.append(f"{indent}{row['import_recommended']}")
    alternatives = row.get("import_alternatives") or []
    if alternatives:
        lines.append(f"{indent}# alternatives:")
        for alt in alternatives:
            lines.append(f"{indent}{alt['command']}")
            if alt.get("note"):
                lines.append(f"{indent}#   {alt['note']}")
    return lines


def _human_status(rows: list[dict[str, Any]]) -> str:
    lines = []
    for row in rows:
        if not row.get("available"):
            if row.get("error"):
                lines.append(f"{row['benchmark']:<6} {row.get('source') or ''} table unreadable ({row['error']})")
            else:
                lines.append(f"{row['benchmark']:<6} not imported")
            lines.extend(_human_import_hints(row))
            continue
        lines.append(f"{row['benchmark']:<6} {row['source']}: {row['rows']:,} cells, {len(row['metrics'])} metrics, "
                     f"data version {row['data_version']}")
        for metric in row["metrics"]:
            lines.append(f"       {metric['key']:<40} {metric['rows']:>7,} rows  {metric['label']}")
        for entry in row["provenance"]:
            files = ", ".join(f["name"] for f in entry.get("files", []))
            if entry.get("embedded"):
                lines.append(f"       embedded in nasviz, built from {files}; licence: {entry.get('licence', '?')}")
            else:
                lines.append(f"       from {entry.get('importer')}: {files} ({entry.get('imported_at', '?')})")
        if row["source"] == "embedded":
            lines.append("       (shipped with nasviz and used until you import a table; imports merge onto it, "
                         "--replace replaces it)")
        lines.extend(_human_import_hints(row))
    return "\n".join(lines)


@data_app.command("status")
@handles_errors
def status_command(as_json: bool = JSON_OPTION) -> None:
    """Which benchmark tables there are (imported or embedded): metrics, row counts, provenance; how to import more."""
    from nasviz.data import status

    emit(status(), as_json, _human_status)


def _human_import(result: dict[str, Any]) -> str:
    skipped = [f"skipped {s['path']}: {s['reason']}" for s in result.get("skipped", [])]
    return "\n".join(skipped + [
        f"imported {result['rows_imported']:,} {result['space']} cells with {len(result['metrics_imported'])} "
        f"metrics ({', '.join(result['metrics_imported'])})",
        f"table now: {result['rows']:,} cells, {len(result['metrics'])} metrics, data version {result['data_version']}",
        f"stored in {result['path']}"])


TRUST_HELP = ("Pickle-based official files only (hw-nas-bench, mini-nb201, nb201, nats-tss): when the restricted "
              "loader refuses the file, unpickle it in full. DANGER: a crafted pickle runs any code it contains, with "
              "your permissions, the moment it is loaded. Official files normally need no --trust; use it only "
              "for a file from a source you trust (e.g. its SHA-256 matches the publisher's).")


@data_app.command("import")
@handles_errors
def import_command(
    kind: str = typer.Argument(..., help="Importer: csv, parquet, nb201-merged, nb201, nats-tss, hw-nas-bench, "
                                         "help-latency, mini-nb201, nb101, naslib-nb101, naslib-nb201, naslib-nb301."),
    paths: list[Path] = typer.Argument(..., help="Source file(s) (or a NATS -simple directory)."),
    space: str = typer.Option(None, "--space", help="Search space of a csv/parquet import."),
    arch_col: str = typer.Option(None, "--arch-col", help="Column holding the architecture (csv/parquet)."),
    metric: list[str] = typer.Option(None, "--metric",
                                     help="COLUMN:KIND:DATASET:SPLIT:EPOCHS, COLUMN:latency:DEVICE[:DATASET], "
                                          "COLUMN:params[:DATASET] or COLUMN=METRIC-KEY; optional [UNIT] suffix. "
                                          "Repeatable."),
    device: str = typer.Option(None, "--device", help="Device name of a single help-latency file (default: file name)."),
    replace: bool = typer.Option(False, "--replace", help="Replace the space's table instead of merging into it."),
    trust: bool = typer.Option(False, "--trust", help=TRUST_HELP),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on stderr."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Import benchmark results; new metrics are merged into the space's stored table.

    Nothing in a file runs as code (pickles go through restricted loaders unless --trust); a truncated, ragged or
    non-finite file is refused before anything is written; concurrent imports into one table serialise."""
    from nasviz.data import import_benchmark
    from nasviz.progress import tqdm_progress

    options: dict[str, Any] = {}
    if space:
        options["space"] = space
    if arch_col:
        options["arch_col"] = arch_col
    if metric:
        options["metrics"] = list(metric)
    if device:
        options["device"] = device
    with tqdm_progress(f"import {kind}", enabled=progress) as callback:
        result = import_benchmark(kind, list(paths), progress=callback, replace=replace, trust=trust, **options)
    emit(result, as_json, _human_import)


@data_app.command("download")
@handles_errors
def download_command(
    name: str = typer.Argument(None, help="What to download (see --list)."),
    dest: Path = typer.Option(None, "--dest", help="Folder for the downloaded files (default NASVIZ_HOME/downloads)."),
    do_import: bool = typer.Option(True, "--import/--no-import", help="Import the files after downloading."),
    list_sources: bool = typer.Option(False, "--list", help="List the downloadable benchmarks."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on stderr."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Download a public benchmark file (checksum-verified, resumable) and import it."""
    from nasviz.data.download import SOURCES, download_source, manual_sources
    from nasviz.errors import ConfigError

    if list_sources or not name:
        rows = [{"name": s.name, "description": s.description, "files": len(s.files), "import": s.importer}
                for s in SOURCES.values()]
        manual = manual_sources()
        emit({"downloadable": rows, "manual": manual}, as_json,
             lambda d: "\n".join([f"{r['name']:<14} {r['description']}" for r in d["downloadable"]]
                                 + ["", "Not downloadable by URL (Google Drive):"]
                                 + [f"{m['name']:<14} {m['where']}\n{'':<14} then: {m['import']}" for m in d["manual"]]))
        return
    if name not in SOURCES:
        manual = {m["name"]: m for m in manual_sources()}
        if name in manual:
            raise ConfigError(f"{name} is only on Google Drive: get it from {manual[name]['where']}, "
                              f"then run: {manual[name]['import']}")
        raise ConfigError(f"unknown download {name!r}; choose one of {', '.join(SOURCES)} (see --list)")
    from nasviz.progress import tqdm_progress

    with tqdm_progress(f"download {name}", enabled=progress) as callback:
        result = download_source(name, dest=dest, do_import=do_import, progress=callback)
    emit(result, as_json, lambda r: "\n".join([f"downloaded {f}" for f in r["files"]]
                                              + ([_human_import(r["import"])] if r.get("import") else [])))


@data_app.command("remove")
@handles_errors
def remove_command(space: str = typer.Argument(..., help="Space whose imported table to delete."),
                   as_json: bool = JSON_OPTION) -> None:
    """Delete the imported table of a space."""
    from nasviz.data import remove_table, table_source
    from nasviz.data.store import canonical_space_name

    name = canonical_space_name(space)
    removed = remove_table(name)
    now = table_source(name)
    emit({"space": name, "removed": removed, "now_using": now}, as_json,
         lambda r: (f"removed the imported {name} table" if r["removed"] else f"no {name} table was imported")
         + ("; nasviz uses the embedded table" if now == "embedded" else ""))


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")


__all__ = ["data_app", "register"]
