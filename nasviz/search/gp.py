"""Gaussian-process regression for the BO strategies, written for nasviz.

A zero-mean GP on standardised targets. The kernel mixes a Matern-5/2 kernel (or an RBF, ``kernel="rbf"``) on Euclidean distance
with a linear (dot-product) kernel: ``(1 - w) * matern(d / l) + w * <x, x'> / s``. On one-hot cell
encodings the dot product counts the matching ops, so the linear part is an additive model over
edges (it generalises "this op on this edge is good" across the space, as TPE's factorised model
does), and the Matern part captures interactions between nearby cells. The mixing weight, length
scale and noise level are picked by maximising the log marginal likelihood over a grid, with the
signal variance profiled out in closed form; a grid keeps the fit fast, deterministic and free of
optimiser restarts.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_factor, cho_solve, solve_triangular
from threadpoolctl import threadpool_limits

from nasviz.errors import ConfigError

DEFAULT_LENGTH_SCALES = tuple(float(v) for v in np.geomspace(0.3, 30.0, 12))
DEFAULT_NOISES = (1e-3, 1e-2, 3e-2, 1e-1, 3e-1)
DEFAULT_LINEAR_WEIGHTS = (0.0,)


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T, 0.0)


def matern52(sq_dist: np.ndarray, length_scale: float) -> np.ndarray:
    r = np.sqrt(5.0 * sq_dist) / length_scale
    return (1.0 + r + r * r / 3.0) * np.exp(-r)


def rbf(sq_dist: np.ndarray, length_scale: float) -> np.ndarray:
    return np.exp(-0.5 * sq_dist / length_scale**2)


#: stationary kernels of squared distance and length scale (unit variance)
KERNELS = {"matern52": matern52, "rbf": rbf}


class GaussianProcess:
    """GP regression; ``fit(x, y)`` then ``predict(x)`` -> mean and variance in the targets' units."""

    def __init__(self, length_scales: tuple[float, ...] = DEFAULT_LENGTH_SCALES,
                 noises: tuple[float, ...] = DEFAULT_NOISES,
                 linear_weights: tuple[float, ...] = DEFAULT_LINEAR_WEIGHTS, kernel: str = "matern52") -> None:
        if kernel not in KERNELS:
            raise ConfigError(f"unknown GP kernel {kernel!r}; choose {' or '.join(KERNELS)}")
        self.kernel = kernel
        self._stationary = KERNELS[kernel]
        if not length_scales or not noises or min(length_scales) <= 0 or min(noises) <= 0:
            raise ConfigError("a GP needs positive length scales and noise levels to choose from")
        self.length_scales = length_scales
        self.noises = noises
        if not linear_weights or min(linear_weights) < 0 or max(linear_weights) > 1:
            raise ConfigError("GP linear-kernel weights must lie in [0, 1]")
        self.linear_weights = linear_weights

    def fit(self, x: np.ndarray, y: np.ndarray, hyper: tuple[float, float, float] | None = None) -> GaussianProcess:
        """Fit to ``x``, ``y``; ``hyper`` = (length scale, linear weight, noise) skips the grid search
        (e.g. the :attr:`hyper` of an earlier fit; the signal variance is still profiled)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if len(x) < 2 or len(x) != len(y):
            raise ConfigError("a GP needs at least 2 observations with one target each")
        self.y_mean, self.y_std = float(y.mean()), float(y.std()) + 1e-9
        yn = (y - self.y_mean) / self.y_std
        n = len(yn)
        with threadpool_limits(limits=1):  # small matrices: threads only contend
            sq = squared_distances(x, x)
            self._dot_scale = max(float((x * x).sum(1).mean()), 1e-12)
            linear = x @ x.T / self._dot_scale
            best = None
            length_scales = (hyper[0],) if hyper else self.length_scales
            for length_scale in length_scales:
                stationary = self._stationary(sq, length_scale)
                for weight in ((hyper[1],) if hyper else self.linear_weights):
                    base = (1.0 - weight) * stationary + weight * linear
                    for noise in ((hyper[2],) if hyper else self.noises):
                        try:
                            factor = cho_factor(base + noise * np.eye(n), lower=True)
                        except np.linalg.LinAlgError:
                            continue
                        alpha = cho_solve(factor, yn)
                        signal_var = max(float(yn @ alpha) / n, 1e-12)
                        lml = -0.5 * n * np.log(signal_var) - float(np.log(np.diag(factor[0])).sum())
                        if best is None or lml > best[0]:
                            best = (lml, length_scale, weight, noise, factor, alpha, signal_var)
        if best is None and hyper is not None:
            return self.fit(x, y)
        if best is None:
            raise ConfigError("the GP kernel matrix is singular for every length scale and noise level tried")
        (self.log_marginal_likelihood, self.length_scale, self.linear_weight, self.noise, self._factor, self._alpha,
         self.signal_var) = best
        self._x = x
        self._integer_inputs = bool(np.array_equal(x, np.rint(x)))
        self._k_inv: np.ndarray | None = None
        return self

    @property
    def hyper(self) -> tuple[float, float, float]:
        """The fitted (length scale, linear weight, noise)."""
        return (self.length_scale, self.linear_weight, self.noise)

    def _cross_kernel(self, x: np.ndarray) -> np.ndarray:
        sq = squared_distances(x, self._x)
        if self._integer_inputs and np.array_equal(x, np.rint(x)):
            # integer encodings (one-hot, counts): few distinct distances, so look the kernel up
            steps = np.rint(sq).astype(np.int64)
            stationary = self._stationary(np.arange(int(steps.max(initial=0)) + 1, dtype=np.float64), self.length_scale)[steps]
        else:
            stationary = self._stationary(sq, self.length_scale)
        if self.linear_weight == 0.0:
            return stationary
        return (1.0 - self.linear_weight) * stationary + self.linear_weight * (x @ self._x.T / self._dot_scale)

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(x, dtype=np.float64)
        with threadpool_limits(limits=1):
            k = self._cross_kernel(x)
            mean = k @ self._alpha
            if self._k_inv is None:  # (K + noise I)^-1 once per fit: a matrix product per prediction is faster
                l_inv = solve_triangular(self._factor[0], np.eye(len(self._x)), lower=True, check_finite=False)
                self._k_inv = l_inv.T @ l_inv
            explained = np.einsum("ij,ij->i", k @ self._k_inv, k)
            prior = (1.0 - self.linear_weight) + self.linear_weight * (x * x).sum(1) / self._dot_scale
            var = self.signal_var * np.maximum(prior + self.noise - explained, 1e-12)
        return mean * self.y_std + self.y_mean, var * self.y_std**2
