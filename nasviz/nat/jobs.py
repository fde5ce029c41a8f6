"""Train a NAT policy end to end and save it with a manifest (``nasviz nat train``)."""

from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any

import torch

from nasviz.errors import ConfigError
from nasviz.nat.cells import get_adapter
from nasviz.nat.rewards import NB201_TRAIN_METRIC, EvaluatorReward, TabularReward
from nasviz.nat.store import save_policy, shipped_policy_dir, user_policy_dir
from nasviz.nat.train import TrainConfig, train_policy
from nasviz.progress import ProgressCallback, no_progress

REWARD_KINDS = ("tabular", "supernet", "evaluator")


def train_and_save(space: str, reward: str, config: TrainConfig, command: str, out: Path | None = None,
                   ship: bool = False, evaluator: str | None = None, supernet_steps: int | None = None,
                   progress: ProgressCallback = no_progress) -> dict[str, Any]:
    """Train a policy for ``space`` with the ``reward`` kind, evaluate it, save it; returns the manifest."""
    adapter = get_adapter(space)
    if reward not in REWARD_KINDS:
        raise ConfigError(f"unknown NAT reward {reward!r}; choose one of {', '.join(REWARD_KINDS)}")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    start = time.perf_counter()
    cpu_start = time.process_time()
    manifest: dict[str, Any] = {"space": adapter.name, "rule": config.rule, "train": config.to_dict(), "seed": config.seed,
                                "command": command, "torch": torch.__version__, "python": platform.python_version()}
    supernet_state = None
    try:
        if reward == "tabular":
            from nasviz.nat.evaluate import SPLIT_NOTE, evaluate_nb201, nb201_sampler, nb201_split

            if adapter.name != "nb201":
                raise ConfigError("the tabular reward needs the nb201 space (the only benchmark with every transformed "
                                  "cell); use --reward supernet for NAT cells")
            signal = TabularReward("nb201", NB201_TRAIN_METRIC)
            train_codes, _ = nb201_split()
            result = train_policy(adapter, signal, nb201_sampler(train_codes), config, progress)
            manifest["reward"] = {**signal.describe(), "formula": "R(transformed) - R(original)"}
            manifest["data_version"] = signal.data_version
            manifest["split"] = SPLIT_NOTE
            evaluation = evaluate_nb201(result.policy, config.rule, cells=100, seed=0)
            manifest["metrics"] = {"evaluation_seed0": evaluation}
        elif reward == "supernet":
            from nasviz.nat.supernet import SupernetConfig, nat_sampler, train_supernet

            if adapter.name != "nat":
                raise ConfigError("the supernet reward trains on NAT cells: use --space nat")
            sconfig = SupernetConfig(seed=config.seed, steps=supernet_steps or SupernetConfig().steps)
            supernet = train_supernet(sconfig, progress)
            result = train_policy(adapter, supernet, nat_sampler(), config, progress)
            manifest["reward"] = {**supernet.describe(), "formula": "R(transformed) - R(original)"}
            manifest["data_version"] = supernet.data_version
            manifest["supernet"] = sconfig.to_dict()
            manifest["metrics"] = {"supernet_train_seconds": supernet.train_seconds}
            supernet_state = supernet.state_dict()
        else:
            if not evaluator:
                raise ConfigError("--reward evaluator needs --evaluator SPEC (e.g. 'live:nat,epochs=2')")
            evaluator_reward = EvaluatorReward(evaluator, adapter.name)
            if adapter.name == "nb201":
                from nasviz.nat.evaluate import nb201_sampler, nb201_split

                sampler = nb201_sampler(nb201_split()[0])
            else:
                from nasviz.nat.supernet import nat_sampler

                sampler = nat_sampler()
            result = train_policy(adapter, evaluator_reward, sampler, config, progress)
            manifest["reward"] = {**evaluator_reward.describe(), "formula": "R(transformed) - R(original)"}
        manifest["history"] = result.history
        manifest["train_seconds"] = round(time.perf_counter() - start, 2)
        manifest["train_cpu_seconds"] = round(time.process_time() - cpu_start, 2)
        directory = out or (shipped_policy_dir(adapter.name, config.rule) if ship else user_policy_dir(adapter.name,
                                                                                                     config.rule))
        save_policy(directory, result.policy, manifest, supernet_state)
        manifest["path"] = str(directory)
        return manifest
    finally:
        torch.set_num_threads(threads)
