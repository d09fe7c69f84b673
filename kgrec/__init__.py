"""kgrec — a knowledge-graph-augmented conversational recommender served over gRPC.

The service lives in three packages fixed by the product brief: ``server`` (gRPC app and the
turn pipeline), ``kg`` (the product knowledge graph) and ``models`` (everything learned).
This package holds what they share: the domain types, the error root, the CLI and the
generated gRPC stubs (``kgrec.v1``).
"""

import os

# gRPC's fork handlers: kgrec never uses gRPC in a forked child, but it does start children
# (the embedded graph DB, restarted by its supervisor while serving) with subprocess, and
# since grpcio 1.81 the handlers can crash such a child before it execs while a channel or
# server is active (grpc/grpc#43055: "epoll_wait error: Bad file descriptor", exit -6).
# Read when grpc is first imported, so it is set here, before any kgrec module imports grpc.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

__version__ = "0.1.0"

__all__ = ["__version__"]
