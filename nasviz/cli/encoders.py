"""``nasviz encoders``: train, evaluate and list architecture encoders (arch2vec, GAE, VGAE, raw)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import typer

from nasviz.cli.common import JSON_OPTION, emit, handles_errors

encoders_app = typer.Typer(help="Architecture encoders: train (arch2vec, gae, vgae, raw), evaluate, list.",
                           no_args_is_help=True)


@encoders_app.command("train")
@handles_errors
def train(
    name: str = typer.Argument(..., help="arch2vec, gae, vgae or raw"),
    space: str = typer.Option("nb201", "--space", help="search space: nb201, nb101 or darts"),
    epochs: int = typer.Option(None, "--epochs", help="training epochs (default: nb201 15, nb101 60, darts 10)"),
    seed: int = typer.Option(None, "--seed", help="random seed (default: nb201 3, others 1)"),
    sample_size: int = typer.Option(None, "--sample-size", help="cells sampled for nb101/darts (default 100000)"),
    batch_size: int = typer.Option(None, "--batch-size", help="graphs per step (default 32; nb101 128)"),
    lr: float = typer.Option(None, "--lr", help="Adam learning rate (default 1e-3; nb101 2e-3)"),
    lr_schedule: str = typer.Option(None, "--lr-schedule",
                                    help="constant, or cosine decay to 0 over all steps (default constant; nb101 cosine)"),
    kl_weight: float = typer.Option(None, "--kl-weight", help="weight of the KL term (default 0.25 on nb201/nb101)"),
    node_position: bool = typer.Option(None, "--node-position/--no-node-position",
                                       help="give the encoder each node's index besides its op, so that GIN can tell "
                                            "symmetric nodes apart (default: on for nb101, off elsewhere)"),
    out: Path = typer.Option(None, "--out", help="model directory (default NASVIZ_HOME/models/<space>/<name>)"),
    threads: int = typer.Option(1, "--threads", help="torch CPU threads"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Train an encoder and write checkpoint.pt, manifest.json and embeddings.npz."""
    from nasviz.encoders.base import encoder_class
    from nasviz.encoders.training import TrainConfig, fit_and_save
    from nasviz.progress import tqdm_progress

    own_trainer = getattr(encoder_class(name), "train_model", None)  # encoders that train themselves (nao, agnet)
    if own_trainer is not None:
        with tqdm_progress(f"train {name.lower()} on {space}", enabled=not quiet) as progress:
            manifest = own_trainer(space, out_dir=out, seed=seed, epochs=epochs, threads=threads, progress=progress)
        emit(_summary(manifest), as_json, lambda s: json.dumps(s, indent=2, default=str))
        return
    cfg = TrainConfig(name.lower(), space, epochs=epochs, seed=seed, sample_size=sample_size, threads=threads,
                      batch_size=batch_size, learning_rate=lr, lr_schedule=lr_schedule.lower() if lr_schedule else None,
                      model={**({} if kl_weight is None else {"kl_weight": kl_weight}),
                             **({} if node_position is None else {"node_position": node_position})})
    options = {"--space": space, "--epochs": epochs, "--seed": seed, "--sample-size": sample_size, "--batch-size": batch_size,
               "--lr": lr, "--lr-schedule": lr_schedule, "--kl-weight": kl_weight, "--threads": threads, "--out": out}
    flags = [] if node_position is None else ["--node-position" if node_position else "--no-node-position"]
    command = shlex.join(["nasviz", "encoders", "train", name] + [str(part) for key, value in options.items()
                                                                   if value is not None for part in (key, value)] + flags)
    with tqdm_progress(f"train {cfg.encoder} on {cfg.space}", enabled=not quiet) as progress:
        manifest = fit_and_save(cfg, out_dir=out, command=command, progress=progress)
    emit(_summary(manifest), as_json, _human_summary)


def _summary(manifest: dict[str, Any]) -> dict[str, Any]:
    keys = ("encoder", "space", "seed", "data", "metrics", "training_seconds", "total_seconds", "embedding", "command")
    return {k: manifest.get(k) for k in keys}


