"""On-disk cache of frozen probe features, one fp16 file per utterance.

The frozen stage of a probe (:class:`~summary_ssl.probes.features.
FrozenFeatures`) gives the same output every epoch, so it can run once per
utterance. :class:`FeatureCache` keeps each utterance's real frames, every
layer, as an fp16 ``(L, T_i, D)`` array in ``<folder>/<key>/<id>.npy``,
where ``<key>`` is a hash of the features' fingerprint (the encoder's
weights included): another encoder never reads these files.

Disk use is ``hours * 3600 * frame_rate * L * D * 2`` bytes: about 3.6 GB
per hour of audio for a 13-layer, 768-dim encoder at 50 Hz.

Authors
-------
* summary_ssl contributors 2026
"""

import hashlib
import json
import logging
import os
import pathlib
import urllib.parse

import numpy
import torch

logger = logging.getLogger(__name__)

INFO = "fingerprint.json"


class FeatureCache:
    """Per-utterance frozen features on disk.

    Arguments
    ---------
    folder : str or pathlib.Path
        Cache root (e.g. ``<output_folder>/feature_cache``).
    fingerprint : dict
        Identifies the features (JSON-serialisable); entries of another
        fingerprint live in another sub-folder.
    dtype : torch.dtype
        Storage type.

    Example
    -------
    >>> import tempfile
    >>> cache = FeatureCache(tempfile.mkdtemp(), {"features": "toy"})
    >>> hidden = torch.randn(3, 2, 5, 4)  # (L, B, T, D)
    >>> lens = torch.tensor([1.0, 0.6])
    >>> cache.missing(["a", "b/c"])
    ['a', 'b/c']
    >>> cache.save(["a", "b/c"], hidden, lens)
    >>> cached, cached_lens = cache.load(["b/c", "a"])
    >>> cached.shape, cached_lens.tolist()  # padded to the longest
    (torch.Size([3, 2, 5, 4]), [0.6000000238418579, 1.0])
    >>> torch.allclose(cached[:, 1], hidden[:, 0], atol=1e-2)
    True
    >>> cached[:, 0, 3:].abs().max().item()  # padding of "b/c"
    0.0
    """

    def __init__(self, folder, fingerprint, dtype=torch.float16):
        text = json.dumps(fingerprint, sort_keys=True)
        key = hashlib.sha1(text.encode()).hexdigest()[:16]
        self.folder = pathlib.Path(folder) / key
        self.folder.mkdir(parents=True, exist_ok=True)
        info = self.folder / INFO
        if not info.exists():
            info.write_text(text + "\n")
        self.dtype = dtype

    def path(self, utt_id):
        """The file of one utterance (its ID, URL-quoted)."""
        return self.folder / (urllib.parse.quote(str(utt_id), safe="") + ".npy")

    def missing(self, utt_ids):
        """The IDs of ``utt_ids`` that are not cached yet (in order)."""
        return [u for u in utt_ids if not self.path(u).exists()]

    def save(self, utt_ids, hidden_states, lens):
        """Stores the real frames of each utterance of a batch.

        Arguments
        ---------
        utt_ids : list of str
            The batch's utterance IDs.
        hidden_states : torch.Tensor
            (L, B, T, D)
        lens : torch.Tensor
            (B,) relative lengths in frames.
        """
        T = hidden_states.shape[2]
        frames = torch.round(lens * T).long().tolist()
        for i, (utt_id, n) in enumerate(zip(utt_ids, frames)):
            path = self.path(utt_id)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            x = hidden_states[:, i, :n].to("cpu", self.dtype).numpy()
            with open(tmp, "wb") as fout:
                numpy.save(fout, x)
            os.replace(tmp, path)  # atomic: readers never see half a file

    def load(self, utt_ids, device="cpu"):
        """Reads and pads a batch.

        Arguments
        ---------
        utt_ids : list of str
            Utterance IDs, all cached.
        device : str or torch.device
            Where the batch goes.

        Returns
        -------
        hidden_states : torch.Tensor
            (L, B, T, D) float32, zero on padded frames.
        lens : torch.Tensor
            (B,) relative lengths in frames.
        """
        # .npy, not torch.save: numpy reads a plain array ~10x faster than
        # torch.load's safe unpickler, and an epoch reads every utterance.
        items = [torch.from_numpy(numpy.load(self.path(u))) for u in utt_ids]
        frames = torch.tensor([x.shape[1] for x in items])
        T = int(frames.max())
        L, _, D = items[0].shape
        batch = torch.zeros(L, len(items), T, D)
        for i, x in enumerate(items):
            batch[:, i, : x.shape[1]] = x.float()
        return batch.to(device), (frames.float() / T).to(device)


class SkipCachedAudio(torch.utils.data.Dataset):
    """A view of a dataset that does not read the audio of utterances
    whose features are already cached.

    Their ``sig`` is a one-sample placeholder: the probe reads their
    features from the cache and never looks at it. Utterances not cached
    yet are read as usual, so the extractor can run on them.

    Arguments
    ---------
    dataset : speechbrain.dataio.dataset.DynamicItemDataset
        Provides ``id`` and ``sig``.
    cache : FeatureCache
        The cache.

    Example
    -------
    >>> import tempfile
    >>> from speechbrain.dataio.dataset import DynamicItemDataset
    >>> data = DynamicItemDataset({"a": {"x": 1}, "b": {"x": 2}})
    >>> data.add_dynamic_item(lambda x: torch.ones(5) * x, "x", "sig")
    >>> data.set_output_keys(["id", "sig"])
    >>> cache = FeatureCache(tempfile.mkdtemp(), {"features": "toy"})
    >>> cache.save(["a"], torch.zeros(1, 1, 3, 2), torch.ones(1))
    >>> view = SkipCachedAudio(data, cache)
    >>> view[0]["sig"].shape, view[1]["sig"].shape
    (torch.Size([1]), torch.Size([5]))
    """

    def __init__(self, dataset, cache):
        self.dataset = dataset
        self.cache = cache

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        utt_id = self.dataset.data_ids[index]
        if not self.cache.path(utt_id).exists():
            return self.dataset[index]
        mapping = self.dataset.pipeline.output_mapping
        keys = {k: v for k, v in mapping.items() if k != "sig"}
        with self.dataset.output_keys_as(keys):
            item = self.dataset[index]
        item["sig"] = torch.zeros(1)
        return item
