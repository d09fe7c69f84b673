"""PyTorch Geometric, imported once with its import-time deprecation warnings silenced.

``import torch_geometric`` calls ``torch.jit.script`` at import time, which torch 2.13
deprecates; the warning is attributed to ``torch.jit`` so the test suite's
"warnings are errors" filter for ``torch_geometric.*`` does not catch it.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from torch_geometric.nn import LGConv, RGCNConv

__all__ = ["LGConv", "RGCNConv"]
