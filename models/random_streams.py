"""Random streams keyed by plot: a plot's draws do not depend on which other plots are drawn.

A project run by plot chunk (on one machine or many Dask workers) must give the same draws for a
plot whatever chunk it falls in and whatever the chunk size. One generator for the whole project
cannot: the draws of a plot would depend on how many plots were drawn before it. Each plot
therefore gets its own stream, seeded by the run's seed, the purpose of the stream and the plot
id (:class:`numpy.random.SeedSequence`, whose hashing of the entropy words makes streams of nearby
keys independent; NumPy "Parallel random number generation", SeedSequence spawning).
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["plot_generator"]


def plot_generator(seed: int, stream: str, plot_id: str) -> np.random.Generator:
    """The generator of one plot's draws for one purpose.

    Parameters
    ----------
    seed : int
        The run's seed (>= 0).
    stream : str
        What the draws are for (a parameter's name, ``misclassification``): separates the streams
        of one plot.
    plot_id : str
        The plot. ``stream``, a NUL and the plot id are hashed (SHA-256, UTF-8) into four 32-bit
        words that follow the seed in the entropy.

    Examples
    --------
    >>> a = plot_generator(7, "soc_factor", "P1").random(3)
    >>> b = plot_generator(7, "soc_factor", "P1").random(3)
    >>> bool((a == b).all()), bool((a == plot_generator(7, "soc_factor", "P2").random(3)).any())
    (True, False)
    """
    digest = hashlib.sha256(f"{stream}\0{plot_id}".encode()).digest()
    words = np.frombuffer(digest[:16], dtype="<u4").tolist()
    return np.random.default_rng(np.random.SeedSequence([int(seed), *words]))
