"""kgrec — a knowledge-graph-augmented conversational recommender served over gRPC.

The service lives in three packages fixed by the product brief: ``server`` (gRPC app and the
turn pipeline), ``kg`` (the product knowledge graph) and ``models`` (everything learned).
This package holds what they share: the domain types, the error root, the CLI and the
generated gRPC stubs (``kgrec.v1``).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
