"""NAO search (Luo et al., 2018) adapted to ask/tell on a benchmark.

Initial cells drawn at random; then every round the NAO encoder-predictor-decoder (initialised from the
trained model of the space, so the decoder already reconstructs cells) is fine-tuned on all queried cells
with their min-max normalised signals, and new cells come from gradient ascent on the per-token encoder
outputs of the best ``top_k`` queried cells, the step size increasing 1, 2, ... up to ``max_step`` until a
new cell decodes (paper footnote 4). The new cells are queried in the order of their predicted value;
random cells fill up when ascent finds too few.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from nasviz.search.base import RoundStrategy, SearchContext
from nasviz.settings import Setting


class NAOSearch(RoundStrategy):
    name = "nao"
    title = "NAO (gradient ascent in the encoder's embedding space)"
    setting_fields = (
        Setting("initial_samples", "int", 16, "Random cells before the first round.", low=1, high=100_000),
        Setting("epochs", "int", 60, "Fine-tuning epochs of the encoder-predictor-decoder per round.",
                low=1, high=10_000),
        Setting("top_k", "int", 100, "Best queried cells the gradient ascent starts from.", low=1, high=100_000),
        Setting("max_step", "int", 50, "Largest ascent step size tried (1, 2, ... until a new cell decodes).",
                low=1, high=10_000),
        Setting("trade_off", "float", 0.8, "Weight of the predictor loss against the reconstruction loss.",
                low=0.0, high=1.0, step=0.05),
        Setting("batch_size", "int", 100, "Fine-tuning batch size.", low=1, high=100_000),
        Setting("round_size", "int", 16, "Proposals per round.", low=1, high=100_000),
    )

    def __init__(self, context: SearchContext, seed: int, **settings: Any) -> None:
        super().__init__(context, seed, **settings)
        from nasviz.encoders.nao import NAOEncoder

        self.pretrained = NAOEncoder.load(self.moves.space.name)
        self.rounds = 0

    def _fine_tune(self, scores: np.ndarray) -> Any:
        import torch
        from torch import nn

        from nasviz.encoders.nao import NAOEncoder, nao_loss

        round_seed = self.seed * 1000 + len(self.history_obs)
        torch.manual_seed(round_seed)
        model = copy.deepcopy(self.pretrained.model)
        codec = self.pretrained.codec
        lo, hi = float(scores.min()), float(scores.max())
        hi = hi if hi > lo else lo + 1.0
        model.target_min.fill_(lo)
        model.target_max.fill_(hi)
        tokens = codec.encode_many(self.history_cells)
        y = torch.from_numpy(((scores - lo) / (hi - lo)).astype(np.float32))
        labelled = torch.ones(len(y), dtype=torch.bool)
        rng = np.random.default_rng(round_seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
        batch = int(self.settings["batch_size"])
        model.train()
        for _ in range(int(self.settings["epochs"])):
            order = rng.permutation(len(y))
            for start in range(0, len(y), batch):
                index = order[start:start + batch]
                seqs = np.stack([codec.swap(t, rng) for t in tokens[index]]) if codec.symmetric else tokens[index]
                loss, _ = nao_loss(model, torch.from_numpy(seqs), torch.from_numpy(codec.masks(seqs)),
                                   y[torch.from_numpy(index)], labelled[torch.from_numpy(index)],
                                   float(self.settings["trade_off"]))
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                optimizer.step()
        model.eval()
        return NAOEncoder(self.pretrained.space, model, self.pretrained.manifest)

    def _round_body(self, n: int) -> list[Any]:
        scores = np.asarray(self.fitness(), dtype=np.float64)
        encoder = self._fine_tune(scores)
        self.rounds += 1
        top = np.lexsort((np.arange(len(scores)), -scores))[:int(self.settings["top_k"])]
        exclude = set(self.visited) | {self.moves.cell_id(c) for c in self.queue}
        found: dict[str, tuple[float, Any]] = {}
        for result in encoder.ascend([self.history_cells[i] for i in top.tolist()], int(self.settings["max_step"]), exclude):
            if result.cell is not None and self.is_new(result.cell):
                cid = self.moves.cell_id(result.cell)
                if cid not in found or result.predicted_new > found[cid][0]:
                    found[cid] = (float(result.predicted_new), result.cell)
        ranked = sorted(found.items(), key=lambda kv: (-kv[1][0], kv[0]))[:n]
        return [cell for _, (_, cell) in ranked]

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "rounds": self.rounds}