def _human_summary(summary: dict[str, Any]) -> str:
    lines = [f"{summary['encoder']} on {summary['space']} (seed {summary['seed']}): {summary['data']['num_cells']} cells, "
             f"trained in {summary['training_seconds']} s"]
    lines += _metric_lines(summary.get("metrics") or {})
    lines.append(f"embeddings: {summary['embedding']['num_cells']} x {summary['embedding']['dim']}")
    return "\n".join(lines)


def _metric_lines(metrics: dict[str, Any]) -> list[str]:
    lines = []
    recon = metrics.get("reconstruction")
    if recon:
        lines.append(f"reconstruction accuracy (exact, held out): {100 * recon['reconstruction_accuracy']:.2f}% "
                     f"of {recon['num_cells']}")
    for rule, values in (metrics.get("prior") or {}).items():
        if isinstance(values, dict) and "validity" in values:
            raw = values.get("uniqueness_raw_graphs")
            lines.append(f"prior decode [{rule}]: validity {100 * values['validity']:.2f}%, "
                         f"uniqueness {100 * values['uniqueness']:.2f}% (canonical cells)"
                         + ("" if raw is None else f", {100 * raw:.2f}% (raw decoded graphs, official count)"))
    for key, label in (("predictive_power", ""), ("predictive_power_fit_above_threshold", ", fit on cells > threshold")):
        power = metrics.get(key)
        if power:
            lines.append(f"predictive power (GP, {power['train_size']} cells{label}, {len(power['seeds'])} seeds): "
                         f"RMSE {power['rmse_mean']:.4f} +- {power['rmse_std']:.4f}, "
                         f"Pearson r {power['pearson_mean']:.3f} +- {power['pearson_std']:.3f}")
    for row in (metrics.get("distance_by_edit_distance") or {}).get("buckets", []):
        lines.append(f"  edit distance {row['edit_distance']}: mean L2 {row['mean_l2']:.3f} ({row['pairs']} pairs)")
    return lines


@encoders_app.command("evaluate")
@handles_errors
def evaluate(
    name: str = typer.Argument(..., help="arch2vec, gae, vgae or raw"),
    space: str = typer.Option("nb201", "--space", help="search space"),
    prior_samples: int = typer.Option(10_000, "--prior-samples", min=1, max=1_000_000,
                                      help="prior samples for validity/uniqueness"),
    seeds: int = typer.Option(10, "--seeds", min=1, max=1000, help="seeds of the predictive-power GP"),
    seed: int = typer.Option(0, "--seed", help="seed of the prior samples and the edit-distance walk"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Reconstruction, validity, uniqueness, predictive power and L2-vs-edit-distance of a trained encoder."""
    from nasviz.encoders.base import encoder_class
    from nasviz.encoders.evaluation import evaluate_encoder

    own_evaluation = getattr(encoder_class(name), "evaluate_model", None)  # nao, agnet
    if own_evaluation is not None:
        emit(own_evaluation(space), as_json, lambda r: json.dumps(r, indent=2, default=str))
        return
    result = evaluate_encoder(name.lower(), space, prior_samples=prior_samples, gp_seeds=seeds, seed=seed)
    emit(result, as_json, lambda r: "\n".join([f"{r['encoder']} on {r['space']}"] + _metric_lines(r["metrics"])))


@encoders_app.command("list")
@handles_errors
def list_encoders(space: str = typer.Option("nb201", "--space", help="search space"), as_json: bool = JSON_OPTION) -> None:
    """Encoders and whether a trained model exists for the space."""
    from nasviz.encoders.base import ENCODER_NAMES
    from nasviz.encoders.store import find_model_dir
    from nasviz.spaces import get_space

    key = get_space(space).name
    rows = [{"encoder": n, "space": key, "model_dir": str(d) if (d := find_model_dir(key, n)) else None} for n in ENCODER_NAMES]
    emit(rows, as_json, lambda rs: "\n".join(f"{r['encoder']:10s} {r['model_dir'] or '(not trained)'}" for r in rs))


def register(app: typer.Typer) -> None:
    app.add_typer(encoders_app, name="encoders")
