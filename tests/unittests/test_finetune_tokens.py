"""CTC tokens: fairseq letters, SentencePiece, and the transcript filter."""

import csv

import pytest

from summary_ssl.finetune.tokens import (
    CharTokenizer,
    SentencePieceTokenizer,
    build_tokenizer,
    filter_csv,
    filter_transcripts,
    load_tokenizer,
)

TEXTS = [
    "THE CAT SAT ON THE MAT",
    "A DOG'S LIFE",
    "SMART MIRROR VIEW GLASS",
    "THE BOY HAD LOST THE MAP",
] * 10


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["ID", "duration", "wav", "wrd"])
        writer.writeheader()
        writer.writerows(rows)


def test_letters_are_fairseq_ltr():
    tok = CharTokenizer()
    ids = tok.encode("A DOG'S")
    assert [tok.vocab[i] for i in ids] == list("A|DOG'S|")
    assert tok.blank_index == 0 and tok.vocab[0] == "<blank>"
    assert 0 not in ids
    for text in TEXTS:
        assert tok.decode(tok.encode(text)) == text


def test_char_decode_drops_blanks_and_extra_boundaries():
    tok = CharTokenizer()
    ids = [0, 1] + tok.encode("HI") + [0, 1, 1] + tok.encode("YOU") + [0]
    assert tok.decode(ids) == "HI YOU"


def test_char_tokenizer_refuses_reserved_characters():
    with pytest.raises(ValueError):
        CharTokenizer("AB|")


def test_bad_transcripts_are_excluded_and_counted(tmp_path):
    rows = [
        {"ID": "ok", "duration": 1, "wav": "a", "wrd": "it's fine"},
        {"ID": "empty", "duration": 1, "wav": "b", "wrd": ""},
        {"ID": "blank", "duration": 1, "wav": "c", "wrd": "   "},
        {"ID": "digits", "duration": 1, "wav": "d", "wrd": "ROOM 101"},
        {"ID": "accent", "duration": 1, "wav": "e", "wrd": "CAFÉ"},
    ]
    write_csv(tmp_path / "in.csv", rows)
    report = filter_csv(tmp_path / "in.csv", str(tmp_path / "out.csv"))
    assert report == {
        "kept": 1,
        "excluded": {"empty": 2, "characters outside the token set": 2},
    }
    with open(tmp_path / "out.csv", encoding="utf-8") as f:
        kept = list(csv.DictReader(f))
    assert [(r["ID"], r["wrd"]) for r in kept] == [("ok", "IT'S FINE")]
    listed = (tmp_path / "excluded_transcripts_out.txt").read_text()
    assert {line.split("\t")[0] for line in listed.splitlines()} == {
        "empty",
        "blank",
        "digits",
        "accent",
    }


def test_the_character_set_is_a_setting():
    kept, excluded = filter_transcripts(
        [{"wrd": "ABBA"}, {"wrd": "ABC"}], characters="AB"
    )
    assert [r["wrd"] for r in kept] == ["ABBA"]
    assert [why for _, why in excluded] == ["characters outside the token set"]


def test_sentencepiece_trains_on_transcripts_and_reserves_the_blank(tmp_path):
    rows = [
        {"ID": f"u{i}", "duration": 1, "wav": "x", "wrd": t}
        for i, t in enumerate(TEXTS)
    ]
    write_csv(tmp_path / "train.csv", rows)
    tok = build_tokenizer("bpe", str(tmp_path / "train.csv"), tmp_path, 30)
    assert isinstance(tok, SentencePieceTokenizer)
    assert len(tok) == 31  # 30 pieces + the blank
    for text in set(TEXTS):
        ids = tok.encode(text)
        assert 0 not in ids and max(ids) < len(tok)
        assert tok.decode(ids) == text
    assert tok.decode([0] + tok.encode("THE CAT") + [0]) == "THE CAT"
    tok.save(tmp_path / "export")
    again = load_tokenizer(tmp_path / "export")
    assert again.encode("THE MAP") == tok.encode("THE MAP")


def test_unknown_token_type_is_an_error():
    with pytest.raises(ValueError, match="token_type"):
        build_tokenizer("words", None, None)
    with pytest.raises(ValueError, match="vocab_size"):
        build_tokenizer("bpe", "x.csv", "y", None)
