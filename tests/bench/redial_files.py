"""Tiny ReDial files for the benchmark's tests: 12 movies, a DBpedia neighbourhood, four
dialogues."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["N_MOVIES", "RECOMMENDER_ID", "SEEKER_ID", "URI", "redial_dialogue", "redial_folder"]

SEEKER_ID, RECOMMENDER_ID = 1, 2
N_MOVIES = 12
URI = "<http://dbpedia.org/resource/{}>"


def redial_dialogue(conv: int, liked: int, suggested: int) -> dict:
    return {
        "conversationId": conv,
        "initiatorWorkerId": SEEKER_ID,
        "respondentWorkerId": RECOMMENDER_ID,
        "movieMentions": {str(liked): f"Movie {liked} (2000)", str(suggested): ""},
        "respondentQuestions": {
            str(liked): {"suggested": 0, "seen": 1, "liked": 1},
            str(suggested): {"suggested": 1, "seen": 0, "liked": 2},
        },
        "messages": [
            {"messageId": 1, "text": "hi", "senderWorkerId": SEEKER_ID},
            {"messageId": 2, "text": f"I loved @{liked}", "senderWorkerId": SEEKER_ID},
            {"messageId": 3, "text": "any ideas?", "senderWorkerId": SEEKER_ID},
            {"messageId": 3, "text": f"then try @{suggested} !", "senderWorkerId": RECOMMENDER_ID},
        ],
    }


def redial_folder(tmp_path: Path) -> Path:
    """12 movies; 1 and 2 share a director (KG); dialogues pair 3->4 and 5->6 twice each."""
    folder = tmp_path / "redial-dev"
    kg_dir = folder / "kgsf_dbpedia_kg"
    kg_dir.mkdir(parents=True)
    movies = ["movieId,movieName,nbMentions"]
    movies += [f"{i},Movie {i}  (2000),1" for i in range(1, N_MOVIES + 1)]
    (folder / "movies_with_mentions.csv").write_text("\n".join(movies) + "\n")
    names = [f"Movie_{i}_(2000_film)" for i in range(1, N_MOVIES + 1)]
    names += ["Jane_Doe_(director)", "Elsewhere"]
    (kg_dir / "entity2id.tsv").write_text(
        "dbpedia_uri\tentity_id\n" + "".join(f"{URI.format(n)}\t{i}\n" for i, n in enumerate(names))
    )
    (kg_dir / "redial_movieid2dbpedia.tsv").write_text(
        "redial_movie_id\tdbpedia_uri\n"
        + "".join(f"{i}\t{URI.format(names[i - 1])}\n" for i in range(1, N_MOVIES + 1))
    )
    director, elsewhere = N_MOVIES, N_MOVIES + 1
    triples = [(0, 121, director), (1, 121, director), (0, 86, 0), (director, 104, elsewhere)]
    (kg_dir / "subkg_triples.tsv").write_text(
        "head_entity_id\trelation_id\ttail_entity_id\n"
        + "".join(f"{h}\t{r}\t{t}\n" for h, r, t in triples)
    )
    records = [
        redial_dialogue(10, 3, 4),
        redial_dialogue(11, 3, 4),
        redial_dialogue(12, 5, 6),
        redial_dialogue(13, 5, 6),
    ]
    (folder / "kgsf_valid_data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder
