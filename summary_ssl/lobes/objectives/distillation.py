"""Layer-to-layer distillation (DistilHuBERT, Chang et al. 2022).

A small student (the teacher's front end plus a few encoder layers)
predicts chosen hidden states of a frozen teacher, one linear prediction
head per teacher layer, from its last layer's output. The loss of a head
is DistilHuBERT's

    L1(h, p) - lambda * log sigmoid(cos(h, p))

per frame (the L1 distance averaged over the features), averaged over the
real frames of the batch; the heads' losses are summed.

* :func:`student_from_teacher` builds the student encoder (an exportable
  :class:`~summary_ssl.lobes.encoders.wav2vec2.Wav2Vec2Encoder`) from the
  teacher's recorded constructor arguments, and copies the teacher's
  weights into it
  wherever names and shapes agree;
* :class:`PredictionHeads` holds the heads (dropped at export);
* :func:`distillation_loss` / :class:`DistillationLoss` is the loss;
* :func:`check_distillation_setup` refuses, when the Brain is built, a
  teacher, student and heads that do not fit together.

Authors
-------
* summary_ssl contributors 2026
"""

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

from summary_ssl.lobes.encoders.conformer import ConformerEncoder
from summary_ssl.lobes.encoders.wav2vec2 import Wav2Vec2Encoder


def _unfrozen(module):
    """The encoder inside a ``FrozenSSLEncoder`` (or the module itself)."""
    return getattr(module, "wav2vec2", module)


def _rebuild(module):
    """A new module of the same class and recorded arguments."""
    args = {
        key: _rebuild(value) if hasattr(value, "init_args") else value
        for key, value in module.init_args.items()
    }
    return type(module)(**copy.deepcopy(args))


def student_from_teacher(
    teacher,
    num_layers=2,
    attention_type=None,
    mixer_options=None,
    d_model=None,
    d_ffn=None,
    nhead=None,
    dropout=None,
    layerdrop_prob=0.0,
    feature_grad_mult=None,
    init_from_teacher=True,
):
    """The student: the teacher's front end and ``num_layers`` Conformer
    layers, initialised from the teacher where names and shapes agree.

    Arguments
    ---------
    teacher : torch.nn.Module
        A ``FrozenSSLEncoder`` or a recorded ``Wav2Vec2Encoder`` with a
        :class:`~summary_ssl.lobes.encoders.conformer.ConformerEncoder`.
    num_layers : int
        Student encoder layers (DistilHuBERT: 2).
    attention_type : str, optional
        The student's mixer; None = the teacher's.
    mixer_options : dict, optional
        Its options; None = the teacher's when the mixer is the teacher's,
        else the mixer's defaults.
    d_model, d_ffn, nhead, dropout : optional
        Student sizes and dropout; None = the teacher's.
    layerdrop_prob : float
        Student LayerDrop (off by default: 2 layers).
    feature_grad_mult : float, optional
        Gradient scale into the front end (0 freezes it); None = the
        teacher's.
    init_from_teacher : bool
        Copy the teacher's weights (front end, input projection, the first
        ``num_layers`` layers, final norm) wherever the shapes allow;
        False leaves the student randomly initialised (the baseline).

    Returns
    -------
    summary_ssl.lobes.encoders.wav2vec2.Wav2Vec2Encoder

    Example
    -------
    >>> from summary_ssl.lobes.frontends import FbankCNNFrontEnd
    >>> teacher = Wav2Vec2Encoder(
    ...     FbankCNNFrontEnd(n_mels=40, channels=[8, 4]),
    ...     ConformerEncoder(4, 32, 64, 4, kernel_size=3,
    ...                      attention_type="SummaryMixing"),
    ...     d_model=32,
    ... )
    >>> student = student_from_teacher(teacher, num_layers=2)
    >>> student.num_hidden_states, student.hidden_size
    (3, 32)
    >>> torch.equal(student.encoder.layers[1].ffn_module1[1].weight,
    ...             teacher.encoder.layers[1].ffn_module1[1].weight)
    True
    >>> student.init_report["copied"] > 0, student.init_report["skipped"]
    (True, [])
    >>> student.mask_emb.requires_grad  # never masked here (DDP)
    False
    """
    teacher = _unfrozen(teacher)
    if not isinstance(getattr(teacher, "encoder", None), ConformerEncoder):
        raise ValueError(
            "the teacher must be a Wav2Vec2Encoder with a ConformerEncoder "
            f"(an exported summary_ssl encoder), not {type(teacher).__name__}"
        )
    enc_args = dict(teacher.encoder.init_args)
    if attention_type is not None and attention_type != (
        teacher.encoder.attention_type
    ):
        # The teacher's options belong to its mixer; the reference-style
        # keys too.
        for key in ("local_proj_hid_dim", "local_proj_out_dim"):
            enc_args[key] = None
        for key in ("summary_hid_dim", "summary_out_dim", "mode"):
            enc_args[key] = None
        enc_args["use_layernorm"] = None
        enc_args["mixer_options"] = mixer_options
        enc_args["attention_type"] = attention_type
    elif mixer_options is not None:
        enc_args["mixer_options"] = mixer_options
    sizes = dict(d_model=d_model, d_ffn=d_ffn, nhead=nhead, dropout=dropout)
    enc_args.update({k: v for k, v in sizes.items() if v is not None})
    enc_args.update(num_layers=num_layers, layerdrop_prob=layerdrop_prob)
    w2v_args = dict(teacher.init_args)
    w2v_args.update(
        frontend=_rebuild(teacher.frontend),
        encoder=ConformerEncoder(**copy.deepcopy(enc_args)),
        d_model=enc_args["d_model"],
    )
    if feature_grad_mult is not None:
        w2v_args["feature_grad_mult"] = feature_grad_mult
    if dropout is not None:
        w2v_args["dropout_input"] = dropout
    student = Wav2Vec2Encoder(**w2v_args)
    # Distillation never masks the student's input: a trainable parameter
    # without gradient would stop DDP (unused parameter). A rebuilt export
    # has it trainable again (for fine-tuning with masks).
    student.mask_emb.requires_grad_(False)
    report = {"copied": 0, "skipped": []}
    if init_from_teacher:
        report = copy_matching(teacher, student)
    student.init_report = report
    return student


