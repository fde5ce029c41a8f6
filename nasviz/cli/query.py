"""``nasviz query``: look up cells, the exact optimum (optionally latency/size constrained) and the
Pareto front in an imported benchmark table.

Examples::

    nasviz query --space nb201 --dataset cifar10 --metric test --epochs 200 --cell '|nor_conv_3x3~0|+|...|'
    nasviz query --space nb201 --index 6111 --input cells.jsonl --json
    nasviz query optimum --space nb201 --dataset cifar10 --metric test --epochs 200
    nasviz query optimum --dataset cifar10 --max-latency 5 --device pixel3
    nasviz query pareto --dataset cifar10 --device pixel3 [--csv front.csv]
"""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path
from typing import Any

import typer

from nasviz.cli.common import JSON_OPTION, emit, emit_jsonl, handles_errors, iter_input_lines
from nasviz.errors import CellError, ConfigError, NasvizError
from nasviz.spaces.base import preview

query_app = typer.Typer(help="Query imported benchmark tables: cell lookups, exact optimum, Pareto fronts.",
                        invoke_without_command=True)

SPACE_OPTION = typer.Option("nb201", "--space", help="Search space (nb201, nb101, darts).")
DATASET_OPTION = typer.Option(None, "--dataset", help="Dataset (cifar10, cifar100, ImageNet16-120; aliases c10...).")
METRIC_OPTION = typer.Option("test", "--metric",
                             help="Split (test, valid, train) of the accuracy, or a full metric key "
                                  "such as accuracy/cifar10/valid/200ep or params/cifar10.")
EPOCHS_OPTION = typer.Option(None, "--epochs", help="Training epochs (default: the most available).")


# ---- backend helpers (also used by the dashboard) ------------------------------------------

def resolve_key(space: str, dataset: str | None, metric: str, epochs: int | None) -> tuple[Any, str]:
    """(table, metric key) for the CLI options; ``metric`` is a split or a full key."""
    from nasviz.data import find_metric, load_table
    from nasviz.spaces import get_space

    table = load_table(space)
    if "/" in metric or metric in {"params", "flops"}:
        table.metric(metric)  # raises with the list of keys when absent
        return table, metric
    if dataset is None:
        try:
            dataset = get_space(space).default_dataset or None
        except ConfigError:
            dataset = None
    return table, find_metric(table, "accuracy", dataset, metric, epochs).key


def lookup_cells(space: str, cells: list[Any], key: str) -> list[dict[str, Any]]:
    """One record per cell: arch, cell id, value, regret to the table optimum and rank."""
    import numpy as np

    from nasviz.data import load_table, optimum
    from nasviz.spaces import get_space

    table = load_table(space)
    space_obj = get_space(space)
    spec = table.metric(key)
    best = optimum(table, key, maximize=spec.higher_is_better)
    column = table.values(key)
    present = column[~np.isnan(column)]
    out = []
    for raw in cells:
        cell = space_obj.parse(raw)
        cell_id = space_obj.cell_id(cell)
        value = table.lookup(cell_id, key)
        record: dict[str, Any] = {"cell": space_obj.to_json(cell), "cell_id": cell_id, "metric": key,
                                  "value": None if math.isnan(value) else value}
        if not math.isnan(value):
            record["regret"] = round(abs(best.value - value), 6)
            better = present > value if spec.higher_is_better else present < value
            record["rank"] = int(better.sum()) + 1
            record["of"] = int(len(present))
        else:
            record["missing"] = f"cell {cell_id} has no {key} value in the {table.space} table"
        out.append(record)
    return out


def _human_lookup(records: list[dict[str, Any]]) -> str:
    lines = []
    for r in records:
        if r["value"] is None:
            lines.append(f"{r['cell_id']}: {r['missing']}")
        else:
            lines.append(f"{r['cell_id']}: {r['metric']} = {r['value']:.4f}  (rank {r['rank']:,} of {r['of']:,}, "
                         f"regret {r['regret']:.4f})  {r['cell']}")
    return "\n".join(lines)


