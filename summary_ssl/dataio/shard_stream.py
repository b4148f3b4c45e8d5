"""Streaming pretraining data from WebDataset shards, split across ranks
and loader workers, with dynamic batching and mid-epoch resumption.

Each epoch the shard list is shuffled from ``(seed, epoch)``, the shards
not yet consumed in that epoch are dealt to the ``world_size x
num_workers`` loader workers in turn, and each worker streams its shards
(``webdataset``'s tar reader) through a shuffle buffer into SpeechBrain's
``dynamic_bucketed_batch``, which batches by length with the same meaning
of ``max_batch_length`` as ``DynamicBatchSampler`` (batch size x longest
utterance <= ``max_batch_length`` seconds). Audio stays FLAC-compressed
in the buffers and is decoded when its batch is collated. A segment that
fails to decode is dropped from its batch and logged, as from a CSV
(:func:`~summary_ssl.dataio.readable_batches.collate_readable`).

Every segment is read exactly once per epoch. The ranks end an epoch
together: :class:`ShardLoader` asks the other ranks at each micro-batch
whether they still have data (one small all-gather on a CPU ``gloo``
group, never a GPU sync); a rank whose shards are exhausted runs
zero-loss padding batches (:func:`~summary_ssl.dataio.readable_batches.
placeholder_batch`) until all are, so DDP's collectives stay matched.

Resumption. The loader is a checkpoint recoverable holding the epoch,
the shards whose every segment has reached training (on any rank), and,
for the shards in flight, the IDs of the segments that have. A resumed
epoch skips the finished shards, deals the others again (to any number
of ranks and workers) and skips, within them, the segments already
trained on. So a kill loses nothing and repeats nothing: the segments
that were waiting in the workers' buffers are read again from their
shards. What it costs is re-reading the shards that were in flight (at
most ``world_size x num_workers`` at a time, plus those whose segments
sat in a buffer). The checkpoint holds a name per finished shard and an
ID per trained segment of an unfinished one. A resumed epoch does not
repeat the uninterrupted run's order.

Authors
-------
* summary_ssl contributors 2026
"""

import io
import json
import logging
import os
import random

import soundfile as sf
import torch
import torch.distributed as dist
import webdataset as wds
from speechbrain.dataio.iterators import dynamic_bucketed_batch
from speechbrain.utils.checkpoints import (
    mark_as_loader,
    mark_as_saver,
    register_checkpoint_hooks,
)
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from summary_ssl.dataio.readable_batches import (
    EPOCH_PADDING_ID,
    collate_readable,
    placeholder_batch,
)
from summary_ssl.dataio.shards import INDEX_NAME

logger = logging.getLogger(__name__)


def load_shard_index(shard_folder):
    """Reads ``<shard_folder>/shards.json``; a clear error when the folder,
    the index or a listed shard is missing, or when there is no shard.

    Example
    -------
    >>> load_shard_index("/no/such/folder")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: The shard folder /no/such/folder does not exist...
    """
    how = "write shards with: python -m summary_ssl.dataio.shards"
    if not os.path.isdir(shard_folder):
        raise FileNotFoundError(
            f"The shard folder {shard_folder} does not exist ({how})"
        )
    path = os.path.join(shard_folder, INDEX_NAME)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"No {INDEX_NAME} in the shard folder {shard_folder}: it is "
            f"empty or its shards were never finished ({how})"
        )
    with open(path, encoding="utf-8") as fin:
        index = json.load(fin)
    if not index.get("shards"):
        raise ValueError(f"The shard folder {shard_folder} lists no shard")
    missing = [
        s["name"]
        for s in index["shards"]
        if not os.path.isfile(os.path.join(shard_folder, s["name"]))
    ]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} shard(s) listed in {path} are missing, "
            f"first: {missing[0]}"
        )
    return index


def _decode(sample):
    """A collated example: ``id``, ``sig`` (empty when unreadable)."""
    try:
        audio, _ = sf.read(io.BytesIO(sample["flac"]), dtype="float32")
        sig = torch.from_numpy(audio)
        if sig.dim() > 1:
            sig = sig.mean(dim=1)
    except Exception as error:  # any decoder failure: drop, never crash
        logger.warning("Skipping unreadable audio %s: %s", sample["id"], error)
        sig = torch.zeros(0)
    return {"id": sample["id"], "sig": sig}


