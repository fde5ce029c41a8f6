"""DNGO (Snoek et al., 2015): an MLP trained on the observations, then Bayesian linear regression on
its last hidden layer with the prior precision ``alpha`` and noise precision ``beta`` fitted by
maximising the marginal likelihood (type-II maximum likelihood). Written for nasviz.

Inputs and targets are standardised; the MLP is ``d -> hidden (tanh) -> 1`` as in arch2vec's
"one-layer fully connected network with hidden dimension 128", trained with Adam (lr 1e-2,
100 epochs). Seeded: weights and mini-batches come from a private torch generator.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.optimize import minimize
from scipy.stats import norm
from threadpoolctl import threadpool_limits
from torch import nn

from nasviz.errors import ConfigError


class _BasisNet(nn.Module):
    def __init__(self, d_in: int, hidden: int) -> None:
        super().__init__()
        self.hidden = nn.Linear(d_in, hidden)
        self.out = nn.Linear(hidden, 1)

    def basis(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.hidden(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.basis(x)).squeeze(-1)


def _init_uniform(module: nn.Module, generator: torch.Generator) -> None:
    """PyTorch's default Linear initialisation, drawn from ``generator``."""
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, nn.Linear):
                bound = 1.0 / math.sqrt(layer.in_features)
                layer.weight.copy_(torch.rand(layer.weight.shape, generator=generator) * 2 * bound - bound)
                layer.bias.copy_(torch.rand(layer.bias.shape, generator=generator) * 2 * bound - bound)


class BayesianLinearRegression:
    """Bayesian linear regression with marginal-likelihood-fitted ``alpha`` (prior) and ``beta`` (noise)."""

    def __init__(self, log_alpha_bounds: tuple[float, float] = (-10.0, 10.0),
                 log_beta_bounds: tuple[float, float] = (-5.0, 15.0)) -> None:
        self.log_alpha_bounds = log_alpha_bounds
        self.log_beta_bounds = log_beta_bounds
        self.alpha = 1.0
        self.beta = 1.0

    def fit(self, phi: np.ndarray, y: np.ndarray) -> BayesianLinearRegression:
        with threadpool_limits(limits=1):  # tiny matrices: threads only contend
            return self._fit(phi, y)

    def _fit(self, phi: np.ndarray, y: np.ndarray) -> BayesianLinearRegression:
        phi = np.asarray(phi, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        n, k = phi.shape
        gram = phi.T @ phi
        eigvals, eigvecs = np.linalg.eigh(gram)
        eigvals = np.clip(eigvals, 0.0, None)
        proj = eigvecs.T @ (phi.T @ y)
        yy = float(y @ y)

        def neg_lml(params: np.ndarray) -> float:
            alpha, beta = np.exp(params)
            denom = beta * eigvals + alpha
            m = beta * proj / denom
            resid = yy - 2.0 * float(m @ proj) + float((eigvals * m) @ m)
            lml = (0.5 * k * math.log(alpha) + 0.5 * n * math.log(beta) - 0.5 * beta * max(resid, 0.0)
                   - 0.5 * alpha * float(m @ m) - 0.5 * float(np.log(denom).sum()) - 0.5 * n * math.log(2 * math.pi))
            return -lml

        # a coarse grid for a good start, then L-BFGS-B on (log alpha, log beta)
        grid = [(a, b) for a in np.linspace(*self.log_alpha_bounds, 9) for b in np.linspace(*self.log_beta_bounds, 9)]
        start = min(grid, key=lambda p: neg_lml(np.array(p)))
        result = minimize(neg_lml, np.array(start), method="L-BFGS-B",
                          bounds=[self.log_alpha_bounds, self.log_beta_bounds])
        self.alpha, self.beta = (float(v) for v in np.exp(result.x))
        self.log_marginal_likelihood = -float(result.fun)
        precision = self.beta * gram + self.alpha * np.eye(k)
        self._cov = np.linalg.inv(precision)
        self._cov = 0.5 * (self._cov + self._cov.T)
        self.mean = self.beta * self._cov @ (phi.T @ y)
        return self

    def predict(self, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predictive mean and variance (noise included)."""
        phi = np.asarray(phi, dtype=np.float64)
        mean = phi @ self.mean
        var = ((phi @ self._cov) * phi).sum(axis=1) + 1.0 / self.beta
        return mean, np.maximum(var, 1e-12)


class DNGO:
    """Adaptive-basis regression: MLP features + :class:`BayesianLinearRegression`."""

    def __init__(self, hidden: int = 128, epochs: int = 100, lr: float = 1e-2, batch_size: int = 32,
                 seed: int = 0) -> None:
        if hidden < 1 or epochs < 1 or batch_size < 1 or lr <= 0:
            raise ConfigError("DNGO needs hidden, epochs and batch_size >= 1 and a positive learning rate")
        self.hidden, self.epochs, self.lr, self.batch_size, self.seed = hidden, epochs, lr, batch_size, seed

    def fit(self, x: np.ndarray, y: np.ndarray) -> DNGO:
        x = np.asarray(x, dtype=np.float32)
        y = np.asarray(y, dtype=np.float64)
        if len(x) < 2:
            raise ConfigError("DNGO needs at least 2 observations")
        self.x_mean, self.x_std = x.mean(0), x.std(0) + 1e-6
        self.y_mean, self.y_std = float(y.mean()), float(y.std()) + 1e-9
        xt = torch.from_numpy((x - self.x_mean) / self.x_std)
        yt = torch.from_numpy(((y - self.y_mean) / self.y_std).astype(np.float32))
        generator = torch.Generator().manual_seed(int(self.seed))
        self.net = _BasisNet(x.shape[1], self.hidden)
        _init_uniform(self.net, generator)
        optimizer = torch.optim.Adam(self.net.parameters(), lr=self.lr)
        n = len(xt)
        for _ in range(self.epochs):
            order = torch.randperm(n, generator=generator)
            for start in range(0, n, self.batch_size):
                idx = order[start:start + self.batch_size]
                optimizer.zero_grad()
                loss = ((self.net(xt[idx]) - yt[idx]) ** 2).mean()
                loss.backward()
                optimizer.step()
        self.blr = BayesianLinearRegression().fit(self._features(x), (y - self.y_mean) / self.y_std)
        return self

    def _features(self, x: np.ndarray) -> np.ndarray:
        xt = torch.from_numpy(((np.asarray(x, dtype=np.float32) - self.x_mean) / self.x_std).astype(np.float32))
        with torch.no_grad():
            phi = self.net.basis(xt).double().numpy()
        return np.hstack([phi, np.ones((len(phi), 1))])

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predictive mean and variance in the units of the targets."""
        mean, var = self.blr.predict(self._features(x))
        return mean * self.y_std + self.y_mean, var * self.y_std**2


def expected_improvement(mean: np.ndarray, var: np.ndarray, incumbent: float, xi: float = 0.0) -> np.ndarray:
    """EI for maximisation: ``E[max(f - incumbent - xi, 0)]`` under N(mean, var)."""
    std = np.sqrt(np.maximum(var, 1e-18))
    improvement = mean - incumbent - xi
    z = improvement / std
    return improvement * norm.cdf(z) + std * norm.pdf(z)


def probability_below(mean: np.ndarray, var: np.ndarray, limit: float) -> np.ndarray:
    """P(f <= limit) under N(mean, var)."""
    return norm.cdf((limit - mean) / np.sqrt(np.maximum(var, 1e-18)))
