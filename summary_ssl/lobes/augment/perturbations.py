"""Input perturbations of teacher-student pretraining (S3LSpeech, Spiral).

The student of S3LSpeech (Lugo & Vielzeuf 2024) sees a perturbed input:
additive noise on the waveform, then SpecAugment time and frequency masks
on its filterbanks; the teacher sees the clean filterbanks, padded with a
random number of frames on each side (:class:`RandomShift`), so that the
student cannot match the teacher by absolute position (Spiral, Huang et
al. 2022, Sec. 3.2). All three run on the batch's device, draw from the
torch RNG (so a checkpoint that restores it repeats them), and are
padding-aware: a padded frame or sample comes out as it went in, and each
utterance's perturbation depends on its own length only.

SpeechBrain's augmentation modules are used where they do this job:
``AddNoise`` mixes the noise at a drawn SNR (given padding-free white
noise, see :class:`NoiseMixer`) and ``SpectrogramDrop`` draws the
frequency masks. Its time masking
(``SpectrogramDrop(dim=1)``) is not used: it gives every utterance the
same number of masks, drawn over the padded length, and fills with a
constant, where S3LSpeech gives each utterance masks in proportion to its
length, inside its real frames, filled with Gaussian noise.

Authors
-------
* summary_ssl contributors 2026
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from speechbrain.augment.freq_domain import SpectrogramDrop
from speechbrain.augment.time_domain import AddNoise

from summary_ssl.nnet.padding import padding_mask


def time_mask(lengths, max_len, ratio, max_width):
    """Per-utterance SpecAugment time masks, inside the real frames.

    An utterance of ``n`` frames gets ``floor(ratio * n)`` masks, each of
    a width drawn uniformly in ``[0, max_width]`` starting uniformly in
    ``[0, n - max_width]`` (as S3LSpeech's and NeMo's SpecAugment draw
    them); masks may overlap.

    Arguments
    ---------
    lengths : torch.Tensor
        (B,) real frames per utterance, on the output device.
    max_len : int
        Padded number of frames.
    ratio : float
        Masks per real frame.
    max_width : int
        Largest mask width in frames.

    Returns
    -------
    torch.Tensor
        (B, max_len) boolean, True = masked; never True on padding.

    Example
    -------
    >>> _ = torch.manual_seed(0)
    >>> mask = time_mask(torch.tensor([400, 100]), 400, 0.025, 20)
    >>> bool(mask[1, 100:].any())
    False
    >>> 0.1 < float(mask[0].float().mean()) < 0.4
    True
    """
    B = lengths.shape[0]
    # Shapes from the padded length (no host-device sync); utterances
    # with fewer masks switch the extra ones off.
    most = int(ratio * max_len)
    if most == 0 or max_width <= 0:
        return torch.zeros(B, max_len, dtype=torch.bool, device=lengths.device)
    device = lengths.device
    count = (ratio * lengths.double()).floor().long()
    room = (lengths - max_width + 1).clamp(min=1)  # possible starts
    starts = (torch.rand(B, most, device=device) * room[:, None]).long()
    widths = (torch.rand(B, most, device=device) * (max_width + 1)).long()
    on = torch.arange(most, device=device)[None, :] < count[:, None]
    ends = torch.minimum(starts + widths * on, lengths[:, None])
    # +1 at each start, -1 at each end; a frame is masked where the running
    # sum is positive.
    edges = torch.zeros(B, max_len + 1, dtype=torch.long, device=device)
    edges.scatter_add_(1, starts.clamp(max=max_len), on.long())
    edges.scatter_add_(1, ends.clamp(max=max_len), -on.long())
    return edges.cumsum(dim=1)[:, :max_len] > 0


class SpecAugment(nn.Module):
    """Frequency and time masks on (B, T, F) features, padding untouched.

    Arguments
    ---------
    freq_masks : int
        Frequency masks per utterance (S3LSpeech: ``int(0.02 * n_mels)``,
        2 for 128 filterbanks), filled with zeros.
    freq_width : int
        Largest frequency-mask width in channels.
    time_mask_ratio : float
        Time masks per real frame (S3LSpeech: 0.025).
    time_width : int
        Largest time-mask width in frames.
    time_fill_std : float
        Time-masked frames are filled with N(0, std^2) noise (S3LSpeech:
        1.0); 0 fills with zeros.

    Example
    -------
    >>> augment = SpecAugment(freq_masks=2, freq_width=4,
    ...                       time_mask_ratio=0.05, time_width=5)
    >>> feats = torch.randn(2, 50, 16)
    >>> lengths = torch.tensor([50, 30])
    >>> out = augment(feats, lengths)
    >>> bool((out[1, 30:] == feats[1, 30:]).all())  # padding untouched
    True
    >>> off = SpecAugment(freq_masks=0, time_mask_ratio=0.0)
    >>> torch.equal(off(feats, lengths), feats)
    True
    """

    def __init__(
        self,
        freq_masks=2,
        freq_width=20,
        time_mask_ratio=0.025,
        time_width=20,
        time_fill_std=1.0,
    ):
        super().__init__()
        self.freq_drop = SpectrogramDrop(
            drop_length_low=0,
            drop_length_high=freq_width + 1,  # high is exclusive
            drop_count_low=freq_masks,
            drop_count_high=freq_masks,
            replace="zeros",
            dim=2,
        )
        self.freq_masks = freq_masks
        self.time_mask_ratio = time_mask_ratio
        self.time_width = time_width
        self.time_fill_std = time_fill_std

    def forward(self, feats, lengths):
        """Masks the features.

        Arguments
        ---------
        feats : torch.Tensor
            (B, T, F) features.
        lengths : torch.Tensor
            (B,) real frames per utterance.

        Returns
        -------
        torch.Tensor
            (B, T, F), a new tensor; padded frames equal the input's.
        """
        B, T, _ = feats.shape
        lengths = lengths.to(feats.device)
        out = feats
        mask = time_mask(lengths, T, self.time_mask_ratio, self.time_width)
        if self.time_mask_ratio > 0:
            fill = torch.randn_like(feats) * self.time_fill_std
            out = torch.where(mask.unsqueeze(-1), fill, out)
        if self.freq_masks > 0:
            out = self.freq_drop(out.clone())  # SpeechBrain's is in-place
        padding = padding_mask(lengths, T).unsqueeze(-1)
        return torch.where(padding, feats, out)


class NoiseMixer(nn.Module):
    """Adds noise to a random subset of the utterances, padding untouched.

    Each utterance is noised with probability ``prob`` (S3LSpeech's noise
    ratio, 0.5), at an SNR drawn uniformly in ``[snr_low, snr_high]`` dB
    (S3LSpeech: 0 to 30) over its real samples, by SpeechBrain's
    ``AddNoise``: noise files listed in ``noise_csv`` (SpeechBrain's
    format, e.g. the DNS Challenge noises S3LSpeech uses), or white noise
    when there is none.

    ``AddNoise``'s white noise covers the padded samples too while its
    RMS is divided by the real length only, so a padded utterance would
    get ``10 log10(padded / real)`` dB more SNR than drawn; here the white
    noise is zero on padding, which makes the SNR exact.

    With white noise everything is drawn from the torch RNG, so a resumed
    run repeats the uninterrupted one. With a noise CSV, ``AddNoise``
    reads the files through its own data loader, whose order restarts
    when a run resumes.

    Arguments
    ---------
    prob : float
        Probability that an utterance is noised.
    snr_low : float
        Lowest SNR in dB.
    snr_high : float
        Highest SNR in dB.
    noise_csv : str, optional
        CSV of noise files for ``AddNoise``; None for white noise.
    **add_noise_options : dict
        Other ``AddNoise`` arguments (``csv_keys``, ``replacements``...).

    Example
    -------
    >>> mixer = NoiseMixer(prob=1.0, snr_low=10, snr_high=10)
    >>> wavs = torch.randn(2, 1000)
    >>> wavs[1, 600:] = 0.0
    >>> noisy = mixer(wavs, torch.tensor([1.0, 0.6]))
    >>> bool((noisy[1, 600:] == 0).all()), bool((noisy != wavs).any())
    (True, True)
    >>> torch.equal(NoiseMixer(prob=0.0)(wavs, torch.ones(2)), wavs)
    True
    """

    def __init__(
        self,
        prob=0.5,
        snr_low=0.0,
        snr_high=30.0,
        noise_csv=None,
        **add_noise_options,
    ):
        super().__init__()
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f"prob must be in [0, 1], got {prob}")
        self.prob = prob
        self.white_noise = _PaddingFreeWhiteNoise()
        self.add_noise = AddNoise(
            csv_file=noise_csv,
            snr_low=snr_low,
            snr_high=snr_high,
            noise_funct=self.white_noise,
            **add_noise_options,
        )

    def forward(self, wavs, wav_lens):
        """Noisy waveforms.

        Arguments
        ---------
        wavs : torch.Tensor
            (B, N) waveforms.
        wav_lens : torch.Tensor
            (B,) relative lengths (SpeechBrain convention).

        Returns
        -------
        torch.Tensor
            (B, N); padded samples and un-noised utterances equal the
            input's.
        """
        if self.prob == 0.0:
            return wavs
        B, N = wavs.shape
        wav_lens = wav_lens.to(wavs.device)
        chosen = torch.rand(B, device=wavs.device) < self.prob
        padding = padding_mask(torch.round(wav_lens * N).long(), N)
        self.white_noise.padding = padding
        noisy = self.add_noise(wavs.masked_fill(padding, 0.0), wav_lens)
        keep = padding | ~chosen[:, None]
        return torch.where(keep, wavs, noisy)


class _PaddingFreeWhiteNoise:
    """``AddNoise``'s ``noise_funct``: white noise, zero on the padding
    of the batch being noised (set by ``NoiseMixer.forward``)."""

    def __init__(self):
        self.padding = None

    def __call__(self, waveforms):
        noise = torch.randn_like(waveforms)
        if self.padding is None:
            return noise
        return noise.masked_fill(self.padding, 0.0)


class RandomShift(nn.Module):
    """Pads every utterance of a batch with ``left * unit`` zero frames
    before and ``right * unit`` after its real frames.

    ``left`` and ``right`` are drawn uniformly in ``[min_shift,
    max_shift]``, once per batch (as S3LSpeech and Spiral draw them).
    ``unit`` is the encoder's total downsampling, so the encoder's output
    for the padded input is the output for the original input with
    ``left`` and ``right`` extra frames, which the caller crops (see
    :meth:`crop`). The inserted frames count as real frames (the encoder
    attends to them), unlike padding.

    Arguments
    ---------
    unit : int
        Input frames per output frame (8: 10 ms to 80 ms).
    min_shift : int
        Smallest shift in output frames.
    max_shift : int
        Largest shift in output frames (S3LSpeech: 16, 1.28 s).

    Example
    -------
    >>> shift = RandomShift(unit=2, min_shift=1, max_shift=1)
    >>> feats = torch.ones(2, 3, 1)
    >>> out, lengths, left, right = shift(feats, torch.tensor([3, 2]))
    >>> out[..., 0]
    tensor([[0., 0., 1., 1., 1., 0., 0.],
            [0., 0., 1., 1., 0., 0., 0.]])
    >>> lengths.tolist(), left, right
    ([7, 6], 1, 1)
    """

    def __init__(self, unit=8, min_shift=0, max_shift=16):
        super().__init__()
        if not 0 <= min_shift <= max_shift:
            raise ValueError(
                f"need 0 <= min_shift <= max_shift, got {min_shift}, "
                f"{max_shift}"
            )
        self.unit = unit
        self.min_shift = min_shift
        self.max_shift = max_shift

    def forward(self, feats, lengths):
        """Shifts the batch.

        Arguments
        ---------
        feats : torch.Tensor
            (B, T, F) features.
        lengths : torch.Tensor
            (B,) real frames per utterance.

        Returns
        -------
        feats : torch.Tensor
            (B, T + (left + right) * unit, F)
        lengths : torch.Tensor
            (B,) new real lengths.
        left : int
            Output frames added before.
        right : int
            Output frames added after.
        """
        # Drawn on the CPU: the amounts decide shapes.
        left, right = torch.randint(
            self.min_shift, self.max_shift + 1, (2,)
        ).tolist()
        if left == right == 0:
            return feats, lengths, 0, 0
        padding = padding_mask(lengths.to(feats.device), feats.shape[1])
        feats = feats.masked_fill(padding.unsqueeze(-1), 0.0)
        feats = F.pad(feats, (0, 0, left * self.unit, right * self.unit))
        return feats, lengths + (left + right) * self.unit, left, right

    @staticmethod
    def crop(outputs, left, num_frames):
        """The output frames of the original input.

        Arguments
        ---------
        outputs : torch.Tensor
            (B, T', ...) encoder outputs for the shifted input.
        left : int
            Frames added before (from ``forward``).
        num_frames : int
            Padded output length for the unshifted input.

        Returns
        -------
        torch.Tensor
            (B, num_frames, ...)
        """
        return outputs[:, left : left + num_frames]