class ShardStream(IterableDataset):
    """Batches streamed from the shards of :mod:`summary_ssl.dataio.shards`.

    Arguments
    ---------
    shard_folder : str
        Holds ``shards.json`` and the tar shards.
    max_batch_length : float
        Seconds per batch, padding included (batch size x longest).
    seed : int
        Seed of the shard order, the shuffle buffer and the batching.
    shuffle_buffer : int
        Samples in each worker's shuffle buffer (compressed audio: about
        0.4 MB per 20-s segment).
    batch_buffer : int
        Samples in each worker's length-sorted buffer that batches are
        drawn from.
    max_padding_ratio : float
        Passed to SpeechBrain's ``indices_around_random_pivot``.
    min_duration, max_duration : float, optional
        Segments outside are skipped and counted (the shards keep what
        their CSV kept; these catch a recipe asking for less).
    rank, world_size : int, optional
        This process's place (default: from ``torch.distributed``).

    Example
    -------
    >>> import numpy as np, soundfile as sf
    >>> from summary_ssl.dataio.shards import write_shards
    >>> tmp = getfixture("tmp_path")
    >>> rows = ["ID,duration,wav"]  # a prepared CSV: 12 x 2 s of noise
    >>> for i in range(12):
    ...     sf.write(tmp / f"{i}.wav", np.random.randn(32000) / 10, 16000)
    ...     rows.append(f"noise{i},2.0,{tmp / f'{i}.wav'}")
    >>> _ = (tmp / "noise.csv").write_text("\\n".join(rows) + "\\n")
    >>> _ = write_shards(tmp / "noise.csv", tmp / "shards", workers=1,
    ...                  shard_hours=0.002, progress=False)  # 7.2 s each
    >>> stream = ShardStream(str(tmp / "shards"), max_batch_length=20.0)
    >>> stream.set_epoch(1)
    >>> ids = [i for batch, _ in stream for i in batch.id]
    >>> len(ids) == len(set(ids)) == stream.index["total_samples"]
    True
    """

    def __init__(
        self,
        shard_folder,
        max_batch_length,
        seed=1986,
        shuffle_buffer=256,
        batch_buffer=256,
        max_padding_ratio=0.2,
        min_duration=None,
        max_duration=None,
        rank=None,
        world_size=None,
    ):
        super().__init__()
        self.shard_folder = shard_folder
        self.index = load_shard_index(shard_folder)
        self.max_batch_length = float(max_batch_length)
        self.seed = seed
        self.shuffle_buffer = shuffle_buffer
        self.batch_buffer = batch_buffer
        self.max_padding_ratio = max_padding_ratio
        self.min_duration = min_duration
        self.max_duration = max_duration
        initialized = dist.is_available() and dist.is_initialized()
        self.rank = (
            rank
            if rank is not None
            else (dist.get_rank() if initialized else 0)
        )
        self.world_size = (
            world_size
            if world_size is not None
            else (dist.get_world_size() if initialized else 1)
        )
        self.epoch = 0
        self.counts = {s["name"]: s["samples"] for s in self.index["shards"]}
        # This epoch's progress (see the module docstring): shards all of
        # whose segments reached training, and the trained IDs of others.
        self.finished = set()
        self.partial = {}

    def set_epoch(self, epoch):
        """Starts ``epoch`` (keeps the consumed shards when it is the
        epoch being resumed)."""
        if epoch != self.epoch:
            self.epoch = epoch
            self.finished, self.partial = set(), {}

    def mark_consumed(self, consumed):
        """Records (shard, ID) pairs that reached training (or were
        skipped by the length filter)."""
        for shard, utt_id in consumed:
            if shard in self.finished:
                continue
            ids = self.partial.setdefault(shard, set())
            ids.add(utt_id)
            if len(ids) >= self.counts[shard]:
                self.finished.add(shard)
                del self.partial[shard]

    def shard_order(self):
        """All shard names in this epoch's order (the same on every
        rank)."""
        names = sorted(s["name"] for s in self.index["shards"])
        random.Random(f"{self.seed}-{self.epoch}").shuffle(names)
        return names

    def worker_shards(self, worker, num_workers):
        """The shards that loader worker ``worker`` of this rank reads."""
        remaining = [n for n in self.shard_order() if n not in self.finished]
        total = self.world_size * num_workers
        return remaining[self.rank * num_workers + worker :: total]

    def __iter__(self):
        info = get_worker_info()
        worker, num_workers = (
            (0, 1) if info is None else (info.id, info.num_workers)
        )
        names = self.worker_shards(worker, num_workers)
        resumed = len(self.finished) + len(self.partial)
        rng = random.Random(
            f"{self.seed}-{self.epoch}-{self.rank}-{worker}-{resumed}"
        )
        self._skipped = []  # (shard, ID) of filtered segments, see _collate
        urls = ({"url": os.path.join(self.shard_folder, n)} for n in names)
        samples = wds.tariterators.tarfile_samples(
            urls, handler=self._tar_error
        )
        samples = self._shuffled(self._parsed(samples), rng)
        yield from dynamic_bucketed_batch(
            samples,
            len_key="duration",
            len_fn=None,
            buffersize=self.batch_buffer,
            collate_fn=self._collate,
            sampler_kwargs=dict(
                target_batch_numel=self.max_batch_length,
                max_batch_numel=self.max_batch_length,
                max_padding_ratio=self.max_padding_ratio,
                randint_generator=rng.randint,
            ),
        )

    def _collate(self, samples):
        """(batch, the (shard, ID) pairs it consumed)."""
        batch = collate_readable([_decode(s) for s in samples])
        consumed = [(s["shard"], s["id"]) for s in samples] + self._skipped
        self._skipped = []
        return batch, consumed

    @staticmethod
    def _tar_error(error):
        logger.warning("Skipping the rest of a corrupt shard: %r", error)
        return True  # go on with the next shard

    def _parsed(self, samples):
        skipped = 0
        for sample in samples:
            try:
                meta = json.loads(sample["json"])
                audio = sample["flac"]
            except (KeyError, ValueError) as error:
                logger.warning(
                    "Skipping a malformed sample %s in %s: %r",
                    sample.get("__key__"),
                    sample.get("__url__"),
                    error,
                )
                continue
            shard = os.path.basename(sample["__url__"])
            if meta["id"] in self.partial.get(shard, ()):
                continue  # trained on before the run was resumed
            duration = float(meta["duration"])
            if (
                self.min_duration is not None and duration < self.min_duration
            ) or (
                self.max_duration is not None and duration > self.max_duration
            ):
                skipped += 1
                self._skipped.append((shard, meta["id"]))
                continue
            yield {
                "id": meta["id"],
                "duration": duration,
                "flac": audio,
                "shard": shard,
            }
        if skipped:
            logger.warning(
                "Rank %d skipped %d segments outside [%s, %s] s this epoch",
                self.rank,
                skipped,
                self.min_duration,
                self.max_duration,
            )

    def _shuffled(self, samples, rng):
        buffer = []
        for sample in samples:
            buffer.append(sample)
            if len(buffer) >= self.shuffle_buffer:
                yield buffer.pop(rng.randrange(len(buffer)))
        rng.shuffle(buffer)
        yield from buffer