def copy_matching(source, target):
    """Copies the tensors of ``source``'s state dict into ``target``'s
    where the names and shapes agree (the student's layer i is the
    teacher's layer i).

    Returns
    -------
    dict
        ``copied`` (how many tensors) and ``skipped`` (the target's names
        left at their initialisation, shape mismatch or absent from the
        source).
    """
    src = source.state_dict()
    state = target.state_dict()
    skipped = []
    for name, value in state.items():
        if name in src and src[name].shape == value.shape:
            state[name] = src[name].detach().clone()
        else:
            skipped.append(name)
    target.load_state_dict(state)
    return {"copied": len(state) - len(skipped), "skipped": skipped}


class PredictionHeads(nn.Module):
    """One linear head per chosen teacher layer, on the student's output.

    Arguments
    ---------
    input_size : int
        The student's hidden size.
    output_size : int
        The teacher's hidden size.
    teacher_layers : sequence of int
        Teacher hidden-state indices to predict (1 = after its first
        layer; DistilHuBERT: 4, 8, 12 of 12).

    Example
    -------
    >>> heads = PredictionHeads(16, 32, [2, 4])
    >>> heads(torch.randn(3, 7, 16)).shape  # (heads, B, T, teacher dim)
    torch.Size([2, 3, 7, 32])
    """

    def __init__(self, input_size, output_size, teacher_layers):
        super().__init__()
        self.teacher_layers = [int(i) for i in teacher_layers]
        if not self.teacher_layers:
            raise ValueError("teacher_layers must name at least one layer")
        self.input_size = int(input_size)
        self.output_size = int(output_size)
        self.heads = nn.ModuleList(
            nn.Linear(self.input_size, self.output_size)
            for _ in self.teacher_layers
        )

    def forward(self, x):
        """(B, T, input_size) -> (heads, B, T, output_size)."""
        return torch.stack([head(x) for head in self.heads])


def distillation_loss(predictions, targets, padding, cos_weight=1.0):
    """DistilHuBERT's loss: per head, the mean over real frames of
    ``L1 - cos_weight * log sigmoid(cos)``; summed over heads.

    Arguments
    ---------
    predictions, targets : torch.Tensor
        (heads, B, T, D).
    padding : torch.Tensor
        (B, T) boolean, True = padding (ignored).
    cos_weight : float
        lambda (DistilHuBERT: 1).

    Returns
    -------
    dict of torch.Tensor
        ``loss`` (the sum over heads), and, per head ``i`` (in the order
        of the heads), ``l1_<i>`` and ``cos_<i>`` (means over real frames),
        and their means over heads ``l1`` and ``cos``. Computed in
        float32.

    Example
    -------
    >>> p = torch.ones(1, 1, 3, 2)
    >>> t = torch.cat([torch.ones(1, 1, 2, 2), -9 * torch.ones(1, 1, 1, 2)], 2)
    >>> padding = torch.tensor([[False, False, True]])
    >>> stats = distillation_loss(p, t, padding)
    >>> stats["l1"].item(), round(stats["cos"].item(), 4)  # padding ignored
    (0.0, 1.0)
    >>> round(stats["loss"].item(), 4)  # -log sigmoid(1)
    0.3133
    """
    p = predictions.float()
    t = targets.float()
    real = (~padding).to(p.dtype)  # (B, T)
    frames = real.sum().clamp_min(1.0)
    l1 = (p - t).abs().mean(dim=-1)  # (heads, B, T)
    cos = F.cosine_similarity(p, t, dim=-1)  # (heads, B, T)
    l1_head = (l1 * real).sum(dim=(1, 2)) / frames
    cos_head = (cos * real).sum(dim=(1, 2)) / frames
    logsig_head = (F.logsigmoid(cos) * real).sum(dim=(1, 2)) / frames
    per_head = l1_head - cos_weight * logsig_head
    stats = {"loss": per_head.sum()}
    stats["l1"] = l1_head.detach().mean()
    stats["cos"] = cos_head.detach().mean()
    for i in range(p.shape[0]):
        stats[f"l1_{i}"] = l1_head[i].detach()
        stats[f"cos_{i}"] = cos_head[i].detach()
    return stats


