"""A fine-tuned CTC model on disk: export it, load it, transcribe.

An exported folder is self-contained::

    <folder>/encoder/           # a plain exported encoder (LoRA merged):
                                # summary_ssl.pretrained.build_encoder reads it
    <folder>/adapted.ckpt       # state dict of the AdaptedEncoder to rebuild
    <folder>/ctc_lin.ckpt       # the CTC head
    <folder>/tokenizer.json     # (+ tokenizer.model for SentencePiece)
    <folder>/finetune.json      # how to rebuild it (adaptation, sizes)

Example
-------
>>> from summary_ssl.finetune.adaptation import AdaptedEncoder
>>> from summary_ssl.finetune.tokens import CharTokenizer
>>> from summary_ssl.lobes.encoders.conformer import ConformerEncoder
>>> from summary_ssl.lobes.frontends import FbankCNNFrontEnd
>>> from summary_ssl.lobes.encoders.wav2vec2 import Wav2Vec2Encoder
>>> encoder = Wav2Vec2Encoder(
...     FbankCNNFrontEnd(n_mels=40, channels=[8, 4]),
...     ConformerEncoder(2, 32, 64, 4, kernel_size=3,
...                      attention_type="SummaryMixing"),
...     d_model=32,
... )
>>> adapted = AdaptedEncoder(encoder, "lora", lora_rank=2).eval()
>>> tok = CharTokenizer()
>>> head = torch.nn.Linear(32, len(tok))
>>> folder = export_finetuned(
...     getfixture("tmp_path"), adapted, head, tok, {"lora_rank": 2})
>>> model = FinetunedCTC(folder)
>>> wav = torch.randn(1, 16000)
>>> feats, _ = adapted(wav, torch.ones(1))
>>> torch.allclose(model.log_probs(wav)[0], head(feats).log_softmax(-1),
...                atol=1e-5)
True
>>> isinstance(model.transcribe(wav[0]), str)
True

Authors
-------
* summary_ssl contributors 2026
"""

import json
import os

import torch
import torch.nn as nn
from speechbrain.decoders import ctc_greedy_decode

from summary_ssl.dataio.audio_checks import load_audio
from summary_ssl.finetune.adaptation import AdaptedEncoder
from summary_ssl.finetune.tokens import load_tokenizer
from summary_ssl.pretrained import build_encoder, export_encoder

INFO = "finetune.json"
ADAPTED = "adapted.ckpt"
HEAD = "ctc_lin.ckpt"
ADAPTER_OPTIONS = (
    "lora_rank",
    "lora_alpha",
    "lora_targets",
    "read_hidden",
    "read_cell",
    "read_aggregate",
)


def export_finetuned(
    folder, adapted, head, tokenizer, options, merge=True, meta=None
):
    """Writes a fine-tuned model to ``folder``.

    Arguments
    ---------
    folder : str or pathlib.Path
        Destination (created).
    adapted : AdaptedEncoder
        The fine-tuned adapted encoder (not changed).
    head : torch.nn.Linear
        The CTC head.
    tokenizer : object
        A tokenizer of :mod:`summary_ssl.finetune.tokens`.
    options : dict
        The adapter options (``ADAPTER_OPTIONS``: ``lora_rank``,
        ``lora_alpha``, ``lora_targets``, ``read_hidden``, ``read_cell``,
        ``read_aggregate``); a model exported before the last two were
        options is rebuilt with their defaults, which it used.
    merge : bool
        ``lora``: fold the adapters into the weights; the model is then
        rebuilt as a plain (``frozen``) adapted encoder.
    meta : dict, optional
        Extra information for ``finetune.json``.

    Returns
    -------
    str
        The folder.
    """
    folder = str(folder)
    os.makedirs(folder, exist_ok=True)
    plain, note = adapted.export_state(merge_lora=True)
    export_encoder(plain, os.path.join(folder, "encoder"))
    adaptation = adapted.adaptation
    if adaptation == "lora" and merge:
        adaptation = "frozen"  # the merged weights are the whole model
        state = AdaptedEncoder(plain, "frozen").state_dict()
    else:
        state = adapted.state_dict()
    state = {k: v.detach().cpu() for k, v in state.items()}
    torch.save(state, os.path.join(folder, ADAPTED))
    head_state = {k: v.detach().cpu() for k, v in head.state_dict().items()}
    torch.save(head_state, os.path.join(folder, HEAD))
    tokenizer.save(folder)
    info = {
        "adaptation": adaptation,
        "trained_adaptation": adapted.adaptation,
        "lora_merged": adapted.adaptation == "lora" and merge,
        "options": {k: options.get(k) for k in ADAPTER_OPTIONS if k in options},
        "note": note,
        **(meta or {}),
    }
    with open(os.path.join(folder, INFO), "w") as f:
        json.dump(info, f, indent=2)
    return folder


class FinetunedCTC(nn.Module):
    """A model written by :func:`export_finetuned`, in eval mode.

    Arguments
    ---------
    folder : str
        The exported folder.
    """

    def __init__(self, folder):
        super().__init__()
        for name in (INFO, ADAPTED, HEAD):
            if not os.path.isfile(os.path.join(folder, name)):
                raise FileNotFoundError(
                    f"{os.path.join(folder, name)} not found: is {folder} a "
                    "fine-tuned model folder (train.py's export_folder)?"
                )
        with open(os.path.join(folder, INFO)) as f:
            self.info = json.load(f)
        encoder = build_encoder(os.path.join(folder, "encoder"), True)
        options = {
            k: v for k, v in self.info["options"].items() if v is not None
        }
        self.encoder = AdaptedEncoder(
            encoder, self.info["adaptation"], **options
        )
        state = torch.load(os.path.join(folder, ADAPTED), map_location="cpu")
        self.encoder.load_state_dict(state)
        self.tokenizer = load_tokenizer(folder)
        head = torch.load(os.path.join(folder, HEAD), map_location="cpu")
        self.ctc_lin = nn.Linear(self.encoder.out_dim, len(self.tokenizer))
        self.ctc_lin.load_state_dict(head)
        self.eval()

    @torch.no_grad()
    def log_probs(self, wavs, wav_lens=None):
        """(B, N) waveforms -> (B, T, V) log-probabilities, (B,) relative
        frame lengths."""
        if wav_lens is None:
            wav_lens = torch.ones(wavs.shape[0])
        feats, frames = self.encoder(wavs, wav_lens)
        logits = self.ctc_lin(feats)
        return logits.log_softmax(-1), frames.float() / feats.shape[1]

    def transcribe(self, wav):
        """Greedy CTC transcript of one (N,) waveform at 16 kHz."""
        log_probs, lens = self.log_probs(wav.unsqueeze(0))
        ids = ctc_greedy_decode(log_probs, lens, blank_id=0)[0]
        return self.tokenizer.decode(ids)

    def transcribe_file(self, path, sample_rate=16000):
        """Greedy CTC transcript of an audio file."""
        return self.transcribe(load_audio(path, sample_rate=sample_rate))
