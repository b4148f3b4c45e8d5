"""What the dataset-preparation tests share."""

from tools.toy.corpus import load_manifest


def toy_split(dataset, split):
    """The toy corpus manifest's entries of one split of one dataset."""
    return [
        e
        for e in load_manifest()["audio"]
        if e["dataset"] == dataset and e["split"] == split
    ]
