"""Speaker verification probe (MP3S VoxCeleb1).

The probe (an x-vector or ECAPA embedder with a cosine classifier, a
:class:`~summary_ssl.probes.heads.EmbeddingClassifier`) learns to classify
the training speakers with an additive angular margin loss; verification
scores the trials by the cosine similarity of the two utterances'
embeddings, and reports EER and minDCF.

Training and validation are :class:`~summary_ssl.probes.classification.
ClassifierProbeBrain`'s (speaker accuracy on held-out utterances of the
training speakers, checkpoints on its error rate). Expected, beyond
:class:`~summary_ssl.probes.brain.ProbeBrain`'s:
``hparams.compute_cost`` (called as ``cost(scores (B, 1, C), targets (B,
1))``, e.g. ``LogSoftmaxWrapper(AdditiveAngularMargin(...))``),
``hparams.crop_seconds`` (optional random crop of the training
utterances) with ``hparams.crop_waveform`` (True: the recipe's data
pipeline crops the waveform before the encoder, as MP3S, and nothing is
cropped here; False: the features of the whole utterance are cropped,
which the feature cache can serve), ``hparams.p_target`` (minDCF prior),
batches with ``label_encoded`` (speaker indices) for training and
validation.

Authors
-------
* summary_ssl contributors 2026
"""

import logging

import speechbrain as sb
import torch
import torch.nn.functional as F
from speechbrain.utils.metric_stats import EER, minDCF
from tqdm import tqdm

from summary_ssl.nnet.padding import abs_lengths
from summary_ssl.probes.brain import unwrap
from summary_ssl.probes.classification import ClassifierProbeBrain

logger = logging.getLogger(__name__)


def random_crop(feats, lens, max_frames):
    """Crops each utterance to at most ``max_frames`` real frames, at a
    random offset (torch's RNG).

    Arguments
    ---------
    feats : torch.Tensor
        (B, T, D)
    lens : torch.Tensor
        (B,) relative lengths.
    max_frames : int
        Frames kept per utterance.

    Returns
    -------
    feats : torch.Tensor
        (B, min(T, max_frames), D), zero on padded frames.
    lens : torch.Tensor
        (B,) relative lengths.

    Example
    -------
    >>> feats = torch.arange(10.0).view(1, 10, 1).repeat(2, 1, 1)
    >>> crop, lens = random_crop(feats, torch.tensor([1.0, 0.3]), 4)
    >>> crop.shape, lens.tolist()
    (torch.Size([2, 4, 1]), [1.0, 0.75])
    >>> crop[1].flatten().tolist()  # short utterance: kept whole
    [0.0, 1.0, 2.0, 0.0]
    """
    B, T, _ = feats.shape
    if T <= max_frames:
        return feats, lens
    frames = abs_lengths(lens, T)
    kept = frames.clamp(max=max_frames)
    starts = (torch.rand(B, device=feats.device) * (frames - kept + 1)).long()
    steps = torch.arange(max_frames, device=feats.device)
    index = (starts[:, None] + steps[None, :]).clamp(max=T - 1)
    out = torch.gather(
        feats, 1, index.unsqueeze(-1).expand(-1, -1, feats.shape[-1])
    )
    out = out * (steps[None, :] < kept[:, None]).unsqueeze(-1).to(out.dtype)
    return out, kept.float() / max_frames


def crop_layers(hidden, lens, max_frames):
    """:func:`random_crop` of every layer at the same offsets: ``hidden``
    is an (L, B, T, D) stack of layers, cropped to (L, B, min(T,
    max_frames), D); ``lens``, ``max_frames`` and the returned lengths are
    :func:`random_crop`'s.

    Example
    -------
    >>> hidden = torch.arange(10.0).view(1, 1, 10, 1).repeat(2, 3, 1, 1)
    >>> crop, lens = crop_layers(hidden, torch.tensor([1.0, 1.0, 0.2]), 4)
    >>> crop.shape, torch.equal(crop[0], crop[1]), lens.tolist()
    (torch.Size([2, 3, 4, 1]), True, [1.0, 1.0, 0.5])
    """
    L, B, T, D = hidden.shape
    flat = hidden.permute(1, 2, 0, 3).reshape(B, T, L * D)
    flat, lens = random_crop(flat, lens, max_frames)
    crop = flat.reshape(B, flat.shape[1], L, D).permute(2, 0, 1, 3)
    return crop, lens


def verification_scores(embeddings, trials):
    """Cosine scores of trials, split into target and non-target.

    Arguments
    ---------
    embeddings : dict
        Utterance ID -> (E,) embedding.
    trials : list of (int, str, str)
        (label, enrolment ID, test ID); label 1 = same speaker.

    Returns
    -------
    positive, negative : torch.Tensor
        Scores of the target and the non-target trials.

    Example
    -------
    >>> emb = {"a": torch.tensor([1.0, 0.0]), "b": torch.tensor([1.0, 0.1]),
    ...        "c": torch.tensor([0.0, 1.0])}
    >>> pos, neg = verification_scores(emb, [(1, "a", "b"), (0, "a", "c")])
    >>> round(pos.item(), 3), neg.item()
    (0.995, 0.0)
    """
    positive, negative = [], []
    for label, enrol, test in trials:
        score = F.cosine_similarity(
            embeddings[enrol], embeddings[test], dim=0
        ).item()
        (positive if int(label) == 1 else negative).append(score)
    return torch.tensor(positive), torch.tensor(negative)