@query_app.callback()
@handles_errors
def query_command(
    ctx: typer.Context,
    space: str = SPACE_OPTION,
    dataset: str = DATASET_OPTION,
    metric: str = METRIC_OPTION,
    epochs: int = EPOCHS_OPTION,
    cell: list[str] = typer.Option(None, "--cell", help="Architecture (space format). Repeatable."),
    index: list[int] = typer.Option(None, "--index", help="NB201 index. Repeatable."),
    input_file: Path = typer.Option(None, "--input", help="JSONL/text file, one cell per line ('-' = stdin)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Look up cells in the benchmark (``--cell``, ``--index`` or ``--input``), or run a sub-command."""
    if ctx.invoked_subcommand is not None:
        return
    cells: list[Any] = list(cell or []) + [int(i) for i in (index or [])]
    table, key = resolve_key(space, dataset, metric, epochs)
    if input_file is not None:
        _lookup_file(space, key, input_file, as_json)
        if not cells:
            return
    if not cells:
        raise ConfigError("give --cell ARCH, --index I or --input FILE (or a sub-command: optimum, pareto)")
    records = []
    for raw in cells:
        try:
            records += lookup_cells(table.space, [raw], key)
        except CellError as exc:
            option = "--index" if isinstance(raw, int) else "--cell"
            raise CellError(f"{option} {preview(raw)}: {exc}") from None
    if as_json:
        emit(records if len(records) > 1 else records[0], True)
    else:
        emit(records, False, _human_lookup)


def _lookup_file(space: str, key: str, path: Path, as_json: bool) -> None:
    """Look up each line of ``path``; a bad line is reported (stderr, and as a JSON record with --json) and the
    rest still looked up; exit code 2 at the end when any line was bad."""
    from nasviz.spaces import get_space

    space_obj = get_space(space)
    failures = 0
    for number, text, problem in iter_input_lines(path, "--input"):
        try:
            if text is None:
                raise CellError(problem or "unreadable line")
            record = lookup_cells(space, [space_obj.parse_text(text)], key)[0]
        except NasvizError as exc:
            failures += 1
            record = {"line": number, "error": f"{path}: line {number}: {exc}"}
            typer.echo(record["error"], err=True)
        if as_json:
            emit_jsonl(record)
        elif "error" not in record:
            typer.echo(_human_lookup([record]))
    sys.stdout.flush()
    if failures:
        typer.echo(f"nasviz: error: {failures} line(s) of {path} could not be looked up", err=True)
        raise typer.Exit(2)


@query_app.command("optimum")
@handles_errors
def optimum_command(
    space: str = SPACE_OPTION,
    dataset: str = DATASET_OPTION,
    metric: str = METRIC_OPTION,
    epochs: int = EPOCHS_OPTION,
    max_latency: float = typer.Option(None, "--max-latency", help="Latency bound in ms (needs --device)."),
    device: str = typer.Option(None, "--device", help="Device of the latency bound (pixel3, raspi4, edgegpu...)."),
    max_params: float = typer.Option(None, "--max-params", help="Parameter bound in millions."),
    minimize: bool = typer.Option(False, "--minimize", help="Lowest value instead of highest."),
    top: int = typer.Option(1, "--top", help="Also list the best K cells (unconstrained)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """The exact optimum over the whole table, optionally under a latency or parameter bound."""
    from nasviz.data import constrained_optimum, find_device_metric, find_metric, optimum, top_k

    table, key = resolve_key(space, dataset, metric, epochs)
    spec = table.metric(key)
    maximize = not minimize
    if max_latency is not None or device is not None:
        if max_latency is None or device is None:
            raise ConfigError("a latency bound needs both --max-latency L and --device D")
        bound_key = find_device_metric(table, device, spec.dataset).key
        result = constrained_optimum(table, key, bound_key, max_latency, maximize)
    elif max_params is not None:
        bound_key = find_metric(table, "params", spec.dataset).key
        result = constrained_optimum(table, key, bound_key, max_params, maximize)
    else:
        result = optimum(table, key, maximize)
    out = result.to_dict()
    out["label"] = spec.label
    out["cell"] = _arch_of(table.space, result.cell_id)
    out["data_version"] = table.data_version
    if top > 1:
        out["top"] = [{"cell_id": cid, "value": v} for cid, v in top_k(table, key, top, maximize)]
    emit(out, as_json, _human_optimum)


def _arch_of(space: str, cell_id: str) -> Any:
    from nasviz.spaces import get_space

    if space == "nb201":
        space_obj = get_space(space)
        return space_obj.to_json(space_obj.parse(int(cell_id)))
    return cell_id


def _human_optimum(out: dict[str, Any]) -> str:
    lines = [f"{out['label']}: {'max' if out['maximize'] else 'min'} = {out['value']:.4f} at cell {out['cell_id']} "
             f"({out['considered']:,} cells considered)"]
    if out.get("constraint_key"):
        lines.append(f"  subject to {out['constraint_key']} <= {out['max_value']:g} (this cell: "
                     f"{out['constraint_value']:g})")
    if out["cell"] != out["cell_id"]:
        lines.append(f"  {out['cell']}")
    for i, entry in enumerate(out.get("top", []), start=1):
        lines.append(f"  {i:>3}. {entry['cell_id']:<8} {entry['value']:.4f}")
    return "\n".join(lines)


@query_app.command("pareto")
@handles_errors
def pareto_command(
    space: str = SPACE_OPTION,
    dataset: str = DATASET_OPTION,
    metric: str = METRIC_OPTION,
    epochs: int = EPOCHS_OPTION,
    device: str = typer.Option(None, "--device", help="Latency device of the second objective."),
    versus: str = typer.Option(None, "--versus", help="Second objective as a metric key (default: latency of "
                                                      "--device, else params of the dataset); minimised."),
    csv_out: Path = typer.Option(None, "--csv", help="Also write the front to this CSV file."),
    as_json: bool = JSON_OPTION,
) -> None:
    """The exact Pareto front: accuracy (maximised) against latency or parameters (minimised)."""
    from nasviz.data import find_device_metric, find_metric, pareto_front

    table, key = resolve_key(space, dataset, metric, epochs)
    spec = table.metric(key)
    if versus:
        other = table.metric(versus).key
    elif device:
        other = find_device_metric(table, device, spec.dataset).key
    else:
        other = find_metric(table, "params", spec.dataset).key
    front = pareto_front(table, key, other, maximize_a=spec.higher_is_better, minimize_b=True)
    records = front.to_records()
    for record in records:
        record["cell"] = _arch_of(table.space, record["cell_id"])
    if csv_out is not None:
        with open(csv_out, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["cell_id", key, other, "cell"])
            writer.writeheader()
            writer.writerows(records)
    out = {"space": table.space, "objective": key, "versus": other, "considered": front.considered,
           "size": len(front), "front": records, "data_version": table.data_version}
    emit(out, as_json, _human_pareto)


def _human_pareto(out: dict[str, Any]) -> str:
    lines = [f"Pareto front of {out['objective']} vs {out['versus']}: {out['size']} of {out['considered']:,} cells"]
    for r in out["front"]:
        lines.append(f"  {r['cell_id']:<8} {r[out['objective']]:>10.4f} {r[out['versus']]:>12.6g}  {r['cell']}")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    app.add_typer(query_app, name="query")


__all__ = ["lookup_cells", "query_app", "register", "resolve_key"]
