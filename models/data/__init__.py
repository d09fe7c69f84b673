"""Datasets: users, items, KG entities, splits and raw item side information."""

from models.data._text import product_text
from models.data.rec_dataset import RecDataset

__all__ = ["RecDataset", "product_text"]
