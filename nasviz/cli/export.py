"""``nasviz export``: paper figures in batch (latent maps, walks with every cell drawn, L2 vs edit distance, runs)."""

from __future__ import annotations

from pathlib import Path

import typer

from nasviz.cli.common import JSON_OPTION, emit, handles_errors

export_app = typer.Typer(help="Export paper figures (PNG/SVG/PDF plus CSV): latent maps, walks, L2 vs edit distance, "
                              "search runs.", no_args_is_help=True)

# options every export command shares
FORMATS_OPTION = typer.Option(None, "--format", "-f", help="Image format: pdf, svg or png (repeat for several).")
WIDTH_OPTION = typer.Option("single", "--width", help="single (3.5 in) or double (7.16 in) column width with 8-9 pt "
                                                      "fonts, or screen (the page's size).")
SERIF_OPTION = typer.Option(False, "--serif", help="Serif font (Times) instead of Helvetica.")
CSV_OPTION = typer.Option(True, "--csv/--no-csv", help="Write the figure's data as CSV beside it.")


def _options(formats: list[str] | None, width: str, serif: bool, csv: bool):  # noqa: ANN202
    from nasviz.figures.batch import ExportOptions

    return ExportOptions(tuple(dict.fromkeys(f.lower().lstrip(".") for f in formats or ["pdf"])),
                         None if width == "screen" else width, serif, csv)


def _stem(out: Path, formats: list[str] | None) -> tuple[Path, list[str]]:
    """``--out map.pdf`` names the file and its format (more with ``--format``); ``--out map`` is a stem for every
    ``--format`` (PDF by default)."""
    suffix = out.suffix.lower().lstrip(".")
    if suffix in ("pdf", "svg", "png"):
        return out.with_suffix(""), [suffix] + list(formats or [])
    return out, list(formats or ["pdf"])


def _human(result: dict) -> str:
    lines = [f"wrote {len(result['files'])} files:"] + [f"  {path}" for path in result["files"]]
    return "\n".join(lines)


@export_app.command("latent")
@handles_errors
def latent_command(
    space: str = typer.Option("nb201", "--space", "-s", help="Search space."),
    encoder: str = typer.Option("arch2vec", "--encoder", "-e", help="Trained encoder (arch2vec, gae, vgae, raw, ...)."),
    method: str = typer.Option("tsne", "--projection", "-p", help="tsne, umap or pca (computed and cached if missing)."),
    color: str | None = typer.Option(None, "--color", "-c", help="Metric key to colour by (default: the page's default)."),
    view: str = typer.Option("points", "--view", help="points, or density (binned mean, arch2vec figure 4)."),
    bins: int = typer.Option(51, "--bins", help="Bins per axis of the density view."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file (map.pdf) or stem (map) for every --format."),
    formats: list[str] | None = FORMATS_OPTION,
    width: str = WIDTH_OPTION,
    serif: bool = SERIF_OPTION,
    csv: bool = CSV_OPTION,
    compute: bool = typer.Option(True, "--compute/--cached-only", help="Compute a missing projection (t-SNE of 15k "
                                                                         "cells takes minutes) or fail."),
    seed: int = typer.Option(0, "--seed", help="Seed of t-SNE / UMAP when the projection is computed."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar on stderr."),
    as_json: bool = JSON_OPTION,
) -> None:
    """A latent map (Latent Space page) at paper size, e.g. `nasviz export latent --space nb201 --out map.pdf`."""
    from nasviz.figures.batch import export_latent
    from nasviz.progress import tqdm_progress

    stem, chosen = _stem(out, formats)
    options = _options(chosen, width, serif, csv)
    with tqdm_progress(f"{method} {encoder}/{space}", 100, enabled=progress) as callback:
        result = export_latent(space, encoder, stem, method=method, color=color, view=view, bins=bins, options=options,
                               compute=compute, seed=seed, progress=callback)
    emit(result.to_dict(), as_json, _human)


@export_app.command("walk")
@handles_errors
def walk_command(
    start: str = typer.Option(..., "--start", help="Start cell: an id of the embedding table or any cell text."),
    space: str = typer.Option("nb201", "--space", "-s", help="Search space."),
    encoder: str = typer.Option("arch2vec", "--encoder", "-e", help="Trained encoder whose latent space to walk."),
    steps: int = typer.Option(15, "--steps", help="Steps of the walk."),
    metric: str | None = typer.Option(None, "--metric", help="Metric reported per step (default: the page's default)."),
    out_dir: Path = typer.Option(..., "--out-dir", "-o", help="Folder for the files."),
    formats: list[str] | None = FORMATS_OPTION,
    width: str = WIDTH_OPTION,
    serif: bool = SERIF_OPTION,
    csv: bool = CSV_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Every cell of a nearest-neighbour walk as its own drawing (changes highlighted), all cells in one drawing, the
    per-step figure and walk.csv."""
    from nasviz.figures.batch import export_walk

    result = export_walk(space, encoder, start, out_dir, steps=steps, metric=metric,
                         options=_options(formats, width, serif, csv))
    emit(result.to_dict(), as_json, _human)


@export_app.command("l2-edit")
@handles_errors
def l2_edit_command(
    space: str = typer.Option("nb201", "--space", "-s", help="Search space."),
    encoders: list[str] = typer.Option(["arch2vec"], "--encoder", "-e", help="Encoder (repeat to compare)."),  # noqa: B008
    cells: int = typer.Option(400, "--cells", help="Cells whose pairs are compared (NB201: a random walk of edits)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the cell sample."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file (l2.pdf) or stem for every --format."),
    formats: list[str] | None = FORMATS_OPTION,
    width: str = WIDTH_OPTION,
    serif: bool = SERIF_OPTION,
    csv: bool = CSV_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Latent L2 distance by edit distance (arch2vec figure 3), one box per encoder and edit distance."""
    from nasviz.figures.batch import export_l2_edit

    stem, chosen = _stem(out, formats)
    result = export_l2_edit(space, encoders, stem, cells=cells, seed=seed, options=_options(chosen, width, serif, csv))
    emit(result.to_dict(), as_json, _human)


@export_app.command("run")
@handles_errors
def run_command(
    run_id: int = typer.Argument(..., help="Stored search run (see `nasviz runs list`)."),
    out_dir: Path = typer.Option(..., "--out-dir", "-o", help="Folder for the files."),
    formats: list[str] | None = FORMATS_OPTION,
    width: str = WIDTH_OPTION,
    serif: bool = SERIF_OPTION,
    csv: bool = CSV_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The Search page's charts of one run: best so far, every query, feasibility ratio (constrained runs)."""
    from nasviz.figures.batch import export_run

    result = export_run(run_id, out_dir, options=_options(formats, width, serif, csv))
    emit(result.to_dict(), as_json, _human)


@export_app.command("compare")
@handles_errors
def compare_command(
    run_ids: list[int] = typer.Argument(..., help="Stored runs of one protocol (see `nasviz runs list`)."),  # noqa: B008
    out: Path = typer.Option(..., "--out", "-o", help="Output file (compare.pdf) or stem for every --format."),
    formats: list[str] | None = FORMATS_OPTION,
    width: str = WIDTH_OPTION,
    serif: bool = SERIF_OPTION,
    csv: bool = CSV_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Mean ± std over seeds of the best reported metric per strategy versus queries (the Search page's comparison)."""
    from nasviz.figures.batch import export_comparison

    stem, chosen = _stem(out, formats)
    result = export_comparison(run_ids, stem, options=_options(chosen, width, serif, csv))
    emit(result.to_dict(), as_json, _human)


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
