"""Tiny INSPIRED files for the benchmark's tests: a dialogue ``tsv`` and a movie list."""

from __future__ import annotations

from pathlib import Path

__all__ = ["inspired_tsv", "movie_list"]


def inspired_tsv(tmp_path: Path) -> Path:
    header = "dialog_id\tutt_id\tspeaker\ttext\tmovies\tmovie_dict"
    rows = [
        "d1\t1\tSEEKER\tI liked QUOTATION_MARKUpQUOTATION_MARK\tUp (2009)\t{'Up (2009)': 0}",
        "d1\t2\tRECOMMENDER\tTry Coco\ufffd or Up\tCoco (2017);  Up (2009)\t{'Coco (2017)': 1}",
        "d2\t1\tRECOMMENDER\tHave you seen Heat?\tHeat (1995)"
        "\t{'Heat (1995)': 0, 'Jaws (1975)': 1}",
    ]
    path = tmp_path / "dialog_dev.tsv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def movie_list(tmp_path: Path) -> Path:
    """A ReDial-style movie table: Up (also in the dialogues, spelt differently), Alien."""
    path = tmp_path / "movies.csv"
    path.write_text("movieId,movieName,nbMentions\n1,UP  (2009),3\n2,Alien (1979),1\n3,,1\n")
    return path