class DistillationLoss(nn.Module):
    """:func:`distillation_loss` with its lambda (no parameters).

    Arguments
    ---------
    cos_weight : float
        lambda (DistilHuBERT: 1).

    Example
    -------
    >>> loss = DistillationLoss(1.0)
    >>> x = torch.randn(2, 1, 4, 8)
    >>> loss(x, x, torch.zeros(1, 4, dtype=torch.bool))["l1"].item()
    0.0
    """

    def __init__(self, cos_weight=1.0):
        super().__init__()
        if not cos_weight >= 0:
            raise ValueError(f"cos_weight must be >= 0, got {cos_weight}")
        self.cos_weight = float(cos_weight)

    def forward(self, predictions, targets, padding):
        """See :func:`distillation_loss`."""
        return distillation_loss(predictions, targets, padding, self.cos_weight)


def check_distillation_setup(student, teacher, heads, sample_rate=16000):
    """Raises a ValueError when the teacher, student and heads do not fit.

    The heads must read the student's hidden size and write the teacher's;
    the teacher layers must exist; the student must make as many frames
    as the teacher for any input length (no head can bridge two frame
    rates).

    Arguments
    ---------
    student : torch.nn.Module
        The student encoder (``hidden_size``, ``frontend``).
    teacher : torch.nn.Module
        The teacher (a ``FrozenSSLEncoder`` or an encoder).
    heads : PredictionHeads
        The heads.
    sample_rate : int
        To test frame counts over 0.5 to 3 s of audio.

    Example
    -------
    >>> from summary_ssl.lobes.frontends import FbankCNNFrontEnd
    >>> teacher = Wav2Vec2Encoder(
    ...     FbankCNNFrontEnd(n_mels=40, channels=[8, 4]),
    ...     ConformerEncoder(4, 32, 64, 4, kernel_size=3,
    ...                      attention_type="SummaryMixing"),
    ...     d_model=32,
    ... )
    >>> student = student_from_teacher(teacher, d_model=16, nhead=2)
    >>> check_distillation_setup(student, teacher, PredictionHeads(16, 32, [4]))
    >>> check_distillation_setup(student, teacher, PredictionHeads(32, 32, [4]))
    Traceback (most recent call last):
    ...
    ValueError: Distillation setup: the prediction heads read 32 features \
but the student's hidden size is 16 (heads' input_size)
    """
    teacher = _unfrozen(teacher)
    errors = []
    if heads.input_size != student.hidden_size:
        errors.append(
            f"the prediction heads read {heads.input_size} features but "
            f"the student's hidden size is {student.hidden_size} "
            "(heads' input_size)"
        )
    if heads.output_size != teacher.hidden_size:
        errors.append(
            f"the prediction heads write {heads.output_size} features but "
            f"the teacher's hidden size is {teacher.hidden_size} "
            "(heads' output_size)"
        )
    last = teacher.num_hidden_states - 1
    bad = [i for i in heads.teacher_layers if not 1 <= i <= last]
    if bad:
        errors.append(
            f"teacher_layers {bad} do not exist: the teacher has {last} "
            f"layers (hidden states 1..{last}; 0 is its front end)"
        )
    samples = torch.arange(sample_rate // 2, 3 * sample_rate, 37)
    ours = student.frontend.output_lengths(samples)
    theirs = teacher.frontend.output_lengths(samples)
    if not torch.equal(torch.as_tensor(ours), torch.as_tensor(theirs)):
        errors.append(
            "the student's front end makes a different number of frames "
            "than the teacher's: no prediction head bridges two frame rates "
            "(use the teacher's front end)"
        )
    if errors:
        raise ValueError("Distillation setup: " + "; ".join(errors))
