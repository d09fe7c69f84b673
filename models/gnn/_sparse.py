"""Sparse helpers: a symmetric sparse-dense product with a cheap backward."""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor


class _SymmetricSpmm(torch.autograd.Function):
    """``y = A x`` for a *symmetric* sparse ``A``; the backward reuses ``A`` (``A^T = A``)
    instead of transposing a CSR matrix on every step."""

    @staticmethod
    def forward(ctx: Any, adj: Tensor, x: Tensor) -> Tensor:
        ctx.adj = adj
        return torch.sparse.mm(adj, x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[None, Tensor]:
        return None, torch.sparse.mm(ctx.adj, grad)


def symmetric_spmm(adj: Tensor, x: Tensor) -> Tensor:
    """``adj @ x`` for a symmetric sparse CSR ``adj`` (N, N) and dense ``x`` (N, d)."""
    return _SymmetricSpmm.apply(adj, x)


def to_csr(adj: Tensor) -> Tensor:
    """COO -> CSR without the 'CSR support is in beta' warning (tests run warnings-as-errors)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return adj.to_sparse_csr()
