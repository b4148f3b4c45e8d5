"""CTC output tokens: fairseq letters or a SentencePiece model.

Two tokenizers with one interface (``len``, ``encode``, ``decode``,
``blank_index``, ``save``; :func:`load_tokenizer` reads either back):

* :class:`CharTokenizer`: fairseq's ``ltr`` labels for wav2vec 2.0
  fine-tuning. Every character is a token and ``|`` ends each word
  (``HI YOU`` -> ``H I | Y O U |``); index 0 is the CTC blank.
* :class:`SentencePieceTokenizer`: a BPE (or unigram) model trained on
  the training transcripts with SpeechBrain's ``SentencePiece`` wrapper;
  the piece ids are shifted by one so that index 0 is the blank.

Both spell over one declared character set (:data:`LETTERS` by
default). A transcript with a character outside it, or with no
character at all, cannot be a CTC target: :func:`filter_transcripts`
excludes it and counts the reason, and the recipe logs the counts and
writes the excluded lines to ``excluded_transcripts_<name>.txt``.

Example
-------
>>> tok = CharTokenizer()
>>> ids = tok.encode("HI YOU")
>>> [tok.vocab[i] for i in ids]
['H', 'I', '|', 'Y', 'O', 'U', '|']
>>> tok.decode(ids)
'HI YOU'
>>> len(tok), tok.blank_index
(29, 0)

Authors
-------
* summary_ssl contributors 2026
"""

import collections
import csv
import json
import logging
import os
import shutil

logger = logging.getLogger(__name__)

#: fairseq's letter dictionary for LibriSpeech (``dict.ltr.txt``): the
#: 26 upper-case letters and the apostrophe; ``|`` is the word boundary.
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ'"
BLANK = "<blank>"
WORD_BOUNDARY = "|"
TOKEN_TYPES = ("char", "bpe", "unigram")
TOKENIZER_FILE = "tokenizer.json"


def normalize_transcript(text):
    """Upper case, single spaces, no leading or trailing space.

    Example
    -------
    >>> normalize_transcript("  smart   mirror ")
    'SMART MIRROR'
    """
    return " ".join(text.upper().split())


def transcript_problem(text, characters=LETTERS):
    """Why a (normalised) transcript cannot be a target, or None.

    Arguments
    ---------
    text : str
        The transcript, normalised (:func:`normalize_transcript`).
    characters : str
        The characters tokens may spell (spaces separate words).

    Returns
    -------
    str or None
        ``"empty"``, ``"characters outside the token set"``, or None.

    Example
    -------
    >>> transcript_problem("IT'S OK"), transcript_problem("")
    (None, 'empty')
    >>> transcript_problem("CAFÉ 42")
    'characters outside the token set'
    """
    if not text.strip():
        return "empty"
    allowed = set(characters) | {" "}
    if any(c not in allowed for c in text):
        return "characters outside the token set"
    return None


def filter_transcripts(rows, characters=LETTERS, field="wrd"):
    """Splits rows into usable ones and excluded ones.

    Each kept row's ``field`` is normalised; excluded rows keep theirs.

    Arguments
    ---------
    rows : iterable of dict
        CSV rows with a transcript in ``field``.
    characters : str
        The token set's characters.
    field : str
        The transcript column.

    Returns
    -------
    kept : list of dict
    excluded : list of (dict, str)
        Each excluded row with its reason.

    Example
    -------
    >>> rows = [{"ID": "a", "wrd": "hello"}, {"ID": "b", "wrd": ""},
    ...         {"ID": "c", "wrd": "NO. 5"}]
    >>> kept, excluded = filter_transcripts(rows)
    >>> [r["wrd"] for r in kept], [(r["ID"], why) for r, why in excluded]
    (['HELLO'], [('b', 'empty'), ('c', 'characters outside the token set')])
    """
    kept, excluded = [], []
    for row in rows:
        text = normalize_transcript(row.get(field) or "")
        problem = transcript_problem(text, characters)
        if problem is None:
            kept.append(dict(row, **{field: text}))
        else:
            excluded.append((row, problem))
    return kept, excluded


