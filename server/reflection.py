"""Server reflection that serves the API's descriptors with their comments.

grpcio-reflection answers from the descriptor pool, and the descriptors the ``*_pb2`` modules
put there carry no source info, so ``grpcurl describe kgrec.v1.RecommendRequest`` would show
bare fields. ``python -m kgrec.protogen`` also writes ``kgrec/v1/descriptors.binpb``, a
``FileDescriptorSet`` of the same ``.proto`` files built with ``--include_source_info`` (and
kept in step by the same staleness check). :class:`SourceInfoReflectionServicer` lets the stock
servicer answer every request and swaps each of our files in its answers for the copy with
comments; files of other packages (health, reflection, well-known types) pass unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

import grpc.aio
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

logger = logging.getLogger(__name__)

#: The descriptor set ``kgrec.protogen`` writes, as package data of ``kgrec.v1``.
DESCRIPTOR_SET_RESOURCE = ("kgrec.v1", "descriptors.binpb")


@cache
def documented_files() -> Mapping[str, bytes]:
    """Serialized ``FileDescriptorProto`` with source info of each API file, by file name."""
    package, name = DESCRIPTOR_SET_RESOURCE
    data = (resources.files(package) / name).read_bytes()
    files = descriptor_pb2.FileDescriptorSet.FromString(data).file
    return {f.name: f.SerializeToString() for f in files}


class SourceInfoReflectionServicer(reflection.aio.ReflectionServicer):
    """The stock asyncio reflection servicer, answering with ``documented`` files where it has
    them (file name -> serialized ``FileDescriptorProto``)."""

    def __init__(
        self,
        service_names: Iterable[str],
        documented: Mapping[str, bytes],
        pool: Any = None,
    ) -> None:
        super().__init__(service_names, pool=pool)
        self._documented = dict(documented)

    async def ServerReflectionInfo(  # noqa: N802 - the generated servicer's name
        self,
        request_iterator: AsyncIterable[reflection_pb2.ServerReflectionRequest],
        unused_context: Any,
    ) -> AsyncIterator[reflection_pb2.ServerReflectionResponse]:
        async for response in super().ServerReflectionInfo(request_iterator, unused_context):
            yield self._with_comments(response)

    def _with_comments(
        self, response: reflection_pb2.ServerReflectionResponse
    ) -> reflection_pb2.ServerReflectionResponse:
        if not response.HasField("file_descriptor_response"):
            return response
        protos = response.file_descriptor_response.file_descriptor_proto
        for i, serialized in enumerate(protos):
            name = descriptor_pb2.FileDescriptorProto.FromString(serialized).name
            documented = self._documented.get(name)
            if documented is not None:
                protos[i] = documented
        return response


def enable_reflection(service_names: Iterable[str], server: grpc.aio.Server) -> None:
    """Add reflection for ``service_names`` to ``server``, with the API's comments.

    Falls back to descriptors without comments (and logs why) if the descriptor set is
    missing or unreadable: reflection still lists and describes every service.
    """
    try:
        documented = documented_files()
    except (OSError, ValueError) as e:  # DecodeError is a ValueError
        logger.warning("reflection without comments: cannot read the descriptor set: %s", e)
        documented = {}
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(
        SourceInfoReflectionServicer(service_names, documented), server
    )


__all__ = [
    "DESCRIPTOR_SET_RESOURCE",
    "SourceInfoReflectionServicer",
    "documented_files",
    "enable_reflection",
]
