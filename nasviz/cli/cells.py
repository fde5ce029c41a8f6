"""``nasviz spaces`` and ``nasviz cells describe|sample|draw``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import typer

from nasviz.cli.common import JSON_OPTION, emit, emit_jsonl, handles_errors, iter_input_lines
from nasviz.errors import CellError, NasvizError
from nasviz.spaces import SPACE_NAMES, SearchSpace, get_space
from nasviz.spaces.base import preview

SPACE_HELP = f"Search space: {', '.join(SPACE_NAMES)}."
#: the most cells ``nasviz cells sample`` draws in one call
MAX_SAMPLE = 1_000_000

cells_app = typer.Typer(help="Describe, sample and draw cells of a search space.", no_args_is_help=True)


# ---- backend helpers (used by the commands and the Cell Explorer page) ------------------------

def space_summary(name: str) -> dict[str, Any]:
    """Name, title, size (exact or estimated), op set, datasets and input format of one space."""
    space = get_space(name)
    try:
        size, exact = space.size()
    except NotImplementedError:
        size, exact = None, False
    return {"space": space.name, "title": space.title, "size": size, "size_exact": exact, "ops": list(space.ops),
            "datasets": list(space.datasets), "input_format": space.input_format}


def spaces_summary() -> list[dict[str, Any]]:
    """:func:`space_summary` of every space whose module is installed; others carry an ``error``."""
    rows = []
    for name in SPACE_NAMES:
        try:
            rows.append(space_summary(name))
        except (ImportError, NasvizError) as exc:
            rows.append({"space": name, "error": f"not available: {exc}"})
    return rows


def iter_cell_lines(handle: TextIO) -> Iterator[tuple[int, str]]:
    """(line number, text) of the non-blank lines of a cell file."""
    for number, line in enumerate(handle, start=1):
        text = line.strip()
        if text:
            yield number, text


def describe_line(space: SearchSpace, text: str, dataset: str | None) -> dict[str, Any]:
    """The description of the cell on one text line (raises NasvizError when the line is not a cell)."""
    return space.describe(space.parse_text(text), dataset)


def _format_size(row: dict[str, Any]) -> str:
    if row.get("size") is None:
        return "unknown"
    return f"{row['size']:,}" if row["size_exact"] else f"~{row['size']:.3g}"


def _human_spaces(rows: list[dict[str, Any]]) -> str:
    lines = []
    for row in rows:
        if "error" in row:
            lines.append(f"{row['space']:<6} {row['error']}")
            continue
        lines.append(f"{row['space']:<6} {row['title']}: {_format_size(row)} cells; datasets {', '.join(row['datasets'])}")
        lines.append(f"       ops: {', '.join(row['ops'])}")
    return "\n".join(lines)


# ---- commands ------------------------------------------------------------------------------------

@handles_errors
def spaces_command(as_json: bool = JSON_OPTION) -> None:
    """List the search spaces with their size (exact or estimated) and op set."""
    emit(spaces_summary(), as_json, _human_spaces)


@cells_app.command("describe")
@handles_errors
def describe_command(
    space_name: str = typer.Option(..., "--space", "-s", help=SPACE_HELP),
    input_file: Path | None = typer.Option(None, "--input", "-i", help="File with one cell per line ('-' for stdin)."),
    cell: str | None = typer.Option(None, "--cell", "-c", help="One cell as JSON (or an NB201 arch string)."),
    dataset: str | None = typer.Option(None, "--dataset", "-d", help="Dataset for params/FLOPs (default: the space's)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Print one JSON line per cell: valid (and reason), canonical form, params, FLOPs and op counts.

    Lines that are not cells are reported on stderr with their line number; the good lines are
    still described and the command exits with status 1 at the end. Blank lines are skipped."""
    space = get_space(space_name)
    if (input_file is None) == (cell is None):
        raise typer.BadParameter("give exactly one of --input FILE or --cell JSON")
    if dataset is not None:
        space.check_dataset(dataset)
    if cell is not None:
        try:
            description = describe_line(space, cell, dataset)
        except CellError as exc:
            raise CellError(f"--cell {preview(cell)}: {exc}") from None
        emit_jsonl(description)
        return
    assert input_file is not None
    bad = 0
    for number, text, problem in iter_input_lines(input_file, "--input"):
        try:
            if text is None:
                raise CellError(problem or "unreadable line")
            description = describe_line(space, text, dataset)
        except NasvizError as exc:
            bad += 1
            typer.echo(f"{input_file}:{number}: {exc}", err=True)
            continue
        emit_jsonl({"line": number, **description})
    sys.stdout.flush()
    if bad:
        typer.echo(f"nasviz: error: {bad} line(s) of {input_file} are not {space.name} cells", err=True)
        raise typer.Exit(1)


@cells_app.command("sample")
@handles_errors
def sample_command(
    space_name: str = typer.Option(..., "--space", "-s", help=SPACE_HELP),
    n: int = typer.Option(10, "-n", "--num", min=1, max=MAX_SAMPLE, help=f"Number of cells (at most {MAX_SAMPLE:,})."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same cells)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Print N valid cells drawn uniformly with SEED, one JSON value per line (JSONL)."""
    space = get_space(space_name)
    for sampled in space.sample(n, seed):
        emit_jsonl(space.to_json(sampled))


@cells_app.command("draw")
@handles_errors
def draw_command(
    space_name: str = typer.Option(..., "--space", "-s", help=SPACE_HELP),
    cell: str = typer.Option(..., "--cell", "-c", help="The cell as JSON (or an NB201 arch string)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file: .svg, .pdf or .png."),
    diff: str | None = typer.Option(None, "--diff", help="Another cell: highlight what differs from it."),
    title: str | None = typer.Option(None, "--title", help="Title drawn above the cell."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Draw a cell with Graphviz (ops coloured the same way in every space)."""
    from nasviz.figures.cells import save_cell_drawing

    space = get_space(space_name)
    parsed = space.parse_text(cell)
    other = space.parse_text(diff) if diff is not None else None
    path = save_cell_drawing(space, parsed, out, highlight_diff=other, title=title)
    emit({"out": str(path), "format": path.suffix.lstrip("."), "bytes": path.stat().st_size}, as_json,
         lambda r: f"wrote {r['out']} ({r['bytes']:,} bytes)")


def register(app: typer.Typer) -> None:
    app.command("spaces")(spaces_command)
    app.add_typer(cells_app, name="cells")


__all__ = ["cells_app", "describe_line", "iter_cell_lines", "register", "space_summary", "spaces_summary"]
