"""Benchmarks: ``python -m bench.movielens`` (kgrec vs RecBole on the fixed ML-100K split),
``python -m bench.recbole_runner`` (the RecBole side) and the graph/serving benchmarks."""
