"""The most frequent value per group of a table (a plot's usual practice), vectorised.

Ties go to the value that appears first in the table's row order (with records sorted by date:
the earliest), so the answer never depends on a sort's tie order.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

__all__ = ["most_frequent"]


def most_frequent(frame: pd.DataFrame, by: str | Sequence[str], column: str) -> pd.Series:
    """The most frequent non-null ``column`` value of each ``by`` group.

    Examples
    --------
    >>> df = pd.DataFrame({"plot": ["a", "a", "a", "b", "b"], "m": ["x", "y", "y", "z", "w"]})
    >>> most_frequent(df, "plot", "m").to_dict()
    {'a': 'y', 'b': 'z'}
    """
    keys = [by] if isinstance(by, str) else list(by)
    rows = frame.loc[frame[column].notna(), [*keys, column]].reset_index(drop=True)
    rows["_order"] = range(len(rows))
    counts = rows.groupby([*keys, column], sort=False).agg(n=("_order", "size"), first=("_order", "min"))
    counts = counts.reset_index().sort_values(["n", "first"], ascending=[False, True], kind="stable")
    top = counts.drop_duplicates(keys, keep="first").set_index(keys)[column]
    return top.sort_index()
