"""``mrv verify``: train the practice detectors on a project's labelled plot-seasons, store them
with the hash of their training data and their metrics, and load them for ``mrv run``."""
