"""What a run found: best cell by signal (feasible first), its reported metrics at checkpoints,
feasibility ratio per iteration, and how close it came to the table's exact (constrained) optimum: reached or not,
the regret in signal and the rank of its signal among the table's (feasible) cells."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from nasviz.search.constraints import best_index, feasibility_ratio
from nasviz.search.store import QueryRecord

#: query counts at which results are reported (the papers' 96/100/192 included)
CHECKPOINTS: tuple[int, ...] = (16, 32, 50, 64, 96, 100, 128, 150, 192, 200, 300, 400, 500)


def oriented(records: Sequence[QueryRecord], maximize: bool) -> list[float]:
    return [r.signal if maximize else -r.signal for r in records]


def best_record(records: Sequence[QueryRecord], maximize: bool = True, constrained: bool = False) -> QueryRecord | None:
    """The best record by signal (among feasible ones under a constraint); first one on ties."""
    index = best_index(oriented(records, maximize), [r.feasible for r in records] if constrained else None)
    return None if index is None else records[index]


def trajectory(records: Sequence[QueryRecord], key: str | None = None, maximize: bool = True,
               constrained: bool = False) -> list[float]:
    """After each query: the reported ``key`` (or the signal) of the best cell so far (NaN before a feasible one)."""
    out, best = [], None
    for r in records:
        ok = r.feasible or not constrained
        if ok and (best is None or (r.signal > best.signal if maximize else r.signal < best.signal)):
            best = r
        if best is None:
            out.append(math.nan)
        else:
            out.append(best.signal if key is None else float(best.reported.get(key, math.nan)))
    return out


def feasibility_by_iteration(records: Sequence[QueryRecord]) -> list[dict[str, Any]]:
    """Per iteration: queries, feasible queries and their ratio (AG-Net figure 4, right)."""
    out: dict[int, list[bool]] = {}
    for r in records:
        out.setdefault(r.iteration, []).append(r.feasible)
    return [{"iteration": it, "queries": len(f), "feasible": int(sum(f)), "ratio": feasibility_ratio(f)}
            for it, f in sorted(out.items())]


def summarize(records: Sequence[QueryRecord], protocol: dict[str, Any], constrained: bool,
              reference: dict[str, Any] | None = None, checkpoints: Sequence[int] = CHECKPOINTS) -> dict[str, Any]:
    """Summary of a run's queries under its protocol (dict of JSON values)."""
    maximize = bool(protocol.get("maximize", True))
    reported_keys = list(protocol.get("reported", []))
    n = len(records)
    out: dict[str, Any] = {"queries": n}
    best = best_record(records, maximize, constrained)
    if best is not None:
        out["best"] = {"query": best.query, "cell_id": best.cell_id, "cell": best.cell, "signal": best.signal,
                       "reported": best.reported, "latency": best.latency}
    else:
        out["best"] = None
    at: dict[str, Any] = {}
    for q in sorted({c for c in checkpoints if c <= n} | ({n} if n else set())):
        b = best_record(records[:q], maximize, constrained)
        at[str(q)] = None if b is None else {"signal": b.signal, "reported": b.reported, "cell_id": b.cell_id,
                                              "latency": b.latency}
    out["at"] = at
    if constrained:
        feas = [r.feasible for r in records]
        out["feasibility_ratio"] = feasibility_ratio(feas)
        out["feasibility_by_iteration"] = feasibility_by_iteration(records)
    if reference:
        ref_block = reference.get("constrained_optimum") if constrained else reference.get("optimum")
        if ref_block and best is not None:
            sig_opt = ref_block["signal"]
            out["reached_signal_optimum"] = bool(
                np.isclose(best.signal, sig_opt["value"], rtol=0, atol=1e-9))
            out["signal_regret"] = max(0.0, (sig_opt["value"] - best.signal) * (1.0 if maximize else -1.0))
            if ref_block.get("top_signals"):
                out["signal_rank"] = signal_rank(best.signal, ref_block["top_signals"], maximize)
            for key in reported_keys:
                target = ref_block.get(f"reported:{key}")
                if target is not None:
                    out.setdefault("reached_reported_optimum", {})[key] = bool(
                        best.reported.get(key, -math.inf) >= target["value"] - 1e-9)
    return out


def signal_rank(value: float, top_signals: Sequence[float], maximize: bool = True) -> int | None:
    """Rank of ``value`` among a table's best signals (1 = the optimum; tied values share the better rank);
    None when it is not among them. Under a constraint the list holds only feasible cells."""
    sign = 1.0 if maximize else -1.0
    better = sum(1 for v in top_signals if sign * v > sign * value + 1e-9)
    return None if better == len(top_signals) else better + 1


def rank_text(rank: float | None, kept: int = 100) -> str:
    """A rank as shown to users: ``"3"``, or ``"> 100"`` past the ``kept`` best values (``None`` or a value above it)."""
    return f"> {kept}" if rank is None or rank > kept else f"{rank:g}"


def decision_lines(summary: dict[str, Any] | None) -> list[str]:
    """The data-driven choices a run's strategy recorded (``strategy_decisions``), one line each, as shown to users."""
    lines = []
    for name, decision in ((summary or {}).get("strategy_decisions") or {}).items():
        values = ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in decision.items())
        lines.append(f"decision ({name}): {values}")
    return lines


def aggregate(summaries: Sequence[dict[str, Any]], key: str, checkpoints: Sequence[int]) -> dict[str, Any]:
    """Mean and std over runs of the reported ``key`` of the best cell at each checkpoint."""
    out: dict[str, Any] = {}
    for q in checkpoints:
        values = []
        for s in summaries:
            entry = s.get("at", {}).get(str(q))
            values.append(math.nan if entry is None else float(entry["reported"].get(key, math.nan)))
        arr = np.array(values, dtype=float)
        finite = arr[np.isfinite(arr)]
        out[str(q)] = {"mean": float(finite.mean()) if len(finite) else math.nan,
                       "std": float(finite.std()) if len(finite) else math.nan,
                       "runs": len(arr), "with_result": int(len(finite))}
    return out
