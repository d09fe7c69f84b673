"""The gRPC app: servicer, mappers, interceptors, settings and the server itself.

Thin by design: everything between the protobuf messages and the domain types is here;
the recommender itself is ``server.pipeline`` (over ``kg`` and ``models``).
"""

from server.app import RunningServer, serve_forever, start_server
from server.protocols import RecommenderPipeline
from server.servicer import RecommenderServicer
from server.settings import Settings, add_arguments

__all__ = [
    "RecommenderPipeline",
    "RecommenderServicer",
    "RunningServer",
    "Settings",
    "add_arguments",
    "serve_forever",
    "start_server",
]
