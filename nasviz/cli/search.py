"""``nasviz search`` (several seeds of one strategy or preset), ``nasviz search presets``, ``nasviz search settings``
and ``nasviz runs list|show|export|resume``."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

import typer

from nasviz.cli.common import JSON_OPTION, emit, handles_errors
from nasviz.errors import ConfigError
from nasviz.progress import tqdm_progress
from nasviz.search.summary import decision_lines, rank_text

#: the registered strategies and the presets (nasviz.search.base.strategy_names, nasviz.search.presets.preset_names,
#: spelled out: importing the search package at CLI start-up costs seconds); tests/test_search_cli.py checks they agree
ALGO_CHOICES = "random, re, ls, tpe, arch2vec-bo, arch2vec-rl, gp-bo, nao, agnet, agnet-xgb"
PRESET_CHOICES = "agnet-8, agnet-8-late, gp-bo-constrained"

#: the most seeds one ``nasviz search`` runs (each seed is a stored run, validated before the first starts)
MAX_SEEDS = 1000

runs_app = typer.Typer(help="Stored search runs: list, show, export, resume.", no_args_is_help=True)


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def format_report(report: dict[str, Any]) -> str:
    """Human text of :func:`nasviz.search.multi.seeds_report`."""
    protocol = report["protocol"]
    config = report["config"]
    name = f"{config['preset']} ({config['algo']})" if config.get("preset") else config["algo"]
    lines = [f"{name} on {protocol['space']} {protocol['dataset']}: {protocol['note']}",
             f"data version {protocol['data_version']}"]
    key = protocol["reported"][0]
    for run in report["runs"]:
        extra = ""
        if "feasibility_ratio" in run:
            extra = f"  latency {_fmt(run['latency'])} ms  feasible {_fmt(run['feasibility_ratio'])}"
        # a run compared with a table (it has a regret) gets a rank, "> 100" past the table's best 100
        rank = f" (rank {rank_text(run.get('signal_rank'))})" if run.get("signal_regret") is not None else ""
        lines.append(f"  seed {run['seed']:>3} (run {run['run_id']}): signal {_fmt(run['best_signal'])}{rank}  "
                     f"{key} {_fmt((run['reported'] or {}).get(key))}{extra}  "
                     f"{run['best_cell'] if run['best_cell'] is not None else 'no feasible cell found'}")
    for q, stats in report["mean"][key].items():
        lines.append(f"  at {q:>4} queries: {key} {_fmt(stats['mean'])} +- {_fmt(stats['std'])} "
                     f"({stats['with_result']}/{stats['runs']} runs)")
    if "feasibility_ratio_mean" in report:
        opt = (report.get("constrained_optimum") or {}).get("signal", {})
        lines.append(f"  feasibility ratio {report['feasibility_ratio_mean']:.3f}; "
                     f"{report['reached_signal_optimum']}/{len(report['runs'])} seeds found the constrained optimum "
                     f"by signal ({_fmt(opt.get('value'))}, cell {opt.get('cell_id')})")
    if "signal_rank_median" in report:
        where = "among the feasible cells" if "feasibility_ratio_mean" in report else "among all cells"
        lines.append(f"  median rank of the best cell's signal {where}: "
                     f"{rank_text(report['signal_rank_median'])} (1 = the table's optimum)")
    return "\n".join(lines)


search_app = typer.Typer(help="Run a search for several seeds; `nasviz search presets` lists the named presets, "
                              "`nasviz search settings ALGO` a strategy's settings.", invoke_without_command=True)


@search_app.callback()
@handles_errors
def search_command(
    ctx: typer.Context,
    space: str = typer.Option("nb201", "--space", help="Search space."),
    dataset: str = typer.Option("cifar10", "--dataset", help="Dataset of the benchmark metrics."),
    algo: str | None = typer.Option(None, "--algo", help=f"Strategy: {ALGO_CHOICES} (default: random, or the "
                                                        "preset's strategy); a preset's name works too."),
    preset: str | None = typer.Option(None, "--preset", help=f"Named preset ({PRESET_CHOICES}; `nasviz search "
                                                            "presets` lists them): its strategy and settings, "
                                                            "--set on top."),
    budget: int = typer.Option(192, "--budget", help="Queries per run."),
    seeds: int = typer.Option(1, "--seeds", help="Number of seeds (runs)."),
    seed_start: int = typer.Option(0, "--seed-start", help="First seed."),
    batch_size: int = typer.Option(1, "--batch-size", help="Cells asked per iteration."),
    signal: str | None = typer.Option(None, "--signal", help="Metric key of the search signal (default: protocol)."),
    reported: list[str] | None = typer.Option(None, "--reported", help="Metric key(s) to report (default: protocol)."),
    device: str | None = typer.Option(None, "--device", help="Device of a latency constraint, e.g. pixel3."),
    max_latency: float | None = typer.Option(None, "--max-latency", help="Latency limit L in ms."),
    joint: int = typer.Option(0, "--joint", help="0: accuracy s.t. latency <= L; 1: joint ranking (AG-Net)."),
    settings: list[str] | None = typer.Option(None, "--set", help="Strategy setting KEY=VALUE (repeatable), "
                                                                   "converted by its declared type; `nasviz search "
                                                                   "settings ALGO` lists them."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run a search for several seeds and print per-seed results and mean +- std."""
    if ctx.invoked_subcommand is not None:
        return
    from nasviz.search.base import parse_settings
    from nasviz.search.multi import prepare_runs, run_prepared, seeds_report
    from nasviz.search.runner import SearchConfig

    if not 1 <= seeds <= MAX_SEEDS:  # before any list of seeds or runner is built
        raise ConfigError(f"--seeds must be between 1 and {MAX_SEEDS:,}, got {seeds:,}")
    if seed_start < 0:
        raise ConfigError(f"--seed-start must be >= 0, got {seed_start}")
    config = SearchConfig(space=space, dataset=dataset, algo=algo, budget=budget, seed=seed_start, batch_size=batch_size,
                          signal=signal, reported=list(reported) if reported else None, device=device,
                          max_latency=max_latency, joint=joint, settings=parse_settings(settings), preset=preset)
    runners = prepare_runs(config, list(range(seed_start, seed_start + seeds)))  # all checks before the bar
    for warning in runners[0].warnings:
        typer.echo(f"nasviz: warning: {warning}", err=True)
    label = runners[0].config.preset or runners[0].config.algo
    with tqdm_progress(f"search {label}", seeds * budget, enabled=not as_json) as progress:
        results = run_prepared(runners, progress=progress)
    emit(seeds_report(results), as_json, format_report)


