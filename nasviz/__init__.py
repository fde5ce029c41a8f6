"""nasviz: a workbench for exploring neural architectures (arch2vec, NAO, AG-Net, NAT)."""

from __future__ import annotations

__version__ = "0.1.0"

from nasviz.spaces import SPACE_NAMES, get_space  # noqa: E402

__all__ = ["SPACE_NAMES", "__version__", "get_space"]
