"""NASLib zero-cost benchmark JSON files (``zc_nasbench101/201/301.json``).

Layout: ``{[benchmark:] {dataset: {arch_key: {"val_accuracy": v, "<proxy>": x | {"score": x, "time": t}}}}}``.
``val_accuracy`` becomes ``accuracy/DATASET/valid/<epochs>ep``; ``params`` and ``flops`` are kept with their
NASLib caveats; zero-cost proxies become ``zc_<name>/DATASET`` metrics.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nasviz.data.importers.common import Accumulator, check_exists, parse_cell_id, provenance_entry, to_float
from nasviz.data.metrics import MetricSpec, normalize_dataset
from nasviz.data.table import BenchmarkTable
from nasviz.errors import CellError, ConfigError, DataError
from nasviz.fileio import MAX_JSON_BYTES, load_json_capped
from nasviz.progress import ProgressCallback, no_progress

ZERO_COST = ("synflow", "snip", "grasp", "fisher", "grad_norm", "jacov", "epe_nas", "nwot", "plain", "l2_norm")


def _read_json(path: Path) -> Any:
    """The file's JSON (size-capped, nesting bounded); infinities are checked per field by the importer."""
    return load_json_capped(check_exists(path), MAX_JSON_BYTES, "NASLib JSON file", finite_only=False)


def _sections(data: Any, benchmark: str, path: Path) -> dict[str, dict[str, Any]]:
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object {{dataset: {{arch: {{...}}}}}}")
    if benchmark in data and isinstance(data[benchmark], dict):
        data = data[benchmark]
    sections = {}
    for dataset, entries in data.items():
        if not isinstance(entries, dict) or not entries:
            raise DataError(f"{path}: section {dataset!r} is not a non-empty {{arch: {{...}}}} object")
        first = next(iter(entries.values()))
        if not isinstance(first, dict) or "val_accuracy" not in first:
            raise DataError(f"{path}: section {dataset!r} is not NASLib zero-cost data (no 'val_accuracy' field); "
                            "did you pick the right import kind?")
        sections[normalize_dataset(dataset) or dataset] = entries
    return sections


def _score(value: Any) -> float:
    if isinstance(value, dict):
        value = value.get("score")
    return to_float(value)


def _import_naslib(paths: Sequence[Path], progress: ProgressCallback, *, space: str, benchmark: str,
                   epochs: int | None, accuracy_note: str, key_parser: Callable[[str], Any],
                   params_note: str, flops_note: str) -> BenchmarkTable:
    from nasviz.spaces import get_space

    if len(paths) != 1:
        raise ConfigError("a NASLib import takes exactly one JSON file")
    path = Path(paths[0])
    sections = _sections(_read_json(path), benchmark, path)
    space_obj = get_space(space)
    specs: dict[str, MetricSpec] = {}
    acc = Accumulator(space, [])
    total = sum(len(v) for v in sections.values())
    done = 0
    failed_proxies: dict[str, int] = {}
    for dataset, entries in sections.items():
        for arch_key, fields in entries.items():
            where = f"{path}: {dataset} entry {arch_key[:80]!r}"
            try:
                raw = key_parser(arch_key)
            except (ValueError, SyntaxError, CellError) as exc:
                raise DataError(f"{where}: cannot read the architecture key ({exc})") from None
            cell_id = parse_cell_id(space_obj, raw, where)
            values: dict[str, float] = {}
            for name, value in fields.items():
                if name == "val_accuracy":
                    spec = MetricSpec("accuracy", dataset, "valid", epochs, source=accuracy_note)
                elif name == "params":
                    spec = MetricSpec("params", dataset, unit="M", source=params_note)
                elif name == "flops":
                    spec = MetricSpec("flops", dataset, unit="M", source=flops_note)
                elif name in ZERO_COST:
                    spec = MetricSpec(f"zc_{name}", dataset, unit="", source=f"NASLib zero-cost proxy {name}")
                else:
                    continue
                try:
                    score = _score(value)
                except (TypeError, ValueError) as exc:
                    if name in ZERO_COST and "finite" in str(exc):  # NASLib writes -Infinity when a proxy failed
                        failed_proxies[name] = failed_proxies.get(name, 0) + 1
                        score = math.nan
                    else:
                        shown = str(value)[:60]
                        raise DataError(f"{where}: field {name!r} = {shown} is not a finite number") from None
                values[spec.key] = score
                specs.setdefault(spec.key, spec)
            acc.add(cell_id, values)
            done += 1
            if done % 200 == 0:
                progress(done, total, dataset)
    progress(total, total, path.name)
    acc.metrics = list(specs.values())
    note = f"NASLib zero-cost file, {len(sections)} dataset(s)"
    if acc.repeated_cells:
        note += f"; {acc.repeated_cells} duplicate keys of the same cell averaged"
    for name, count in sorted(failed_proxies.items()):
        note += f"; {count} {name} score(s) were infinite in the file (the proxy failed): stored as missing"
    return acc.table(provenance_entry(f"naslib-{space}", [path], acc.metrics, len(acc), notes=note))


def _nb201_key(text: str) -> Any:
    from nasviz.spaces.nb201 import from_naslib_op_indices

    values = ast.literal_eval(text)
    if not isinstance(values, tuple):
        raise ValueError("expected a tuple of 6 NASLib op ids")
    return from_naslib_op_indices(values)


def import_naslib_nb201(paths: Sequence[Path], progress: ProgressCallback = no_progress, **_: Any) -> BenchmarkTable:
    return _import_naslib(paths, progress, space="nb201", benchmark="nasbench201", epochs=200, key_parser=_nb201_key,
                          accuracy_note="NASLib val_accuracy = NB201 200-epoch validation accuracy "
                                        "(cifar10: cifar10-valid x-valid)",
                          params_note="NASLib params (equal to the NB201 parameter count)",
                          flops_note="NASLib tensorwatch FLOPs on NASLib's model (not the NB201 FLOPs convention)")


def import_naslib_nb101(paths: Sequence[Path], progress: ProgressCallback = no_progress, **_: Any) -> BenchmarkTable:
    return _import_naslib(paths, progress, space="nb101", benchmark="nasbench101", epochs=108, key_parser=str,
                          accuracy_note="NASLib val_accuracy = NB101 108-epoch validation accuracy of ONE sampled "
                                        "repeat (NASLib query), not the mean of the 3 repeats",
                          params_note="NASLib params (M)", flops_note="NASLib FLOPs (M) on NASLib's model")


def import_naslib_nb301(paths: Sequence[Path], progress: ProgressCallback = no_progress, **_: Any) -> BenchmarkTable:
    return _import_naslib(paths, progress, space="darts", benchmark="nasbench301", epochs=None, key_parser=str,
                          accuracy_note="SURROGATE: NAS-Bench-301 surrogate-model prediction of the validation "
                                        "accuracy (NASLib nb301_model), not a real training run",
                          params_note="NASLib params (M) of NASLib's small DARTS model",
                          flops_note="NASLib FLOPs (M) of NASLib's small DARTS model")


__all__ = ["import_naslib_nb101", "import_naslib_nb201", "import_naslib_nb301"]
