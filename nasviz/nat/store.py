"""Trained NAT policies on disk.

``models/nat/<space>-<rule>/`` (shipped) or ``$NASVIZ_HOME/models/nat/<space>-<rule>/`` (trained by the user; takes
precedence)::

    manifest.json   space, rule, reward, training configuration, seed, data version, metrics, the command
    policy.pt       the policy's state dict (loaded with ``torch.load(..., weights_only=True)``)
    supernet.pt     (supernet reward only) the shared weights used as the reward and the predicted metric
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from nasviz.encoders.store import atomic_write_bytes
from nasviz.errors import DataError
from nasviz.nat.cells import CellAdapter, get_adapter
from nasviz.nat.policy import NatPolicy, PolicyConfig
from nasviz.nat.rules import check_rule
from nasviz.paths import MODELS_DIR, home_dir

MANIFEST = "manifest.json"
CHECKPOINT = "policy.pt"
SUPERNET = "supernet.pt"


def model_name(space: str, rule: str) -> str:
    return f"{get_adapter(space).name}-{check_rule(rule)}"


def user_policy_dir(space: str, rule: str) -> Path:
    return home_dir() / "models" / "nat" / model_name(space, rule)


def shipped_policy_dir(space: str, rule: str) -> Path:
    return MODELS_DIR / "nat" / model_name(space, rule)


def find_policy_dir(space: str, rule: str) -> Path | None:
    for path in (user_policy_dir(space, rule), shipped_policy_dir(space, rule)):
        if (path / MANIFEST).exists() and (path / CHECKPOINT).exists():
            return path
    return None


@dataclass
class LoadedPolicy:
    policy: NatPolicy
    manifest: dict[str, Any]
    adapter: CellAdapter
    path: Path

    @property
    def rule(self) -> str:
        return str(self.manifest["rule"])


def save_policy(directory: Path, policy: NatPolicy, manifest: dict[str, Any], supernet_state: dict[str, Any] | None = None
                ) -> Path:
    """Write the checkpoint(s) and the manifest atomically."""
    buffer = io.BytesIO()
    torch.save(policy.state_dict(), buffer)
    atomic_write_bytes(directory / CHECKPOINT, buffer.getvalue())
    if supernet_state is not None:
        buffer = io.BytesIO()
        torch.save(supernet_state, buffer)
        atomic_write_bytes(directory / SUPERNET, buffer.getvalue())
    full = {**manifest, "policy_config": policy.config.to_dict()}
    atomic_write_bytes(directory / MANIFEST, (json.dumps(full, indent=1) + "\n").encode())
    for name in (CHECKPOINT, SUPERNET, MANIFEST):
        if (directory / name).exists():
            (directory / name).chmod(0o644)  # readable model files (temporary files are created 0600)
    return directory


_CACHE: dict[tuple[str, float], LoadedPolicy] = {}


def load_policy(space: str, rule: str, directory: Path | None = None) -> LoadedPolicy:
    """The trained policy of (space, rule): the user's own first, then the shipped one."""
    adapter = get_adapter(space)
    rule = check_rule(rule)
    path = directory or find_policy_dir(space, rule)
    if path is None:
        raise DataError(f"no trained NAT policy for {adapter.name} with the {rule} rule; train one with "
                        f"'nasviz nat train --space {adapter.name} --rule {rule}'")
    key = (str(path), (path / CHECKPOINT).stat().st_mtime)
    if key in _CACHE:
        return _CACHE[key]
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read the NAT manifest {path / MANIFEST}: {exc}") from None
    config = PolicyConfig(**manifest.get("policy_config", {}))
    policy = NatPolicy.for_adapter(adapter, config)
    try:
        state = torch.load(path / CHECKPOINT, map_location="cpu", weights_only=True)
        policy.load_state_dict(state)
    except Exception as exc:  # noqa: BLE001 - any load failure is a data problem here
        raise DataError(f"cannot load the NAT policy {path / CHECKPOINT}: {exc}") from None
    policy.eval()
    loaded = LoadedPolicy(policy, manifest, adapter, path)
    _CACHE[key] = loaded
    return loaded


def available_policies() -> list[dict[str, Any]]:
    """Every trained policy found (user's and shipped), with its manifest summary."""
    out = []
    for root, origin in ((home_dir() / "models" / "nat", "user"), (MODELS_DIR / "nat", "shipped")):
        if not root.is_dir():
            continue
        for path in sorted(root.iterdir()):
            if (path / MANIFEST).exists():
                manifest = json.loads((path / MANIFEST).read_text())
                out.append({"name": path.name, "origin": origin, "space": manifest.get("space"),
                            "rule": manifest.get("rule"), "reward": manifest.get("reward", {}).get("kind"),
                            "command": manifest.get("command"), "path": str(path)})
    return out
