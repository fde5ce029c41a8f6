"""GP-BO: Bayesian optimisation with a Gaussian process on the cells' one-hot encoding.

The generic model-based baseline NAS benchmarks compare against (e.g. NASLib's GP-BO): every cell
is encoded by the one-hot vector of its categorical parameters (the same parametrisation TPE sees:
one op per NB201 edge; edge bits and interior ops on NB101), a Matern-5/2 GP
(:mod:`nasviz.search.gp`) is refitted after every batch, and expected improvement is maximised
exactly over the unvisited cells of the domain (a benchmark table is small enough to score every
cell); without a table the candidates are random cells plus one-edit neighbours of the best ones.
``features="arch2vec"`` runs the same loop on the pre-trained arch2vec embeddings instead.

``features="paths"`` appends the path encoding (BANANAS): the count of every input-to-output op sequence
of the cell's graph, so the model sees which ops act in series.

Under a latency constraint a second GP models the latency and the acquisition is constrained EI,
``EI * P(latency <= L)`` (Gardner et al., 2014); before any feasible cell is seen it is
``P(latency <= L)`` alone. ``latency_model``: the latency GP models log-latencies (default) or raw
latencies (raw ones are closer to additive over the ops: docs/search-nb201.md). ``min_feasible_probability`` > 0 skips
candidates whose ``P(latency <= L)`` is below it unless none reaches it (0.5 raises the feasibility ratio a lot but
loses accuracy at tight limits); ``min_feasible_probability_until`` = N > 0 applies that threshold only while fewer
than N cells are observed, then plain constrained EI scores every candidate. With Joint=1 the regression target is
AG-Net's joint rank score.
``refit_every`` > 1 reuses the GP hyper-parameters between grid searches (faster, slightly different
proposals). ``skip_degenerate`` leaves out candidates whose output does not depend on their input (NB201 cells
whose every path is cut by ``none``: chance accuracy, near-zero latency). They are known from the cell alone, and
under a latency limit their near-zero latency otherwise lures the constrained acquisition.

Two encodings build knowledge of dead code into the models (both default to ``"cell"``, the plain one-hot).
``signal_encoding="functional"`` encodes each cell as the network it computes
(:meth:`~nasviz.search.moves.SpaceMoves.functional_cell`: ops that cannot influence the output become ``none``), so
cells that compute the same function share one encoding. ``latency_encoding="executed"`` gives the latency GP the
cell's one-hot plus the one-hot of the ops a graph compiler still executes
(:meth:`~nasviz.search.moves.SpaceMoves.executed_cell`: ops whose result never reaches the output are dropped), as
measured latencies on NB201/Pixel 3 do.

``dead_code_encodings_below`` = f > 0 picks those two encodings for tight limits automatically. At the first model fit
a latency GP (the setting's latency model, on the plain one-hot) is fitted to the initial random sample alone, and the
mean of ``P(latency <= L)`` over the candidate cells estimates the share of feasible cells. Below f the run uses
``signal_encoding="functional"`` and ``latency_encoding="executed"`` from then on; otherwise it keeps the settings.
The decision (estimate, encodings) is :attr:`GPBO.encoding_decision`; it depends only on the initial sample, so a
resumed run takes the same one. Tight limits are met mostly by cells with dead code, which the plain one-hot models
poorly; the figures behind every setting are in docs/search-nb201.md.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nasviz.errors import ConfigError
from nasviz.search.base import SearchContext, Strategy
from nasviz.search.constraints import latency_targets, log_latency_targets, regression_targets
from nasviz.search.dngo import expected_improvement, probability_below
from nasviz.search.gp import GaussianProcess
from nasviz.settings import Setting

LENGTH_SCALES = tuple(float(v) for v in np.geomspace(0.5, 20.0, 8))
FEATURES = ("onehot", "paths", "arch2vec")
SIGNAL_ENCODINGS = ("cell", "functional")
LATENCY_ENCODINGS = ("cell", "executed")
#: (space, cell id) -> the cell's path tokens, shared by the runs of one process (a table is scanned once)
_PATH_CACHE: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {}
#: (space, features, domain) -> the domain's encodings and path vocabulary (read-only; shared by runs)
_DOMAIN_CACHE: dict[tuple[str, str, int], tuple[np.ndarray, dict[tuple[str, ...], int]]] = {}


class GPBO(Strategy):
    name = "gp-bo"
    title = "GP-BO (Matern GP + EI on one-hot cells)"
    setting_fields = (
        Setting("initial_samples", "int", 16, "Random cells before the first GP fit.", low=1, high=100_000),
        Setting("features", "choice", "onehot", "Model inputs: onehot (the categorical parameters), paths (one-hot "
                "plus the count of every input-to-output op sequence, BANANAS) or arch2vec (the pre-trained "
                "embeddings).", choices=FEATURES),
        Setting("candidates", "int", 1000, "Random candidate cells per proposal when there is no table to score "
                "whole.", low=1, high=1_000_000),
        Setting("xi", "float", 0.0, "Exploration margin of expected improvement.", low=0.0, high=1e6, step=0.01),
        Setting("linear_weights", "floats", [0.0, 0.25, 0.5, 0.75, 0.9], "Weights of the linear kernel tried by "
                "the hyper-parameter search (comma-separated, each in [0, 1]).", low=0.0, high=1.0),
        Setting("latency_model", "choice", "log", "Under a latency limit, the latency GP models log (default) or "
                "raw latencies.", choices=("log", "raw")),
        Setting("min_feasible_probability", "float", 0.0, "Under a latency limit, skip candidates whose P(latency "
                "<= L) is below this unless none reaches it (0: off).", low=0.0, high=1.0, step=0.05),
        Setting("refit_every", "int", 1, "Observations between hyper-parameter searches (reused in between).",
                low=1, high=100_000),
        Setting("skip_degenerate", "bool", False, "Leave out cells whose output does not depend on their input "
                "(every path cut by none)."),
        Setting("signal_encoding", "choice", "cell", "cell (the plain one-hot) or functional (the network the "
                "cell computes: ops that cannot reach the output become none).", choices=SIGNAL_ENCODINGS),
        Setting("latency_encoding", "choice", "cell", "cell (the plain one-hot) or executed (plus the ops a graph "
                "compiler still executes).", choices=LATENCY_ENCODINGS),
        Setting("min_feasible_probability_until", "int", 0, "Apply min_feasible_probability only while fewer "
                "than this many cells are observed (0: always).", low=0, high=1_000_000),
        Setting("dead_code_encodings_below", "float", 0.0, "Under a latency limit, switch to the functional and "
                "executed encodings when the feasible share estimated from the initial sample is below this "
                "(0: off).", low=0.0, high=1.0, step=0.05),
    )

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> None:
        if settings["features"] == "arch2vec":
            if settings["signal_encoding"] != "cell":
                raise ConfigError("gp-bo signal_encoding applies to one-hot features, not to arch2vec embeddings")
            if settings["dead_code_encodings_below"] > 0:
                raise ConfigError("gp-bo dead_code_encodings_below applies to one-hot features, not to arch2vec "
                                  "embeddings")

    def __init__(self, context: SearchContext, seed: int, **settings: Any) -> None:
        super().__init__(context, seed, **settings)
        features = str(self.settings["features"])
        self.signal_encoding = str(self.settings["signal_encoding"])
        self.latency_encoding = str(self.settings["latency_encoding"])
        #: with ``dead_code_encodings_below``: the estimated feasible share and whether the dead-code encodings are on
        self.encoding_decision: dict[str, Any] | None = None
        self._latency_vectors: dict[str, np.ndarray] = {}
        self._vectors: dict[str, np.ndarray] = {}
        self._table = None
        if features == "arch2vec":
            from nasviz.search.strategies.latent import LatentTable

            self._table = LatentTable(context, "arch2vec")
            mean, std = self._table.vectors.mean(0), self._table.vectors.std(0) + 1e-9
            self._table_vectors = (self._table.vectors - mean) / std
        else:
            choices = self.moves.param_choices()
            self._slots = {name: {value: i for i, value in enumerate(values)} for name, values in choices.items()}
            self._offsets = np.cumsum([0] + [len(values) for values in choices.values()])[:-1]
            self._width = int(sum(len(values) for values in choices.values()))
        self._domain_matrix: np.ndarray | None = None
        self._vocab: dict[tuple[str, ...], int] = {}
        self._hyper: dict[str, tuple[int, tuple[float, float, float]]] = {}  # model -> (fitted at n, hyper)
        self._degenerate: np.ndarray | None = None

    @classmethod
    def required_encoders(cls, settings: dict[str, Any]) -> tuple[str, ...]:
        return ("arch2vec",) if settings.get("features") == "arch2vec" else ()

    # ---- encodings ---------------------------------------------------------------------------
    def _encode(self, cell: Any) -> np.ndarray:
        cid = self.moves.cell_id(cell)
        if cid in self._vectors:
            return self._vectors[cid]
        if self._table is not None:
            if cid not in self._table.row:
                raise ConfigError(f"cell {cid} has no arch2vec embedding; use gp-bo with features=onehot")
            vector = self._table_vectors[self._table.row[cid]]
        else:
            vector = self._onehot(self.moves.functional_cell(cell) if self.signal_encoding == "functional" else cell)
        self._vectors[cid] = vector
        return vector

    def _onehot(self, cell: Any) -> np.ndarray:
        vector = np.zeros(self._width)
        params = self.moves.cell_params(cell)
        for (name, slots), offset in zip(self._slots.items(), self._offsets, strict=True):
            vector[offset + slots[params[name]]] = 1.0
        return vector

    def _latency_vector(self, cid: str, cell: Any | None) -> np.ndarray:
        """``latency_encoding="executed"``: the cell's one-hot plus the one-hot of the ops still executed after
        dead-code elimination (:meth:`SpaceMoves.executed_cell`)."""
        if cid not in self._latency_vectors:
            cell = cell if cell is not None else self.moves.cell_from_id(cid)
            self._latency_vectors[cid] = np.concatenate([self._onehot(cell),
                                                         self._onehot(self.moves.executed_cell(cell))])
        return self._latency_vectors[cid]

    def _paths(self, cell: Any) -> tuple[tuple[str, ...], ...]:
        key = (self.moves.name, self.moves.cell_id(cell))
        if key not in _PATH_CACHE:
            _PATH_CACHE[key] = tuple(sorted(self.moves.path_tokens(cell)))
        return _PATH_CACHE[key]

    def _matrix(self, cells: list[Any]) -> np.ndarray:
        """Encodings of ``cells``: one-hot, plus with ``features="paths"`` the count of each path
        (op sequence) over the vocabulary of paths seen so far (it grows; callers encode the
        observed and the candidate cells together)."""
        onehot = np.stack([self._encode(cell) for cell in cells])
        if self.settings["features"] != "paths":
            return onehot
        paths = [self._paths(cell) for cell in cells]
        for cell_paths in paths:
            for tokens in cell_paths:
                self._vocab.setdefault(tokens, len(self._vocab))
        counts = np.zeros((len(cells), len(self._vocab)))
        for row, cell_paths in enumerate(paths):
            for tokens in cell_paths:
                counts[row, self._vocab[tokens]] += 1.0
        return np.concatenate([onehot, counts], axis=1)

    def _domain(self) -> tuple[list[str], np.ndarray]:
        """Ids and encodings of every cell of the domain (computed once)."""
        if self._table is not None:
            return self._table.ids, self._table_vectors
        assert self._domain_list is not None
        if self._domain_matrix is None:
            key = (self.moves.name, f"{self.settings['features']}/{self.signal_encoding}",
                   hash(tuple(self._domain_list)))
            if key not in _DOMAIN_CACHE:
                matrix = self._matrix([self.moves.cell_from_id(cid) for cid in self._domain_list])
                for stale in [k for k in _DOMAIN_CACHE if k[0] != key[0] or k[2] != key[2]]:
                    del _DOMAIN_CACHE[stale]  # one table at a time (both encodings of it may be needed)
                _DOMAIN_CACHE[key] = (matrix, dict(self._vocab))
            self._domain_matrix, vocab = _DOMAIN_CACHE[key]
            self._vocab = dict(vocab)
            self._domain_rows = {cid: i for i, cid in enumerate(self._domain_list)}
        return self._domain_list, self._domain_matrix

    def _candidates(self) -> tuple[list[Any] | None, list[str], np.ndarray]:
        """Unvisited candidate cells (None when they are domain rows), their ids and encodings."""
        if self._table is not None or self._domain_list is not None:
            ids, matrix = self._domain()
            keep = np.fromiter((cid not in self.visited for cid in ids), dtype=bool, count=len(ids))
            if self.settings["skip_degenerate"]:
                keep &= ~self._degenerate_mask(ids)
            rows = np.flatnonzero(keep)
            return None, [ids[i] for i in rows], matrix[rows]
        cells: dict[str, Any] = {}
        order = np.argsort(-self.fitness(), kind="stable")[:10]
        for row in order.tolist():  # one-edit neighbours of the best cells
            for cell in self.moves.neighbours(self.history_cells[row]):
                cid = self.moves.cell_id(cell)
                if cid not in self.visited:
                    cells.setdefault(cid, cell)
        for cell in self.random_new_cells(int(self.settings["candidates"])):
            cells.setdefault(self.moves.cell_id(cell), cell)
        if self.settings["skip_degenerate"]:
            cells = {cid: cell for cid, cell in cells.items() if not self.moves.is_degenerate(cell)}
        ids = list(cells)
        return list(cells.values()), ids, self._matrix([cells[cid] for cid in ids])

    def _degenerate_mask(self, ids: list[str]) -> np.ndarray:
        """Which domain cells are degenerate (computed once per domain)."""
        if self._degenerate is None or len(self._degenerate) != len(ids):
            self._degenerate = np.fromiter((self.moves.is_degenerate(self.moves.cell_from_id(cid)) for cid in ids),
                                           dtype=bool, count=len(ids))
        return self._degenerate

    # ---- the loop ----------------------------------------------------------------------------
    def _gp(self) -> GaussianProcess:
        return GaussianProcess(length_scales=LENGTH_SCALES,
                               linear_weights=tuple(float(w) for w in self.settings["linear_weights"]))

    def _fit(self, model: str, x: np.ndarray, y: np.ndarray) -> GaussianProcess:
        """A GP on ``x``, ``y``; its hyper-parameters are searched every ``refit_every`` observations
        and reused in between (the search over the grid is most of the cost)."""
        n = len(y)
        last = self._hyper.get(model)
        reuse = last is not None and n - last[0] < int(self.settings["refit_every"])
        gp = self._gp().fit(x, y, hyper=last[1] if reuse and last is not None else None)
        if not reuse:
            self._hyper[model] = (n, gp.hyper)
        return gp

    def _latency_inputs(self, x: np.ndarray, candidates: np.ndarray, ids: list[str],
                        cells: list[Any] | None) -> tuple[np.ndarray, np.ndarray]:
        """Inputs of the latency GP: the signal encodings, or with ``latency_encoding="executed"`` the one-hot of the
        cell and of its executed ops."""
        if self.latency_encoding == "cell":
            return x, candidates
        history = np.stack([self._latency_vector(cid, cell) for cid, cell in zip(self.history_ids, self.history_cells,
                                                                                    strict=True)])
        pool = np.stack([self._latency_vector(cid, cells[i] if cells is not None else None)
                         for i, cid in enumerate(ids)])
        return history, pool

    def decisions(self) -> dict[str, Any]:
        return {"encodings": self.encoding_decision} if self.encoding_decision is not None else {}

    def _latency_model_targets(self, observations: list[Any]) -> tuple[np.ndarray, float]:
        """Latency GP targets (log or raw latencies) and the limit on the same scale."""
        assert self.constraint is not None
        if self.settings["latency_model"] == "log":
            return log_latency_targets(observations), math.log(self.constraint.max_latency)
        return latency_targets(observations), self.constraint.max_latency

    def _decide_encodings(self, cells: list[Any] | None, ids: list[str], matrix: np.ndarray) -> bool:
        """``dead_code_encodings_below``: estimate the feasible share of the candidates (``cells``/``ids`` and their
        signal encodings ``matrix``, as from :meth:`_candidates`) from the initial random sample, and switch to the
        dead-code encodings when it is below the setting. Runs once; True when the encodings changed."""
        below = float(self.settings["dead_code_encodings_below"])
        if self.encoding_decision is not None or below <= 0 or self.constraint is None:
            return False
        if self.signal_encoding == "cell":  # the one-hot columns come first
            plain = matrix[:, :self._width]
        else:
            plain = np.stack([self._onehot(cells[i] if cells is not None else self.moves.cell_from_id(cid))
                              for i, cid in enumerate(ids)])
        initial = int(self.settings["initial_samples"])  # asked only once that many cells are observed
        sample = np.stack([self._onehot(cell) for cell in self.history_cells[:initial]])
        targets, limit = self._latency_model_targets(self.history_obs[:initial])
        mean, var = self._gp().fit(sample, targets).predict(plain)
        share = float(probability_below(mean, var, limit).mean())
        switch = share < below
        self.encoding_decision = {"observations": initial, "feasible_share": share, "dead_code_encodings": switch}
        if switch:
            self.signal_encoding, self.latency_encoding = "functional", "executed"
            self._vectors.clear()
            self._domain_matrix = None
        return switch

    def _acquisition(self, x: np.ndarray, candidates: np.ndarray, ids: list[str] | None = None,
                     cells: list[Any] | None = None) -> np.ndarray:
        y = regression_targets(self.history_obs, self.constraint)
        mean, var = self._fit("signal", x, y).predict(candidates)
        feasible = np.array([o.feasible for o in self.history_obs], dtype=bool)
        incumbent = float(y[feasible].max()) if feasible.any() else float(y.min())
        acquisition = expected_improvement(mean, var, incumbent, float(self.settings["xi"]))
        if self.constraint is not None:
            targets, limit = self._latency_model_targets(self.history_obs)
            lat_x, lat_candidates = self._latency_inputs(x, candidates, ids or [], cells)
            lat_mean, lat_var = self._fit("latency", lat_x, targets).predict(lat_candidates)
            p_feasible = probability_below(lat_mean, lat_var, limit)
            acquisition = p_feasible if not feasible.any() else acquisition * p_feasible
            threshold = float(self.settings["min_feasible_probability"])
            until = int(self.settings["min_feasible_probability_until"])
            if until and len(y) >= until:
                threshold = 0.0
            if threshold > 0 and feasible.any() and (p_feasible >= threshold).any():
                acquisition = np.where(p_feasible >= threshold, acquisition, -1.0)
        return acquisition

    def ask(self, n: int) -> list[Any]:
        if len(self.history_obs) < int(self.settings["initial_samples"]):
            if self._table is not None:
                return [self.moves.cell_from_id(cid) for cid in self._random_table_ids(n)]
            return self.random_new_cells(n)
        cells, ids, matrix = self._candidates()
        if not ids:
            raise ConfigError("the search has queried every candidate cell; lower the budget")
        if self._decide_encodings(cells, ids, matrix):
            cells, ids, matrix = self._candidates()
        x = self._history_matrix()
        if x.shape[1] > matrix.shape[1]:  # paths first seen in the history: no candidate has them
            matrix = np.pad(matrix, ((0, 0), (0, x.shape[1] - matrix.shape[1])))
        acquisition = self._acquisition(x, matrix, ids, cells)
        order = np.lexsort((np.arange(len(acquisition)), -acquisition))[:n]
        out = [cells[i] if cells is not None else self.moves.cell_from_id(ids[i]) for i in order.tolist()]
        if len(out) < n:
            out += self.random_new_cells(n - len(out), {self.moves.cell_id(c) for c in out})
        return out

    def _history_matrix(self) -> np.ndarray:
        """Encodings of the observed cells, in the candidates' columns."""
        if self._domain_matrix is not None and all(cid in self._domain_rows for cid in self.history_ids):
            return self._domain_matrix[[self._domain_rows[cid] for cid in self.history_ids]]
        return self._matrix(self.history_cells)

    def _random_table_ids(self, n: int) -> list[str]:
        assert self._table is not None
        free = [cid for cid in self._table.ids if cid not in self.visited]
        if len(free) < n:
            raise ConfigError("every cell with an embedding has been queried; lower the budget")
        return [free[i] for i in self.rng.choice(len(free), size=n, replace=False).tolist()]
