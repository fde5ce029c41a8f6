"""What a benchmark number means: :class:`MetricSpec` and its stable string key.

Key grammar (``/``-separated, lower-case except dataset names such as ``ImageNet16-120``):

- training results: ``KIND/DATASET/SPLIT/Nep`` e.g. ``accuracy/cifar10/test/200ep``,
  ``accuracy/cifar10/valid/108ep``, ``train_time/cifar10/train/108ep`` (epochs may be omitted:
  ``accuracy/cifar10/valid``);
- network size: ``params/cifar10``, ``flops/ImageNet16-120`` (dataset may be omitted: ``params``);
- hardware: ``latency/DEVICE`` or ``latency/DEVICE/DATASET``, ``energy/DEVICE/DATASET``; a batch
  size is part of the device name (``1080ti_32``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Any

from nasviz.errors import ConfigError

#: kinds measured on a device (key: kind/device[/dataset])
DEVICE_KINDS: frozenset[str] = frozenset({"latency", "energy", "arithmetic_intensity"})
#: kinds describing the network itself (key: kind[/dataset])
SIZE_KINDS: frozenset[str] = frozenset({"params", "flops"})
#: known kinds; any other lower-case identifier is accepted as a training-style metric
KNOWN_KINDS: tuple[str, ...] = ("accuracy", "loss", "train_time", "latency", "energy", "arithmetic_intensity",
                                "params", "flops")
SPLITS: tuple[str, ...] = ("train", "valid", "test")
SPLIT_ALIASES = {"val": "valid", "validation": "valid", "x-valid": "valid", "ori-test": "test", "x-test": "test",
                 "training": "train"}
DATASET_ALIASES = {"c10": "cifar10", "cifar-10": "cifar10", "c100": "cifar100", "cifar-100": "cifar100",
                   "in16": "ImageNet16-120", "imagenet16-120": "ImageNet16-120", "imagenet16": "ImageNet16-120",
                   "imagenet": "ImageNet16-120", "imagenet16_120": "ImageNet16-120"}
DATASET_TITLES = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "ImageNet16-120": "ImageNet16-120"}
DEFAULT_UNITS = {"accuracy": "%", "loss": "", "train_time": "s", "latency": "ms", "energy": "mJ", "params": "M",
                 "flops": "M"}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\-]*$")
_EPOCHS_RE = re.compile(r"^(\d+)ep$")


def normalize_dataset(dataset: str | None) -> str | None:
    """Canonical dataset name (``c10`` -> ``cifar10``, ``in16`` -> ``ImageNet16-120``)."""
    if dataset is None or dataset == "":
        return None
    return DATASET_ALIASES.get(dataset.lower(), dataset)


def normalize_split(split: str | None) -> str | None:
    if split is None or split == "":
        return None
    split = SPLIT_ALIASES.get(split.lower(), split.lower())
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    return split


@dataclass(frozen=True)
class MetricSpec:
    """The meaning of one benchmark column.

    ``kind``: accuracy, latency, params, flops, energy, train_time, loss...; ``dataset``/``split``/
    ``epochs``: the training setting (None when not applicable); ``device``: for device kinds;
    ``unit``: e.g. ``%``, ``ms``, ``M``; ``source``: provenance text (file, benchmark, caveats);
    ``aggregate``: how repeats were combined (``mean of 3 seeds``...).
    """

    kind: str
    dataset: str | None = None
    split: str | None = None
    epochs: int | None = None
    unit: str = ""
    source: str = ""
    device: str | None = None
    aggregate: str = ""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.kind or ""):
            raise ConfigError(f"bad metric kind {self.kind!r}: use a lower-case identifier such as accuracy or latency")
        object.__setattr__(self, "dataset", normalize_dataset(self.dataset))
        object.__setattr__(self, "split", normalize_split(self.split))
        if self.epochs is not None:
            if isinstance(self.epochs, bool) or int(self.epochs) <= 0:
                raise ConfigError(f"bad epoch count {self.epochs!r} for metric {self.kind}")
            object.__setattr__(self, "epochs", int(self.epochs))
        for field, value in (("dataset", self.dataset), ("device", self.device)):
            if value is not None and not _NAME_RE.match(value):
                raise ConfigError(f"bad {field} name {value!r} in metric {self.kind}")
        if self.kind in DEVICE_KINDS:
            if not self.device:
                raise ConfigError(f"a {self.kind} metric needs a device")
            if self.split or self.epochs:
                raise ConfigError(f"a {self.kind} metric has no split or epochs")
        elif self.device:
            raise ConfigError(f"only {', '.join(sorted(DEVICE_KINDS))} metrics have a device, not {self.kind}")
        elif self.kind in SIZE_KINDS:
            if self.split or self.epochs:
                raise ConfigError(f"a {self.kind} metric has no split or epochs")
        elif self.epochs is not None and self.split is None:
            raise ConfigError(f"metric {self.kind} with epochs also needs a split")
        if self.split is not None and self.dataset is None:
            raise ConfigError(f"metric {self.kind} with a split also needs a dataset")
        if not self.unit and self.kind in DEFAULT_UNITS:
            object.__setattr__(self, "unit", DEFAULT_UNITS[self.kind])

    @property
    def key(self) -> str:
        return format_key(self)

    @property
    def higher_is_better(self) -> bool:
        return self.kind == "accuracy"

    @property
    def label(self) -> str:
        """Human label, e.g. ``CIFAR-10 test accuracy (200 epochs)`` or ``Latency on pixel3 (ms)``."""
        data = DATASET_TITLES.get(self.dataset or "", self.dataset or "")
        kind = self.kind.replace("_", " ")
        unit = f" ({self.unit})" if self.unit and self.unit != "%" else ""
        if self.kind in DEVICE_KINDS:
            device = device_title(self.device or "")
            on = f", {data}" if data else ""
            return f"{kind.capitalize()} on {device}{on}{unit}"
        if self.kind in SIZE_KINDS:
            name = "Parameters" if self.kind == "params" else "FLOPs"
            return f"{name}{' (' + data + ')' if data else ''}{unit}"
        split = {"valid": "validation", "train": "training"}.get(self.split or "", self.split)
        text = " ".join(p for p in (data, split, kind) if p)
        text = text[0].upper() + text[1:]
        if self.epochs:
            text += f", {self.epochs} epochs"
        return text + (" (%)" if self.unit == "%" else unit)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["key"] = self.key
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetricSpec:
        fields = {k: data.get(k) for k in ("kind", "dataset", "split", "epochs", "device")}
        return cls(**fields, unit=data.get("unit") or "", source=data.get("source") or "",
                   aggregate=data.get("aggregate") or "")

    def with_source(self, source: str) -> MetricSpec:
        return replace(self, source=source)


#: display names of the devices of HW-NAS-Bench and HELP
DEVICE_TITLES = {"edgegpu": "Edge GPU (Jetson TX2)", "raspi4": "Raspberry Pi 4", "edgetpu": "Edge TPU",
                 "pixel3": "Pixel 3", "eyeriss": "Eyeriss", "fpga": "FPGA", "pixel2": "Pixel 2",
                 "essential_ph_1": "Essential PH-1", "samsung_a50": "Samsung A50", "samsung_s7": "Samsung S7",
                 "gold_6226": "Xeon Gold 6226", "gold_6240": "Xeon Gold 6240", "silver_4114": "Xeon Silver 4114",
                 "silver_4210r": "Xeon Silver 4210R", "1080ti": "GTX 1080 Ti", "2080ti": "RTX 2080 Ti",
                 "titan_rtx": "Titan RTX", "titanx": "Titan X", "titanxp": "Titan Xp"}
_BATCH_RE = re.compile(r"^(.+)_(1|2|4|8|16|32|64|128|256|512|1024)$")


def device_title(device: str) -> str:
    """``1080ti_32`` -> ``GTX 1080 Ti, batch 32``; ``pixel3`` -> ``Pixel 3``."""
    if device in DEVICE_TITLES:
        return DEVICE_TITLES[device]
    match = _BATCH_RE.match(device)
    if match:
        return f"{DEVICE_TITLES.get(match.group(1), match.group(1))}, batch {match.group(2)}"
    return device


def format_key(spec: MetricSpec) -> str:
    """The stable string key of a metric (see the module docstring)."""
    if spec.kind in DEVICE_KINDS:
        return "/".join(p for p in (spec.kind, spec.device, spec.dataset) if p)
    if spec.kind in SIZE_KINDS:
        return "/".join(p for p in (spec.kind, spec.dataset) if p)
    parts = [spec.kind]
    if spec.dataset:
        parts.append(spec.dataset)
    if spec.split:
        parts.append(spec.split)
    if spec.epochs:
        parts.append(f"{spec.epochs}ep")
    return "/".join(parts)


def parse_key(key: str) -> MetricSpec:
    """The :class:`MetricSpec` (without unit/source) a key stands for. Raises ConfigError."""
    parts = key.strip().split("/")
    if not all(parts):
        raise ConfigError(f"metric key {key!r} has an empty part; expected e.g. accuracy/cifar10/test/200ep")
    kind, rest = parts[0], parts[1:]
    try:
        if kind in DEVICE_KINDS:
            if not 1 <= len(rest) <= 2:
                raise ConfigError(f"metric key {key!r}: expected {kind}/DEVICE[/DATASET]")
            return MetricSpec(kind, device=rest[0], dataset=rest[1] if len(rest) > 1 else None)
        if kind in SIZE_KINDS:
            if len(rest) > 1:
                raise ConfigError(f"metric key {key!r}: expected {kind}[/DATASET]")
            return MetricSpec(kind, dataset=rest[0] if rest else None)
        if len(rest) > 3:
            raise ConfigError(f"metric key {key!r}: expected KIND/DATASET/SPLIT/Nep")
        epochs = None
        if len(rest) == 3:
            match = _EPOCHS_RE.match(rest[2])
            if not match:
                raise ConfigError(f"metric key {key!r}: epochs must look like 200ep, got {rest[2]!r}")
            epochs = int(match.group(1))
        return MetricSpec(kind, dataset=rest[0] if rest else None, split=rest[1] if len(rest) > 1 else None,
                          epochs=epochs)
    except ConfigError as exc:
        if str(exc).startswith("metric key"):
            raise
        raise ConfigError(f"metric key {key!r}: {exc}") from None
