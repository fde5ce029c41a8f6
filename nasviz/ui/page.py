"""Page setup, the search-space selector and the benchmark-data status panel."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import streamlit as st

from nasviz.errors import NasvizError
from nasviz.spaces import SPACE_NAMES, SearchSpace, get_space
from nasviz.ui.guard import md_escape

APP_NAME = "nasviz"


def setup_page(title: str, icon: str = ":material/hub:", layout: str = "wide") -> None:
    """Page config shared by every page: ``<title> · nasviz``, wide layout."""
    st.set_page_config(page_title=f"{title} · {APP_NAME}", page_icon=icon, layout=layout)  # type: ignore[arg-type]


@cache
def available_spaces() -> tuple[str, ...]:
    """Names of the search spaces whose modules are installed (all four once every module exists)."""
    names = []
    for name in SPACE_NAMES:
        try:
            get_space(name)
        except (ImportError, NasvizError):
            continue
        names.append(name)
    return tuple(names)


def space_selector(key: str = "space", label: str = "Search space", default: str = "nb201",
                   container: Any = None, spaces: tuple[str, ...] | None = None) -> SearchSpace:
    """A selectbox of the installed search spaces; returns the chosen :class:`SearchSpace`.
    The choice is kept in ``st.session_state[key]`` and shared across pages with the same key."""
    names = spaces or available_spaces()
    target = container if container is not None else st
    index = names.index(default) if default in names else 0
    name = target.selectbox(label, names, index=index, key=key, format_func=lambda n: f"{get_space(n).title} ({n})")
    return get_space(name)


def data_status_rows() -> list[dict[str, Any]] | None:
    """``nasviz.data.status()`` or None while the data module is not installed."""
    try:
        from nasviz.data import status
    except ImportError:
        return None
    return status()


#: largest manifest.json read for the home page's model list
MAX_MANIFEST_BYTES = 2 << 20


def _percent(value: Any) -> str:
    return f"{100 * value:.1f} %" if isinstance(value, (int, float)) else "?"


def _encoder_figures(metrics: dict[str, Any]) -> list[str]:
    """The headline figures an encoder's manifest records (reconstruction, prior, generation, NAO)."""
    figures = []
    recon = metrics.get("reconstruction") or {}
    if "reconstruction_accuracy" in recon:
        figures.append(f"reconstruction accuracy {_percent(recon['reconstruction_accuracy'])} "
                       f"({recon.get('num_cells', '?'):,} held-out cells)")
    prior = metrics.get("prior") or {}
    for rule in ("constrained", "paper"):
        if isinstance(prior.get(rule), dict) and "validity" in prior[rule]:
            figures.append(f"prior ({rule}) validity {_percent(prior[rule]['validity'])}, "
                           f"uniqueness {_percent(prior[rule].get('uniqueness'))}")
    generation = metrics.get("generation") or {}
    if "validity" in generation:
        figures.append(f"generation validity {_percent(generation['validity'])}, uniqueness "
                       f"{_percent(generation.get('uniqueness'))}, novelty {_percent(generation.get('novelty'))} "
                       f"of {generation.get('samples', '?'):,} samples")
    held_out = metrics.get("held_out") or {}
    if "exact_reconstruction" in held_out:
        figures.append(f"held-out exact reconstruction {_percent(held_out['exact_reconstruction'])}, "
                       f"pairwise accuracy {_percent(held_out.get('pairwise_accuracy'))} "
                       f"({held_out.get('num_cells', '?'):,} cells)")
    return figures


def _nat_figures(manifest: dict[str, Any]) -> list[str]:
    """The held-out evaluation a NAT policy's manifest records (or its last training step)."""
    figures = []
    evaluation = next((v for k, v in sorted((manifest.get("metrics") or {}).items())
                       if k.startswith("evaluation") and isinstance(v, dict)), None)
    if evaluation and isinstance(evaluation.get("nat"), dict):
        nat = evaluation["nat"]
        figures.append(f"{evaluation.get('cells', '?')} held-out cells, {evaluation.get('metric', '?')}: "
                       f"{nat.get('mean_before', float('nan')):.2f} -> {nat.get('mean_after', float('nan')):.2f} "
                       f"({nat.get('mean_gain', float('nan')):+.2f}), {_percent(nat.get('improved'))} improved")
        random = evaluation.get("random")
        if isinstance(random, dict) and "mean_gain" in random:
            figures.append(f"random transformations: {random['mean_gain']:+.2f}")
    history = manifest.get("history") or []
    if not figures and history and isinstance(history[-1], dict) and "mean_gain" in history[-1]:
        reward = manifest.get("reward") or {}
        figures.append(f"mean reward gain {history[-1]['mean_gain']:+.2f} at step {history[-1].get('step', '?')} "
                       f"({reward.get('metric', 'reward')}, {reward.get('dataset', '')})".replace(", )", ")"))
    return figures