@register_checkpoint_hooks
class ShardLoader(DataLoader):
    """A DataLoader over a :class:`ShardStream` that ends an epoch on all
    ranks together and checkpoints the consumed shards (module docstring).

    Arguments
    ---------
    stream : ShardStream
        The batches.
    num_workers : int
        Loader worker processes of this rank.
    **kwargs
        More DataLoader options (``prefetch_factor``...; the workers'
        ``multiprocessing_context`` is ``forkserver`` by default).
    """

    def __init__(self, stream, num_workers=0, **kwargs):
        if num_workers > 0:
            # Workers start from a clean server process, not forked from
            # this one: a fork while gloo's or NCCL's threads hold a lock
            # can hang the child. They are made again each epoch (a few
            # seconds, against epochs of hours at scale).
            kwargs.setdefault("multiprocessing_context", "forkserver")
        super().__init__(
            stream, batch_size=None, num_workers=num_workers, **kwargs
        )
        self.padding_batches = 0
        self._group = None
        if stream.world_size > 1 and dist.is_initialized():
            if dist.get_backend() != "gloo":  # a CPU group: no GPU sync
                self._group = dist.new_group(backend="gloo")

    def set_epoch(self, epoch):
        """Called by SpeechBrain's fit at the start of each epoch."""
        self.dataset.set_epoch(epoch)

    def __iter__(self):
        stream = self.dataset
        batches = super().__iter__()
        while True:
            item = next(batches, None)
            if stream.world_size == 1:
                if item is None:
                    return
                stream.mark_consumed(item[1])
                yield item[0]
                continue
            gathered = [None] * stream.world_size
            consumed = None if item is None else item[1]
            dist.all_gather_object(gathered, consumed, group=self._group)
            if all(g is None for g in gathered):
                return
            for g in gathered:
                stream.mark_consumed(g or ())
            if item is None:
                self.padding_batches += 1
                logger.debug(
                    "Rank %d is out of shards: padding batch %d",
                    stream.rank,
                    self.padding_batches,
                )
                yield placeholder_batch(utt_id=EPOCH_PADDING_ID)
            else:
                yield item[0]

    @mark_as_saver
    def _save(self, path):
        stream = self.dataset
        state = {
            "epoch": stream.epoch,
            "finished": sorted(stream.finished),
            "partial": {k: sorted(v) for k, v in stream.partial.items()},
        }
        with open(path, "w", encoding="utf-8") as fout:
            json.dump(state, fout)

    @mark_as_loader
    def _recover(self, path, end_of_epoch):
        del end_of_epoch  # the epoch number tells (see set_epoch)
        with open(path, encoding="utf-8") as fin:
            state = json.load(fin)
        stream = self.dataset
        stream.epoch = state["epoch"]
        stream.finished = set(state["finished"])
        stream.partial = {k: set(v) for k, v in state["partial"].items()}