def format_presets(presets: list[dict[str, Any]]) -> str:
    """Human text of ``nasviz search presets``."""
    blocks = []
    for p in presets:
        settings = " ".join(f"--set {key}={_setting_text(value)}" for key, value in p["settings"].items())
        lines = [f"{p['name']}  (strategy {p['strategy']}{', for a latency limit' if p['constrained'] else ''})",
                 f"  settings: {settings}"]
        lines += textwrap.wrap(p["description"], 110, initial_indent="  ", subsequent_indent="  ")
        lines.append(f"  source: {p['source']}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _setting_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


@search_app.command("presets")
@handles_errors
def presets_command(as_json: bool = JSON_OPTION) -> None:
    """List the named presets: name, strategy, settings, description with measured figures, and their source."""
    from nasviz.search.presets import describe_presets

    emit(describe_presets(), as_json, format_presets)


@search_app.command("settings")
@handles_errors
def settings_command(algo: str = typer.Argument(..., help=f"Strategy ({ALGO_CHOICES}) or preset."),
                     as_json: bool = JSON_OPTION) -> None:
    """A strategy's settings: name, type, default (or the preset's value), range or choices, and help."""
    from nasviz.search.base import strategy_class
    from nasviz.search.presets import resolve_strategy

    resolved = resolve_strategy(algo)
    cls = strategy_class(resolved.strategy)
    rows = [{**field.to_dict(), "value": resolved.settings[field.name]} for field in cls.setting_fields]
    doc = {"strategy": resolved.strategy, "preset": resolved.preset, "settings": rows}

    def human(doc: dict[str, Any]) -> str:
        head = f"{doc['strategy']}" + (f" with preset {doc['preset']}" if doc["preset"] else "")
        if not doc["settings"]:
            return f"{head}: no settings"
        lines = [f"{head}:"]
        for field, row in zip(cls.setting_fields, doc["settings"], strict=True):
            changed = "" if row["value"] == row["default"] else f" (preset; default {_setting_text(row['default'])})"
            lines.append(f"  {row['name']}={_setting_text(row['value'])}{changed}: {field.type_text()}")
            lines += textwrap.wrap(row["help"], 106, initial_indent="      ", subsequent_indent="      ")
        return "\n".join(lines)

    emit(doc, as_json, human)


def _run_row(run: Any) -> dict[str, Any]:
    best = (run.summary or {}).get("best") or {}
    protocol = run.config.get("protocol", {})
    key = (protocol.get("reported") or [None])[0]
    status = run.state  # 'stale': a 'running' row whose process is gone (resume it); same rule as runs show
    return {"id": run.id, "created": run.created, "status": status, "strategy": run.strategy, "seed": run.seed,
            "space": run.config.get("space"), "dataset": run.config.get("dataset"), "queries": run.queries,
            "budget": run.budget, "best_signal": best.get("signal"),
            "best_reported": (best.get("reported") or {}).get(key) if key else None,
            "device": run.config.get("device"), "max_latency": run.config.get("max_latency")}


@runs_app.command("list")
@handles_errors
def runs_list(status: str | None = typer.Option(None, "--status", help="running, stopped, finished or crashed."),
              limit: int = typer.Option(50, "--limit"), as_json: bool = JSON_OPTION) -> None:
    """List stored runs, newest first."""
    from nasviz.search.store import RunStore

    rows = [_run_row(r) for r in RunStore().list_runs(status, limit)]

    def human(rows: list[dict[str, Any]]) -> str:
        if not rows:
            return "no stored runs"
        head = f"{'id':>5} {'status':9} {'strategy':12} {'seed':>4} {'space':6} {'dataset':9} {'queries':>9} {'best':>7}  created"
        body = [f"{r['id']:>5} {r['status']:9} {r['strategy']:12} {r['seed']:>4} {r['space'] or '':6} "
                f"{r['dataset'] or '':9} {r['queries']:>4}/{r['budget']:<4} {_fmt(r['best_reported']):>7}  {r['created']}"
                for r in rows]
        return "\n".join([head, *body])

    emit(rows, as_json, human)


@runs_app.command("show")
@handles_errors
def runs_show(run_id: int = typer.Argument(..., help="Run id."), queries: bool = typer.Option(False, "--queries"),
              as_json: bool = JSON_OPTION) -> None:
    """A run's configuration, protocol, summary (and queries)."""
    from nasviz.search.store import RunStore, run_state

    store = RunStore()
    if queries:
        run, records = store.snapshot(run_id)
    else:
        run, records = store.get_run(run_id), []
    doc: dict[str, Any] = run.to_dict()
    state, why = run_state(run)
    doc["status"] = state  # as `runs list` shows it; the stored one is kept beside it
    doc["stored_status"], doc["status_reason"] = run.status, why
    if queries:
        doc["queries_made"] = [q.to_dict() for q in records]

    def human(doc: dict[str, Any]) -> str:
        row = _run_row(run)
        protocol = doc["config"].get("protocol", {})
        lines = [f"run {doc['id']}: {doc['strategy']} seed {doc['seed']} on {row['space']} {row['dataset']} "
                 f"- {doc['status']} ({doc['queries']}/{doc['budget']} queries)"
                 + (f" [{doc['status_reason']}]" if doc["status"] != doc["stored_status"] else ""),
                 f"protocol: {protocol.get('note', '')} (data version {doc['data_version']})"]
        if doc.get("error"):
            lines.append(f"error: {doc['error']}")
        best = (doc.get("summary") or {}).get("best")
        if best:
            lines.append(f"best: {best['cell']} signal {_fmt(best['signal'])} reported {best['reported']}")
        lines += decision_lines(doc.get("summary"))
        for q, entry in (doc.get("summary") or {}).get("at", {}).items():
            if entry:
                lines.append(f"  at {q:>4}: {entry['reported']}")
        for rec in doc.get("queries_made", []):
            lines.append(f"  q{rec['query']:>4} it{rec['iteration']:>4} {rec['cell_id']:>8} signal {rec['signal']:.3f} "
                         f"feasible {int(rec['feasible'])}")
        return "\n".join(lines)

    emit(doc, as_json, human)


@runs_app.command("export")
@handles_errors
def runs_export(run_id: int = typer.Argument(..., help="Run id."),
                output: Path = typer.Option(..., "--output", "-o", help="File to write (.json or .csv)."),
                fmt: str | None = typer.Option(None, "--format", help="json or csv (default: from the suffix).")) -> None:
    """Export a run (configuration, summary, queries) to JSON, or its queries to CSV."""
    from nasviz.search.store import RunStore

    path = RunStore().export(run_id, output, fmt)
    typer.echo(f"wrote {path}")


@runs_app.command("resume")
@handles_errors
def runs_resume(run_id: int = typer.Argument(..., help="Run id."),
                budget: int | None = typer.Option(None, "--budget", help="New total budget (to extend a run)."),
                force: bool = typer.Option(False, "--force", help="Resume even if the benchmark data version "
                                                                  "changed since the run started (mixes results "
                                                                  "of two data versions)."),
                take_over: bool = typer.Option(False, "--take-over",
                                               help="Resume a run recorded as running whose process cannot be "
                                                    "checked: it ran on another host, or before nasviz recorded "
                                                    "process start times and its PID is now another program's. "
                                                    "Never use it while the run really goes on."),
                as_json: bool = JSON_OPTION) -> None:
    """Continue a stopped, crashed or stale run: stored queries are replayed, not re-queried. The run is
    claimed atomically: a second resume of the same run at once stops with the process that has it."""
    from nasviz.search.runner import SearchRunner

    runner = SearchRunner.resume(run_id, budget=budget, force=force, take_over=take_over)
    with tqdm_progress(f"resume run {run_id}", int(runner.config.budget), enabled=not as_json) as progress:
        runner.progress = progress
        result = runner.run()
    doc = {"run_id": result.run_id, "status": result.status, "summary": result.summary,
           "replay_diverged_at": result.replay_divergence}
    emit(doc, as_json, lambda d: f"run {d['run_id']} {d['status']}: best {(d['summary'].get('best') or {}).get('reported')}")


def register(app: typer.Typer) -> None:
    app.add_typer(search_app, name="search")
    app.add_typer(runs_app, name="runs")


__all__ = ["format_presets", "format_report", "register", "runs_app", "search_app", "search_command"]