def filter_csv(in_csv, out_csv, characters=LETTERS, field="wrd"):
    """Writes ``out_csv``: the rows of ``in_csv`` with usable transcripts.

    The excluded rows and their reasons go to
    ``excluded_transcripts_<out_csv stem>.txt`` beside ``out_csv``, and
    their counts are logged.

    Returns
    -------
    dict
        ``kept`` (int) and ``excluded`` (reason -> count).
    """
    with open(in_csv, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames
        kept, excluded = filter_transcripts(reader, characters, field)
    tmp = f"{out_csv}.tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(kept)
    os.replace(tmp, out_csv)
    stem = os.path.splitext(os.path.basename(out_csv))[0]
    report = os.path.join(
        os.path.dirname(out_csv), f"excluded_transcripts_{stem}.txt"
    )
    with open(report, "w", encoding="utf-8") as f:
        for row, why in excluded:
            f.write(f"{row.get('ID')}\t{why}\t{row.get(field)!r}\n")
    counts = dict(collections.Counter(why for _, why in excluded))
    if excluded:
        logger.warning(
            f"{stem}: {len(excluded)} transcripts excluded {counts} "
            f"(see {report}); {len(kept)} kept"
        )
    return {"kept": len(kept), "excluded": counts}


class CharTokenizer:
    """fairseq letters: blank, ``|`` (end of word), then each character.

    Arguments
    ---------
    characters : str
        The characters, in index order after the blank and ``|``.

    Example
    -------
    >>> tok = CharTokenizer("AB")
    >>> tok.vocab
    ['<blank>', '|', 'A', 'B']
    >>> tok.decode([2, 2, 1, 3])  # decode does not merge repeats
    'AA B'
    """

    token_type = "char"
    blank_index = 0

    def __init__(self, characters=LETTERS):
        if WORD_BOUNDARY in characters or " " in characters:
            raise ValueError("characters may not hold '|' or a space")
        self.characters = characters
        self.vocab = [BLANK, WORD_BOUNDARY] + list(characters)
        self.index = {token: i for i, token in enumerate(self.vocab)}

    def __len__(self):
        return len(self.vocab)

    def encode(self, text):
        """Token ids of a normalised transcript (each word ends in ``|``)."""
        return [self.index[c] for w in text.split() for c in w + "|"]

    def decode(self, ids):
        """Text of token ids (blanks dropped, ``|`` -> word break)."""
        chars = [self.vocab[int(i)] for i in ids if int(i) != 0]
        return " ".join("".join(chars).replace("|", " ").split())

    def beam_vocab(self):
        """Labels for SpeechBrain's ``CTCBeamSearcher`` (space token
        ``|``): index -> label."""
        return list(self.vocab)

    space_token = WORD_BOUNDARY

    def save(self, folder):
        """Writes ``tokenizer.json`` to ``folder``."""
        os.makedirs(folder, exist_ok=True)
        info = {"token_type": "char", "characters": self.characters}
        with open(os.path.join(folder, TOKENIZER_FILE), "w") as f:
            json.dump(info, f, indent=2)


class SentencePieceTokenizer:
    """SentencePiece pieces, shifted by one so that 0 is the CTC blank.

    Arguments
    ---------
    model_file : str
        A trained SentencePiece ``.model`` file.
    characters : str
        The character set transcripts are filtered with (kept for
        :meth:`save`).
    """

    blank_index = 0
    space_token = "▁"

    def __init__(self, model_file, characters=LETTERS):
        import sentencepiece as spm

        self.model_file = model_file
        self.characters = characters
        self.sp = spm.SentencePieceProcessor()
        self.sp.load(model_file)
        self.token_type = "sentencepiece"

    def __len__(self):
        return self.sp.vocab_size() + 1

    def encode(self, text):
        """Token ids (pieces + 1) of a normalised transcript."""
        return [i + 1 for i in self.sp.encode_as_ids(text)]

    def decode(self, ids):
        """Text of token ids (blanks dropped)."""
        pieces = [int(i) - 1 for i in ids if int(i) != 0]
        return " ".join(self.sp.decode_ids(pieces).split())

    def beam_vocab(self):
        """Labels for the beam searcher (index 0: the blank)."""
        size = self.sp.vocab_size()
        return [BLANK] + [self.sp.id_to_piece(i) for i in range(size)]

    @classmethod
    def train(
        cls,
        train_csv,
        model_dir,
        vocab_size,
        model_type="bpe",
        characters=LETTERS,
    ):
        """Trains a model on the ``wrd`` column of ``train_csv`` with
        SpeechBrain's ``SentencePiece`` wrapper (which reuses a model
        already in ``model_dir``) and loads it.

        Example
        -------
        >>> tmp = getfixture("tmp_path")
        >>> _ = (tmp / "t.csv").write_text(
        ...     "ID,wrd\\n" + "".join(f"u{i},THE CAT SAT ON A MAT\\n"
        ...                         for i in range(20)))
        >>> tok = SentencePieceTokenizer.train(
        ...     str(tmp / "t.csv"), str(tmp / "spm"), 14)
        >>> tok.decode(tok.encode("A CAT SAT")), len(tok)
        ('A CAT SAT', 15)
        """
        from speechbrain.tokenizers.SentencePiece import SentencePiece

        sp = SentencePiece(
            model_dir=model_dir,
            vocab_size=int(vocab_size),
            annotation_train=train_csv,
            annotation_read="wrd",
            model_type=model_type,
            character_coverage=1.0,
        )
        return cls(sp.prefix_model_file + ".model", characters)

    def save(self, folder):
        """Copies the model to ``folder`` and writes ``tokenizer.json``."""
        os.makedirs(folder, exist_ok=True)
        target = os.path.join(folder, "tokenizer.model")
        if os.path.abspath(self.model_file) != os.path.abspath(target):
            shutil.copyfile(self.model_file, target)
        info = {
            "token_type": "sentencepiece",
            "model": "tokenizer.model",
            "characters": self.characters,
        }
        with open(os.path.join(folder, TOKENIZER_FILE), "w") as f:
            json.dump(info, f, indent=2)


def build_tokenizer(
    token_type, train_csv, save_folder, vocab_size=None, characters=LETTERS
):
    """The tokenizer a recipe asks for.

    Arguments
    ---------
    token_type : str
        ``char`` (fairseq letters), ``bpe`` or ``unigram``
        (SentencePiece, trained on ``train_csv``).
    train_csv : str
        Training CSV (transcripts already filtered), for SentencePiece.
    save_folder : str
        Where a SentencePiece model is trained and kept.
    vocab_size : int, optional
        SentencePiece vocabulary size (without the blank).
    characters : str
        The character set.

    Returns
    -------
    CharTokenizer or SentencePieceTokenizer

    Example
    -------
    >>> len(build_tokenizer("char", None, None))
    29
    """
    if token_type not in TOKEN_TYPES:
        raise ValueError(
            f"token_type must be one of {TOKEN_TYPES}, not {token_type!r}"
        )
    if token_type == "char":
        return CharTokenizer(characters)
    if not vocab_size:
        raise ValueError(f"token_type {token_type} needs a vocab_size")
    return SentencePieceTokenizer.train(
        train_csv, save_folder, vocab_size, token_type, characters
    )


def load_tokenizer(folder):
    """Reads back a tokenizer written by ``save``.

    Example
    -------
    >>> tmp = str(getfixture("tmp_path"))
    >>> CharTokenizer("AB").save(tmp)
    >>> load_tokenizer(tmp).vocab
    ['<blank>', '|', 'A', 'B']
    """
    with open(os.path.join(folder, TOKENIZER_FILE)) as f:
        info = json.load(f)
    if info["token_type"] == "char":
        return CharTokenizer(info["characters"])
    return SentencePieceTokenizer(
        os.path.join(folder, info["model"]), info["characters"]
    )
