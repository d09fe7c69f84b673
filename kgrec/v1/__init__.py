"""Generated gRPC stubs for the ``kgrec.v1`` API (``protos/kgrec/v1/*.proto``).

Do not edit the ``*_pb2*`` modules or ``descriptors.binpb`` (the same files as a
``FileDescriptorSet`` with their comments, served by reflection): regenerate them with
``python -m kgrec.protogen``.
"""

from kgrec.v1 import recommender_pb2, recommender_pb2_grpc

__all__ = ["recommender_pb2", "recommender_pb2_grpc"]
