"""Type aliases shared across ``models``."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from torch import Tensor

__all__ = ["FeatureTensors", "IdList", "PairArray"]

#: ``{modality: (x (N, d_m) float, mask (N,) bool)}``
FeatureTensors = dict[str, tuple[Tensor, Tensor]]
#: External ids in index order.
IdList = list[str]
#: ``(n, 2)`` int64 ``[user, item]`` index pairs.
PairArray = npt.NDArray[np.int64]
