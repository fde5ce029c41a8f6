"""Trained NAT policies on disk.

``models/nat/<space>-<rule>/`` (shipped) or ``$NASVIZ_HOME/models/nat/<space>-<rule>/`` (trained by the user; takes
precedence)::

    manifest.json   space, rule, reward, training configuration, seed, data version, metrics, the command
    policy.pt       the policy's state dict (loaded with ``torch.load(..., weights_only=True)``; training, tests)
    policy.npz      the same weights as plain float32 arrays plus the SHA-256 of policy.pt (``np.load(...,
                    allow_pickle=False)``): inference without torch (``nasviz nat apply``, the page, evaluation).
                    Written with the checkpoint; for older models ``nasviz nat export-npz`` writes it
    supernet.pt     (supernet reward only) the shared weights used as the reward and the predicted metric

:func:`load_policy` gives the NumPy policy when ``policy.npz`` matches ``policy.pt`` (no torch import) and otherwise
converts the torch checkpoint (importing torch); ``backend="torch"`` loads the torch module itself.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasviz.errors import DataError
from nasviz.fileio import MIB, atomic_write_bytes, check_zip_members, read_bytes_capped
from nasviz.nat.cells import CellAdapter, get_adapter
from nasviz.nat.inference import NumpyPolicy, PolicyConfig, read_npz_weights, weights_to_npz_bytes
from nasviz.nat.rules import check_rule
from nasviz.paths import MODELS_DIR, PROJECT_ROOT, home_dir

if TYPE_CHECKING:
    from nasviz.nat.policy import NatPolicy

MANIFEST = "manifest.json"
CHECKPOINT = "policy.pt"
WEIGHTS = "policy.npz"
SUPERNET = "supernet.pt"
BACKENDS = ("numpy", "torch")
#: a policy's weights are a few MB; a checkpoint or npz declaring more is refused before it is inflated
MAX_POLICY_BYTES = 256 * MIB


class PolicyNotFoundError(DataError):
    """No trained policy of a (space, rule) exists (as opposed to one that exists but cannot be read)."""


def model_name(space: str, rule: str) -> str:
    return f"{get_adapter(space).name}-{check_rule(rule)}"


def user_policy_dir(space: str, rule: str) -> Path:
    return home_dir() / "models" / "nat" / model_name(space, rule)


def shipped_policy_dir(space: str, rule: str) -> Path:
    return MODELS_DIR / "nat" / model_name(space, rule)


def find_policy_dir(space: str, rule: str) -> Path | None:
    """The user's policy folder of (space, rule), else the shipped one; None when neither exists. A user folder
    holding only part of a policy is an error naming it (never silently replaced by the shipped policy)."""
    for path in (user_policy_dir(space, rule), shipped_policy_dir(space, rule)):
        present = [name for name in (MANIFEST, CHECKPOINT) if (path / name).exists()]
        if len(present) == 2:
            return path
        if present:
            missing = CHECKPOINT if present == [MANIFEST] else MANIFEST
            raise DataError(f"the NAT policy {path} is incomplete: {path / missing} is missing; retrain it "
                            f"('nasviz nat train --space {get_adapter(space).name} --rule {rule}') or delete the folder")
    return None


@dataclass
class LoadedPolicy:
    policy: NumpyPolicy | NatPolicy
    manifest: dict[str, Any]
    adapter: CellAdapter
    path: Path

    @property
    def rule(self) -> str:
        return str(self.manifest["rule"])


def save_policy(directory: Path, policy: NatPolicy, manifest: dict[str, Any], supernet_state: dict[str, Any] | None = None
                ) -> Path:
    """Write the checkpoint(s), the NumPy weights (``policy.npz``) and the manifest atomically."""
    import torch

    buffer = io.BytesIO()
    torch.save(policy.state_dict(), buffer)
    checkpoint = buffer.getvalue()
    atomic_write_bytes(directory / CHECKPOINT, checkpoint)
    atomic_write_bytes(directory / WEIGHTS, weights_to_npz_bytes(policy.numpy_weights(), checkpoint))
    if supernet_state is not None:
        buffer = io.BytesIO()
        torch.save(supernet_state, buffer)
        atomic_write_bytes(directory / SUPERNET, buffer.getvalue())
    full = {**manifest, "policy_config": policy.config.to_dict(), "numpy_weights": _weights_note(directory)}
    atomic_write_bytes(directory / MANIFEST, (json.dumps(full, indent=1) + "\n").encode())
    return directory


def _weights_note(directory: Path) -> dict[str, str]:
    """How ``policy.npz`` is made (recorded in the manifest); shipped folders are named relative to the project."""
    directory = directory.resolve()
    if directory.is_relative_to(PROJECT_ROOT):
        directory = directory.relative_to(PROJECT_ROOT)
    return {"file": WEIGHTS, "format": "np.savez of the policy.pt state dict (float32) + SHA-256 of policy.pt; "
                                       "read with np.load(allow_pickle=False) for inference without torch",
            "command": f"nasviz nat export-npz {directory}"}


def _load_torch_policy(adapter: CellAdapter, config: PolicyConfig, path: Path) -> NatPolicy:
    import torch

    from nasviz.nat.policy import NatPolicy

    policy = NatPolicy.for_adapter(adapter, config)
    try:
        if zipfile.is_zipfile(path / CHECKPOINT):
            check_zip_members(path / CHECKPOINT, MAX_POLICY_BYTES)
        state = torch.load(path / CHECKPOINT, map_location="cpu", weights_only=True)
        policy.load_state_dict(state)
    except DataError as exc:
        raise DataError(f"cannot load the NAT policy {path / CHECKPOINT}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any load failure is a data problem here
        raise DataError(f"cannot load the NAT policy {path / CHECKPOINT}: {type(exc).__name__}: "
                        f"{str(exc)[:300]}") from None
    return policy.eval()


def export_weights(directory: Path, space: str) -> Path:
    """Write ``policy.npz`` from ``policy.pt`` in ``directory`` (for models saved before the NumPy weights existed)."""
    adapter = get_adapter(space)
    manifest = _read_manifest(directory)
    policy = _load_torch_policy(adapter, PolicyConfig(**manifest.get("policy_config", {})), directory)
    atomic_write_bytes(directory / WEIGHTS, weights_to_npz_bytes(policy.numpy_weights(),
                                                                 (directory / CHECKPOINT).read_bytes()))
    if "numpy_weights" not in manifest:  # record how the weights were made (older manifests)
        manifest["numpy_weights"] = _weights_note(directory)
        atomic_write_bytes(directory / MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode())
    return directory / WEIGHTS


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(read_bytes_capped(path / MANIFEST, MIB, "NAT manifest").decode("utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise DataError(f"cannot read the NAT manifest {path / MANIFEST}: {exc}") from None
    if not isinstance(manifest, dict) or "rule" not in manifest:
        raise DataError(f"cannot read the NAT manifest {path / MANIFEST}: not a NAT policy manifest (no 'rule')")
    return manifest


_CACHE: dict[tuple[str, str, int, int], LoadedPolicy] = {}


def _stamp(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def load_policy(space: str, rule: str, directory: Path | None = None, backend: str = "numpy") -> LoadedPolicy:
    """The trained policy of (space, rule): the user's own first, then the shipped one.

    ``backend="numpy"`` (default): a :class:`NumpyPolicy` from ``policy.npz`` (no torch import), or converted from
    ``policy.pt`` when the npz is missing or stale; ``backend="torch"``: the torch :class:`NatPolicy`."""
    if backend not in BACKENDS:
        raise DataError(f"unknown NAT policy backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    adapter = get_adapter(space)
    rule = check_rule(rule)
    path = directory or find_policy_dir(space, rule)
    if path is None:
        raise PolicyNotFoundError(f"no trained NAT policy for {adapter.name} with the {rule} rule; train one with "
                                  f"'nasviz nat train --space {adapter.name} --rule {rule}'")
    key = (str(path), backend, _stamp(path / CHECKPOINT), _stamp(path / WEIGHTS))
    if key in _CACHE:
        return _CACHE[key]
    manifest = _read_manifest(path)
    try:
        config = PolicyConfig(**manifest.get("policy_config", {}))
    except (TypeError, ValueError) as exc:
        raise DataError(f"cannot read the NAT manifest {path / MANIFEST}: bad policy_config ({exc})") from None
    policy: NumpyPolicy | NatPolicy
    if backend == "torch":
        policy = _load_torch_policy(adapter, config, path)
    else:
        if (path / WEIGHTS).exists():
            check_zip_members(path / WEIGHTS, MAX_POLICY_BYTES)
        weights = read_npz_weights(path / WEIGHTS, path / CHECKPOINT)
        if weights is None:  # no (or a stale) policy.npz: convert the checkpoint
            weights = _load_torch_policy(adapter, config, path).numpy_weights()
        try:
            policy = NumpyPolicy.for_adapter(adapter, weights, config)
        except DataError as exc:
            raise DataError(f"cannot load the NAT policy weights {path / WEIGHTS}: {exc}") from None
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
                try:
                    manifest = _read_manifest(path)
                except DataError as exc:  # listed with its problem, so the user sees which folder is broken
                    out.append({"name": path.name, "origin": origin, "space": None, "rule": None, "reward": None,
                                "command": None, "path": str(path), "numpy_weights": (path / WEIGHTS).exists(),
                                "error": str(exc)})
                    continue
                reward = manifest.get("reward")
                out.append({"name": path.name, "origin": origin, "space": manifest.get("space"),
                            "rule": manifest.get("rule"), "reward": reward.get("kind") if isinstance(reward, dict)
                            else None, "command": manifest.get("command"), "path": str(path),
                            "numpy_weights": (path / WEIGHTS).exists()})
    return out