def shipped_model_rows(models_dir: Path | None = None) -> list[dict[str, Any]]:
    """One row per model shipped in ``models/`` (``<space>/<name>/manifest.json``, read as JSON only, no
    torch): space, model, kind (encoder or NAT policy), its recorded figures and the command that trained it.
    A manifest that cannot be read gives a row naming the problem."""
    from nasviz.paths import MODELS_DIR

    root = Path(models_dir) if models_dir is not None else MODELS_DIR
    rows: list[dict[str, Any]] = []
    if not root.is_dir():
        return rows
    for path in sorted(root.glob("*/*/manifest.json")):
        group, name = path.parent.parent.name, path.parent.name
        row: dict[str, Any] = {"space": group, "model": name, "kind": "", "figures": "", "command": "",
                               "data_version": ""}
        try:
            if path.stat().st_size > MAX_MANIFEST_BYTES:
                raise ValueError(f"larger than {MAX_MANIFEST_BYTES:,} bytes")
            manifest = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(manifest, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as exc:
            row["figures"] = f"unreadable manifest {path.name}: {exc}"
            rows.append(row)
            continue
        is_policy = "rule" in manifest and "encoder" not in manifest
        if is_policy:
            row.update(space=str(manifest.get("space", group)), kind=f"NAT policy ({manifest.get('rule', '?')} rule)")
            figures = _nat_figures(manifest)
        else:
            row.update(space=str(manifest.get("space", group)), kind=f"encoder {manifest.get('encoder', name)}")
            figures = _encoder_figures(manifest.get("metrics") or {})
            if not figures:
                embedding = manifest.get("embedding") or {}
                figures = [f"no training: {embedding.get('kind', 'fixed encoding')}"] if embedding else []
        row["figures"] = "; ".join(figures) or "no figures recorded"
        row["command"] = str(manifest.get("command", ""))
        row["data_version"] = str(manifest.get("data_version") or "")
        rows.append(row)
    return rows


def _provenance_summary(row: dict[str, Any]) -> str:
    parts = []
    for entry in row.get("provenance") or []:
        files = ", ".join(str(f.get("name")) for f in entry.get("files", []))
        text = f"{entry.get('importer', '?')}: {files}"
        if entry.get("licence"):
            text += f" ({entry['licence']})"
        parts.append(text)
    return "; ".join(parts)


def show_data_status() -> None:
    """Which benchmark tables there are (embedded or imported: provenance, licence, rows, metrics), and
    the recommended command to import more for each space (alternatives in an expander)."""
    try:
        rows = data_status_rows()
    except NasvizError as exc:
        st.error(f"Could not read the benchmark data store: {md_escape(str(exc))}")
        return
    if rows is None:
        st.info("The benchmark data module is not installed yet.")
        return
    table = [{"benchmark": r.get("benchmark"), "source": r.get("source") or "none", "rows": r.get("rows", 0),
              "metrics": len(r.get("metrics", [])), "data version": r.get("data_version") or "",
              "provenance": _provenance_summary(r)} for r in rows]
    st.dataframe(table, hide_index=True, width="stretch")
    for row in rows:
        if row.get("source") == "embedded":
            entry = next((e for e in row.get("provenance") or [] if e.get("embedded")), {})
            st.caption(f"**{row['benchmark']}**: the embedded table shipped with nasviz ({row.get('rows', 0):,} cells, "
                       f"{len(row.get('metrics', []))} metrics; {md_escape(str(entry.get('notes', '')))}; licence: "
                       f"{md_escape(str(entry.get('licence', 'see nasviz/data/embedded/SOURCES.md')))}; sources and "
                       "commits in `nasviz/data/embedded/SOURCES.md`). It is used until you import a table; an import "
                       "merges onto it, `--replace` replaces it.")
        if row.get("error"):
            st.warning(f"{row['benchmark']}: {md_escape(str(row['error']))}")


def show_import_hints() -> None:
    """Per space, the recommended import command (copy-pasteable, explained beside it) and the alternatives."""
    rows = data_status_rows() or []
    for row in rows:
        command = row.get("import_recommended")
        if not command:
            continue
        title = f"{row['benchmark']}: " + ("add more data" if row.get("available") else "import data")
        with st.expander(title, expanded=not row.get("available")):
            st.code(command, language="bash")
            if row.get("import_why"):
                st.caption(md_escape(row["import_why"]))
            alternatives = row.get("import_alternatives") or []
            if alternatives:
                st.markdown("Alternatives:")
                for alt in alternatives:
                    st.code(alt["command"], language="bash")
                    if alt.get("note"):
                        st.caption(md_escape(alt["note"]))


def show_shipped_models() -> None:
    """The trained models shipped in ``models/``, per space, with the figures their manifests record."""
    rows = shipped_model_rows()
    if not rows:
        st.info("No trained models are shipped in `models/`.")
        return
    by_space: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_space.setdefault(row["space"], []).append(row)
    order = {name: i for i, name in enumerate(SPACE_NAMES)}
    for space, items in sorted(by_space.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])):
        st.markdown(f"**{space}**")
        st.dataframe([{"model": r["model"], "kind": r["kind"], "figures": r["figures"], "trained with": r["command"],
                       "table data version": r["data_version"]} for r in items], hide_index=True, width="stretch")
