"""RecommendStream: items first, then the reply in pieces, then the end chunk."""

from __future__ import annotations

import asyncio

import reverse_mappers
from server_fakes import SAMPLE_INTENT, FakePipeline, serving

from kgrec.v1 import recommender_pb2 as pb

LONG_REPLY = " ".join(f"word{i}" for i in range(60)) + "."


def test_stream_chunk_order_and_content_match_the_unary_call() -> None:
    async def scenario() -> tuple[list[pb.RecommendChunk], pb.RecommendResponse]:
        async with serving(FakePipeline(reply=LONG_REPLY)) as served:
            request = pb.RecommendRequest(message="shoes", session_id="s9", limit=3)
            metadata = (("x-request-id", "stream-1"),)
            chunks = [c async for c in served.stub.RecommendStream(request, metadata=metadata)]
            unary = await served.stub.Recommend(request, metadata=(("x-request-id", "stream-1"),))
        return chunks, unary

    chunks, unary = asyncio.run(scenario())
    kinds = [c.WhichOneof("payload") for c in chunks]
    first_reply, last = kinds.index("reply_text"), len(kinds) - 1
    assert kinds[:first_reply] == ["item"] * 3
    assert kinds[first_reply:last] == ["reply_text"] * (last - first_reply)
    assert kinds[last] == "end"
    assert last - first_reply > 1  # the reply really is split
    assert [c.item.item_id for c in chunks[:3]] == [i.item_id for i in unary.items]
    assert "".join(c.reply_text for c in chunks[first_reply:last]) == LONG_REPLY == unary.reply
    end = chunks[-1].end
    assert (end.request_id, end.model_version) == ("stream-1", "fake-1")
    assert reverse_mappers.intent_from_proto(end.intent) == SAMPLE_INTENT
    assert {c.session_id for c in chunks} == {"s9"}
    streamed = reverse_mappers.recommendation_from_chunks(chunks)
    assert streamed == reverse_mappers.recommendation_from_proto(unary)
