"""Benchmark of NAO and AG-Net against the paper targets (needs NASVIZ_DATA for the accuracies).

NAO (NB201, CIFAR-10 test accuracy, 500 training cells): held-out pairwise accuracy >= 0.78 and decoder
Hamming distance < 0.5 tokens; plus the paper's figure 2(a) curve (both versus the number of training cells).
AG-Net generator (10,000 samples, paper table 12): NB201 validity >= 99.9 %, NB101 validity >= 72 %, with
uniqueness and novelty. Training times on the given number of threads are reported.

    python benchmarks/bench_nao_agnet.py [--threads 2] [--curve 100,200,500,1000] [--out bench_nao_agnet.json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch


def nao_benchmark(curve: list[int], seed: int) -> dict:
    from nasviz.encoders import nao

    rows = nao.learning_curve("nb201", curve, seed=seed, held_out=2000,
                              progress=lambda d, t, m: print(f"  NAO {m}", flush=True))
    main = next(r for r in rows if r["train_size"] == 500) if 500 in curve else None
    out = {"curve": rows}
    if main:
        out["target"] = {"pairwise_accuracy": main["pairwise_accuracy"], "pairwise_ok": main["pairwise_accuracy"] >= 0.78,
                         "hamming_distance": main["hamming_distance"], "hamming_ok": main["hamming_distance"] < 0.5,
                         "training_seconds": main["training_seconds"]}
    return out


def agnet_benchmark(space: str, seed: int, samples: int) -> dict:
    from nasviz.encoders import agnet
    from nasviz.spaces import get_space

    sp = get_space(space)
    graphs = agnet.get_graphs(space)
    torch.manual_seed(seed)
    train, _, source = agnet.training_cells(space, seed)
    model = agnet.AGNetModel(agnet.AGNetConfig(graphs.num_nodes, graphs.num_ops))
    labels, adjacency = graphs.targets(train)
    started = time.perf_counter()
    history = agnet.train_generator(model, labels, adjacency, agnet.AGNET_DEFAULTS[space][1], seed, graphs=graphs,
                                    progress=lambda d, t, m: print(f"  AG-Net {space} {m}", flush=True))
    seconds = time.perf_counter() - started
    enc = agnet.AGNetEncoder(space, model)
    metrics = agnet.generation_metrics(enc, samples, seed, {sp.cell_id(c) for c in train})
    threshold = {"nb201": 0.999, "nb101": 0.72}[space]
    return {"source": source, "num_train": len(train), "training_seconds": round(seconds, 1), "history": history,
            **metrics, "validity_target": threshold, "validity_ok": metrics["validity"] >= threshold}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--curve", default="100,200,500,1000")
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--skip", default="", help="comma list of parts to skip: nao, nb201, nb101")
    parser.add_argument("--out", default="bench_nao_agnet.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    np.random.seed(args.seed)
    skip = set(filter(None, args.skip.split(",")))
    result: dict = {"threads": args.threads, "seed": args.seed}
    if "nao" not in skip:
        result["nao_nb201"] = nao_benchmark([int(x) for x in args.curve.split(",")], args.seed)
    for space in ("nb201", "nb101"):
        if space not in skip:
            result[f"agnet_{space}"] = agnet_benchmark(space, args.seed, args.samples)
    with open(args.out, "w") as fh:
        json.dump(result, fh, indent=2, default=float)
    summary = {k: v.get("target", {k2: v.get(k2) for k2 in ("validity", "uniqueness", "novelty", "training_seconds")})
               for k, v in result.items() if isinstance(v, dict)}
    print(json.dumps(summary, indent=2, default=float))


if __name__ == "__main__":
    main()
