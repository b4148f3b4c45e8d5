"""Helpers shared by the CPU data benchmarks of this folder.

``loader_throughput.py`` and ``manifest_scale.py`` both time the recipe's
batching (:data:`BATCHING`), describe the host in their ``meta`` and end
a run the same way: the load average and wall
time into ``meta``, the markdown report printed, ``{"meta", "results"}``
written to ``--json``. Standard library only: ``manifest_scale.py``'s
child processes measure their own start-up time and memory.

Authors
-------
* summary_ssl contributors 2026
"""

import json
import os
import time

# The batching both measure, the recipe's: 360 s of audio per batch, 70
# length buckets (hparams keys, as ``summary_ssl.brains.recipe``'s
# ``length_sampler`` takes them).
BATCHING = {"max_batch_length": 360, "num_buckets": 70}


def load_average():
    """The 1-, 5- and 15-minute load averages, as text.

    Example
    -------
    >>> len(load_average().split())
    3
    """
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def finish_run(meta, results, markdown, json_path, start):
    """Ends a run: adds ``load_after`` and ``wall_s`` (since the
    ``time.perf_counter()`` value ``start``) to ``meta``, prints
    ``markdown(results, meta)`` and writes ``{"meta", "results"}`` to
    ``json_path`` (nothing when it is empty). Returns ``results``.

    Example
    -------
    >>> meta = {}
    >>> finish_run(meta, [1, 2], lambda r, m: f"{len(r)} rows", None, 0.0)
    2 rows
    [1, 2]
    >>> sorted(meta)
    ['load_after', 'wall_s']
    """
    meta["load_after"] = load_average()
    meta["wall_s"] = round(time.perf_counter() - start, 1)
    print(markdown(results, meta))
    if json_path:
        with open(json_path, "w", encoding="utf-8") as fout:
            json.dump({"meta": meta, "results": results}, fout, indent=1)
    return results
