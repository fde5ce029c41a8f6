"""``nasviz nat``: train NAT policies, apply them to cells, evaluate them on NB201, transform cells by hand."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import typer

from nasviz.cli.common import JSON_OPTION, emit, handles_errors, read_input_bytes
from nasviz.errors import ConfigError

nat_app = typer.Typer(help="Neural Architecture Transformer: per-edge keep / skip / null transformations of cells.",
                      no_args_is_help=True)

RULE_HELP = ("paper: op -> keep/skip/null, skip -> skip/null, null -> null (never raises the cost); "
             "code: every edge -> keep/skip/null, as the official code (null edges may become shortcuts)")
SPACE_HELP = "nb201 or nat (NAT cells; DARTS genotypes are read as NAT cells)"
CANDIDATES_HELP = ("with --samples K: top = the K most probable distinct transformations (default); "
                   "sample = the greedy one and K-1 samples from the policy (the official derivation)")


def _command_line() -> str:
    return "nasviz " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else "nasviz nat train"


def _read_cell_text(cell: str | None, input_file: Path | None) -> tuple[str, str]:
    if (cell is None) == (input_file is None):
        raise ConfigError("give exactly one of --cell TEXT or --input FILE")
    if input_file is not None:
        from nasviz.nat.io import MAX_UPLOAD_BYTES, decode_upload

        return decode_upload(read_input_bytes(input_file, "--input", MAX_UPLOAD_BYTES), str(input_file)), str(input_file)
    return str(cell), "--cell"


@nat_app.command("train")
@handles_errors
def train(space: str = typer.Option("nb201", "--space", help=SPACE_HELP),
          reward: str = typer.Option("tabular", "--reward",
                                     help="tabular (NB201 12-epoch valid accuracy), supernet (weight sharing on digits, "
                                          "NAT cells) or evaluator (any evaluator spec, --evaluator)"),
          rule: str = typer.Option("paper", "--rule", help=RULE_HELP),
          steps: int = typer.Option(1500, "--steps", help="REINFORCE steps"),
          batch_size: int = typer.Option(64, "--batch-size", help="input cells per step"),
          lr: float = typer.Option(3e-3, "--lr", help="Adam learning rate"),
          entropy: float = typer.Option(0.003, "--entropy", help="entropy bonus lambda"),
          baseline_decay: float = typer.Option(0.95, "--baseline-decay", help="moving-average baseline decay"),
          samples_per_cell: int = typer.Option(1, "--samples-per-cell",
                                               help="K transformations sampled per input cell; K > 1: per-cell baseline"),
          normalize_per_cell: bool = typer.Option(False, "--normalize-per-cell",
                                                  help="divide each cell's advantages by the spread of its K rewards"),
          entropy_final: float | None = typer.Option(None, "--entropy-final", help="entropy bonus decays linearly to this"),
          improve_bonus: float = typer.Option(0.0, "--improve-bonus",
                                              help="reward shaping: +B points for a transformation that improves the "
                                                   "cell, -B for one that loses accuracy (0: plain reward)"),
          hidden: int = typer.Option(64, "--hidden", help="GCN width"),
          seed: int = typer.Option(0, "--seed"),
          evaluator: str | None = typer.Option(None, "--evaluator", help="evaluator spec for --reward evaluator"),
          supernet_steps: int | None = typer.Option(None, "--supernet-steps", help="supernet training steps"),
          out: Path | None = typer.Option(None, "--out", help="model directory (default: NASVIZ_HOME/models/nat/SPACE-RULE)"),
          ship: bool = typer.Option(False, "--ship", help="write into the shipped models/nat/ folder"),
          quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
          as_json: bool = JSON_OPTION) -> None:
    """Train a NAT policy with REINFORCE and save it with a manifest naming this command."""
    from nasviz.nat.jobs import train_and_save
    from nasviz.nat.policy import PolicyConfig
    from nasviz.nat.train import TrainConfig
    from nasviz.progress import tqdm_progress

    config = TrainConfig(rule=rule, steps=steps, batch_size=batch_size, lr=lr, entropy=entropy,
                         baseline_decay=baseline_decay, samples_per_cell=samples_per_cell,
                         normalize_per_cell=normalize_per_cell, entropy_final=entropy_final,
                         improve_bonus=improve_bonus, seed=seed, policy=PolicyConfig(hidden=hidden))
    with tqdm_progress(f"NAT {space} {rule}", steps, enabled=not quiet) as progress:
        manifest = train_and_save(space, reward, config, _command_line(), out=out, ship=ship, evaluator=evaluator,
                                  supernet_steps=supernet_steps, progress=progress)
    emit(manifest, as_json, _human_train)


def _human_train(manifest: dict[str, Any]) -> str:
    lines = [f"trained {manifest['space']} policy ({manifest['rule']} rule) in {manifest['train_seconds']} s",
             f"saved to {manifest['path']}"]
    evaluation = manifest.get("metrics", {}).get("evaluation_seed0")
    if evaluation:
        nat = evaluation["nat"]
        lines.append(f"held-out NB201 (100 cells, seed 0): gain {nat['mean_gain']:+.2f} points, improved "
                     f"{nat['improved']:.0%}, best reachable by signal {evaluation['best_by_signal']['mean_gain']:+.2f}")
    return "\n".join(lines)


@nat_app.command("apply")
@handles_errors
def apply(space: str = typer.Option("nb201", "--space", help=SPACE_HELP),
          cell: str | None = typer.Option(None, "--cell", help="the cell as JSON / arch string / NAT id / genotype"),
          input_file: Path | None = typer.Option(None, "--input", help="a file holding the cell"),
          which: str = typer.Option("normal", "--which", help="for DARTS genotypes: the normal or reduce cell"),
          rule: str | None = typer.Option(None, "--rule", help=RULE_HELP + " (default: the policy's rule)"),
          samples: int = typer.Option(0, "--samples", help="K > 1: keep the best of K candidate transformations by reward"),
          candidates: str = typer.Option("top", "--candidates", help=CANDIDATES_HELP),
          dataset: str | None = typer.Option(None, "--dataset", help="dataset of the cost model"),
          seed: int = typer.Option(0, "--seed"),
          as_json: bool = JSON_OPTION) -> None:
    """Transform a cell with the trained policy: per-edge probabilities, cost and metric deltas."""
    from nasviz.nat.api import optimise
    from nasviz.nat.io import parse_cell_text

    text, source = _read_cell_text(cell, input_file)
    parsed = parse_cell_text(space, text, which, source)
    emit(optimise(space, parsed, rule or "paper", samples, dataset, seed, candidates=candidates), as_json, _human_apply)


def _human_apply(result: dict[str, Any]) -> str:
    from nasviz.nat.api import probabilities_table

    lines = [f"rule: {result['rule_label']}", f"decision: {result['decision']}"]
    if result["policy"].get("note"):
        lines.append(f"note: {result['policy']['note']}")
    for row in probabilities_table(result):
        lines.append(f"  {row['edge']:>6} {row['op']:<14} keep {row['p(keep)']:.2f}  skip {row['p(skip)']:.2f}  "
                     f"null {row['p(null)']:.2f}  -> {row['action']}")
    lines.append(f"transformed: {result['transformed']}")
    if not result["valid"]:
        lines.append(f"invalid: {result['reason']}")
    else:
        lines.append(f"params {result['cost_before']['params']:,} -> {result['cost_after']['params']:,} "
                     f"({result['delta_params']:+,}); MAdds {result['cost_before']['madds']:,} -> "
                     f"{result['cost_after']['madds']:,} ({result['delta_madds']:+,})")
    if result.get("metric_delta") is not None:
        lines.append(f"{result['metric']}: {result['metric_before']} -> {result['metric_after']} "
                     f"({result['metric_delta']:+.2f})")
    return "\n".join(lines)


@nat_app.command("transform")
@handles_errors
def transform_cmd(space: str = typer.Option("nb201", "--space", help=SPACE_HELP),
                  cell: str | None = typer.Option(None, "--cell", help="the cell"),
                  input_file: Path | None = typer.Option(None, "--input", help="a file holding the cell"),
                  actions: str = typer.Option(..., "--actions", help="comma-separated keep/skip/null, one per edge"),
                  rule: str = typer.Option("paper", "--rule", help=RULE_HELP),
                  dataset: str | None = typer.Option(None, "--dataset"),
                  as_json: bool = JSON_OPTION) -> None:
    """Apply your own per-edge actions: validity, pruning, exact cost and metric deltas."""
    from nasviz.nat.api import score_actions
    from nasviz.nat.io import parse_cell_text

    text, source = _read_cell_text(cell, input_file)
    parsed = parse_cell_text(space, text, "normal", source)
    result = score_actions(space, parsed, [a.strip() for a in actions.split(",") if a.strip()], rule, dataset)
    emit(result, as_json, lambda r: "\n".join(f"{k}: {v}" for k, v in r.items()))


@nat_app.command("evaluate")
@handles_errors
def evaluate(space: str = typer.Option("nb201", "--space", help="nb201 (the benchmark with every transformed cell)"),
             cells: int = typer.Option(100, "--cells", help="held-out cells to transform"),
             seed: int = typer.Option(0, "--seed"),
             rule: str | None = typer.Option(None, "--rule", help=RULE_HELP + " (default: paper)"),
             samples: int = typer.Option(0, "--samples", help="K > 1: best of K candidates by the 12-epoch signal"),
             candidates: str = typer.Option("top", "--candidates", help=CANDIDATES_HELP),
             random_draws: int = typer.Option(20, "--random-draws", help="random transformations per cell"),
             as_json: bool = JSON_OPTION) -> None:
    """NAT vs random transformations vs the exact best reachable one, on held-out NB201 cells."""
    from nasviz.nat.api import require_nb201_table
    from nasviz.nat.evaluate import evaluate_nb201
    from nasviz.nat.store import load_policy

    if space.lower() != "nb201":
        raise ConfigError("evaluation needs every transformed cell's true accuracy: only --space nb201")
    from nasviz.nat.evaluate import nb201_split

    held_out = len(nb201_split()[1])
    if not 1 <= cells <= held_out:
        raise ConfigError(f"--cells must be between 1 and {held_out:,} (the held-out NB201 cells), got {cells:,}")
    require_nb201_table()
    loaded = load_policy("nb201", rule or "paper")
    if candidates not in ("top", "sample"):
        raise ConfigError(f"unknown --candidates {candidates!r}: use top or sample")
    result = evaluate_nb201(loaded.policy, rule or loaded.rule, cells, seed, samples, random_draws,
                            candidates=candidates)
    result["policy"] = str(loaded.path)
    emit(result, as_json, _human_evaluate)


def _human_evaluate(result: dict[str, Any]) -> str:
    lines = [f"{result['cells']} held-out NB201 cells, seed {result['seed']}, {result['rule']} rule, {result['decision']}",
             f"{'':<16}{'acc before':>11}{'acc after':>11}{'gain':>8}{'improved':>10}{'unchanged':>11}{'worse':>8}"
             f"{'params M':>18}"]
    for name in ("nat", "random", "best_by_signal"):
        r = result[name]
        lines.append(f"{name:<16}{r['mean_before']:>11.2f}{r['mean_after']:>11.2f}{r['mean_gain']:>+8.2f}"
                     f"{r['improved']:>10.0%}{r['unchanged']:>11.0%}{r['worse']:>8.0%}"
                     f"{r['params_before_m']:>9.3f}->{r['params_after_m']:.3f}")
    lines.append(f"best by test (upper bound): gain {result['best_by_test']['mean_gain']:+.2f}")
    return "\n".join(lines)


@nat_app.command("policies")
@handles_errors
def policies(as_json: bool = JSON_OPTION) -> None:
    """List trained NAT policies (yours and the shipped ones)."""
    from nasviz.nat.store import available_policies

    rows = available_policies()
    def line(r: dict) -> str:
        what = f"BROKEN: {r['error']}" if r.get("error") else (r.get("command") or "")
        return f"{r['name']:<14} {r['origin']:<8} {r.get('reward') or '':<10} {what}"

    emit(rows, as_json, lambda rs: "\n".join(line(r) for r in rs) or "no trained NAT policy")


@nat_app.command("export-npz")
@handles_errors
def export_npz(path: Path | None = typer.Argument(None, help="a policy folder (default: every policy found, yours and "
                                                             "the shipped ones)"),
               as_json: bool = JSON_OPTION) -> None:
    """Write policy.npz (plain float32 weights, no pickle) beside policy.pt, for inference without torch."""
    from nasviz.nat.store import MANIFEST, available_policies, export_weights

    if path is not None:
        if not (path / MANIFEST).exists():
            raise ConfigError(f"{path} is not a NAT policy folder (no {MANIFEST})")
        import json

        targets = [(path, json.loads((path / MANIFEST).read_text()).get("space", ""))]
    else:
        targets = [(Path(row["path"]), str(row["space"])) for row in available_policies()]
    rows = [{"path": str(export_weights(folder, space))} for folder, space in targets]
    emit(rows, as_json, lambda rs: "\n".join(f"wrote {r['path']}" for r in rs) or "no trained NAT policy")


def register(app: typer.Typer) -> None:
    app.add_typer(nat_app, name="nat")