def normalized_min_dcf(positive, negative, p_target=0.01):
    """minDCF normalised by the cost of the best trivial system (the NIST
    convention; SpeechBrain's ``minDCF`` returns it unnormalised).

    Arguments
    ---------
    positive, negative : torch.Tensor
        Target and non-target scores.
    p_target : float
        Prior of a target trial (``c_miss = c_fa = 1``).

    Returns
    -------
    float
        0 for perfect separation, 1 for a system no better than always
        accepting or always rejecting.

    Example
    -------
    >>> pos, neg = torch.tensor([0.9, 0.8]), torch.tensor([0.1, 0.2])
    >>> normalized_min_dcf(pos, neg)
    0.0
    >>> round(normalized_min_dcf(neg, pos), 4)  # no better than trivial
    1.0
    """
    min_dcf, _ = minDCF(positive, negative, p_target=p_target)
    return float(min_dcf) / min(p_target, 1.0 - p_target)


class SpeakerProbeBrain(ClassifierProbeBrain):
    """Speaker classification training, cosine-scored verification."""

    def compute_forward(self, batch, stage):
        """Features (randomly cropped in training) -> (B, C) scores.

        The crop is taken from the frozen layers, before the layer sum,
        so the layer sum and its backward pass see the crop only."""
        batch = batch.to(self.device)
        hidden, lens = self.frozen_features(batch, stage)
        crop = self.hparams.crop_seconds
        if self.hparams.crop_waveform:
            crop = None  # done by the data pipeline
        if stage == sb.Stage.TRAIN and crop:
            frame_rate = self.modules.extractor.frame_rate
            hidden, lens = crop_layers(
                hidden, lens, max(1, int(round(crop * frame_rate)))
            )
        feats = self.modules.layer_sum(hidden, lens)
        return self.modules.probe(feats, lens)

    def compute_objectives(self, scores, batch, stage):
        """The classification loss (e.g. AAM softmax) on the speakers."""
        targets = batch.label_encoded.data.reshape(-1, 1)
        loss = self.hparams.compute_cost(scores.unsqueeze(1), targets)
        if stage != sb.Stage.TRAIN:
            self.predictions.append(scores.argmax(dim=-1).cpu())
            self.targets.append(targets.reshape(-1).cpu())
        return loss

    @torch.no_grad()
    def embed(self, dataset, loader_kwargs=None):
        """Embeddings of every utterance of ``dataset`` (``id``, ``sig``).

        Arguments
        ---------
        dataset : speechbrain.dataio.dataset.DynamicItemDataset
            The utterances.
        loader_kwargs : dict, optional
            DataLoader options.

        Returns
        -------
        dict
            Utterance ID -> (E,) CPU tensor.
        """
        loader = self.make_dataloader(
            dataset, sb.Stage.TEST, **(loader_kwargs or {})
        )
        self.modules.eval()
        probe = unwrap(self.modules.probe)
        embeddings = {}
        for batch in tqdm(loader, desc="embeddings", dynamic_ncols=True):
            batch = batch.to(self.device)
            feats, lens = self.compute_features(batch)
            for utt, emb in zip(batch.id, probe.embed(feats, lens).cpu()):
                embeddings[utt] = emb
        return embeddings

    def verify(self, dataset, trials, min_key="error_rate", loader_kwargs=None):
        """Scores the trials with the best checkpoint; writes metrics.

        Arguments
        ---------
        dataset : speechbrain.dataio.dataset.DynamicItemDataset
            Every utterance the trials use.
        trials : list of (int, str, str)
            (label, enrolment ID, test ID).
        min_key : str
            Checkpoint selection key (lower is better).
        loader_kwargs : dict, optional
            DataLoader options.

        Returns
        -------
        dict
            ``EER`` (%) and ``minDCF``.
        """
        self.on_evaluate_start(min_key=min_key)
        embeddings = self.embed(dataset, loader_kwargs)
        positive, negative = verification_scores(embeddings, trials)
        if len(positive) == 0 or len(negative) == 0:
            raise ValueError(
                "the trials need target and non-target pairs, got "
                f"{len(positive)} and {len(negative)}"
            )
        p_target = self.hparams.p_target
        eer, _ = EER(positive, negative)
        metrics = {
            "EER": 100.0 * float(eer),
            "minDCF": normalized_min_dcf(positive, negative, p_target),
        }
        self.hparams.train_logger.log_stats(
            stats_meta={"Epoch loaded": self.hparams.epoch_counter.current},
            test_stats=metrics,
        )
        self.write_metrics(
            metrics,
            extra={"trials": len(trials), "target_trials": len(positive)},
        )
        return metrics
