"""AG-Net search timing on NB201 CIFAR-10 (issue 6 target: a 192-query run in at most 60 s on 2 cores).

Runs ``nasviz search --space nb201 --dataset cifar10 --algo agnet --budget 192`` in-process for each seed and
records wall and CPU seconds (CPU time is the fair figure on a shared machine) and the reported 200-epoch test
accuracy of the best cell by the 12-epoch validation signal. Writes results/agnet_search_nb201.json.

    NASVIZ_DATA=../shared/data python benchmarks/bench_agnet_search.py --seeds 3 [--algo agnet-xgb]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=int, default=192)
    parser.add_argument("--algo", default="agnet")
    args = parser.parse_args()
    env = dict(os.environ)
    env.setdefault("NASVIZ_HOME", tempfile.mkdtemp(prefix="nasviz_agnet_bench_"))
    env["PYTHONPATH"] = str(ROOT.parent) + os.pathsep + env.get("PYTHONPATH", "")
    data = Path(env.get("NASVIZ_DATA", ROOT.parent.parent / "shared" / "data"))
    cli = [sys.executable, "-c", "from nasviz.cli.main import main; main()"]
    subprocess.run(cli + ["data", "import", "nb201-merged", str(data / "nasbench201" / "nb201_merged.csv"), "--no-progress"],
                   env=env, check=True, capture_output=True)
    runs = []
    for seed in range(args.seeds):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.perf_counter()
        done = subprocess.run(cli + ["search", "--space", "nb201", "--dataset", "cifar10", "--algo", args.algo, "--budget",
                                     str(args.budget), "--seeds", "1", "--seed-start", str(seed), "--json"],
                              env=env, check=True, capture_output=True, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        run = json.loads(done.stdout)["runs"][0]
        runs.append({"seed": seed, "wall_s": round(time.perf_counter() - wall, 1),
                     "cpu_s": round(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 1),
                     "best_cell": run["best_cell"], "best_signal": run["best_signal"], "reported": run["reported"]})
        print(json.dumps(runs[-1]), flush=True)
    out = ROOT / "results" / f"{args.algo}_search_nb201.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"algo": args.algo, "budget": args.budget, "command": "nasviz search --space nb201 --dataset "
                               f"cifar10 --algo {args.algo} --budget {args.budget} --seeds 1 --seed-start SEED --json",
                               "runs": runs}, indent=2) + "\n")


if __name__ == "__main__":
    main()
