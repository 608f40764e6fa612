"""Practice verification in the store: each run's flags per plot-season, and the trained detectors.

* A **flag** compares, for one plot, season and practice, the practice the activity log gives
  with the one a detector found in Sentinel-2 imagery (:class:`~mrv_service.store.models.VerificationFlag`).
  A run's flags are written as a whole by :func:`replace_run_flags` (checked first, then the
  run's previous flags deleted and the new ones inserted in one transaction) and read back by
  :func:`run_flags` and :func:`flag_counts`. Deleting a run deletes its flags (``ON DELETE CASCADE``).
* A **detector** is a trained model file with the SHA-256 of its training data and its metrics
  (:class:`~mrv_service.store.models.Detector`). :func:`register_detector` makes a new one the
  active detector of its (project, practice); :func:`active_detector` finds it. At most one is
  active per (project, practice), which partial unique indexes enforce on SQLite and PostgreSQL
  alike; project ``None`` means the bundled default detectors.

Vocabularies: :data:`PRACTICES`, :data:`SEVERITIES`, :data:`REVIEW_STATUSES`.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import math
import numbers
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, NoReturn

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, insert, inspect, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mrv_service.store.db import StoreError, begin_write, sqlite_begin_mode
from mrv_service.store.models import Detector, Plot, Project, Run, VerificationFlag
from mrv_service.store.projects import get_project
from mrv_service.store.reads import plot_keys

__all__ = [
    "PRACTICES",
    "SEVERITIES",
    "REVIEW_STATUSES",
    "FLAG_COLUMNS",
    "STORED_FLAG_COLUMNS",
    "VerificationStoreError",
    "DetectorConflictError",
    "replace_run_flags",
    "run_flags",
    "flag_counts",
    "register_detector",
    "active_detector",
]

from models.verification.reconcile import FLAG_COLUMNS, SEVERITIES

log = logging.getLogger(__name__)

PRACTICES = ("tillage", "residue", "sowing", "harvest", "green_cover")
"""The practices verified (``practice`` of flags and detectors)."""
REVIEW_STATUSES = ("open", "accepted", "rejected", "evidence_requested", "overridden")
"""Where a flag's review stands; new flags are ``open``."""

# FLAG_COLUMNS (the flags table given to replace_run_flags: the plot's id in the project, i.e.
# Plot.external_id, the season's calendar year, the practice, the logged and the detected class,
# the probability of the detected class [1], the severity, the reason; other columns are ignored)
# and SEVERITIES have their one home in models.verification.reconcile.
STORED_FLAG_COLUMNS = ("id", *FLAG_COLUMNS, "review_status")
"""Columns of :func:`run_flags`: the flag's row id, :data:`FLAG_COLUMNS`, the review status."""

_MAX_CLASS_LEN = 50
"""Length of the ``logged`` and ``detected`` columns [characters]."""
_MAX_ERRORS_SHOWN = 5


class VerificationStoreError(StoreError, ValueError):
    """Flags or a detector cannot be stored as given (unknown plot, value out of its vocabulary ...)."""


class DetectorConflictError(VerificationStoreError):
    """A detector with the same model file and training data is registered with other metrics."""


def _missing(value: Any) -> bool:
    """None, NaN or pandas' NA/NaT (scalars only)."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _integer(value: Any) -> int | None:
    """``value`` as an int when it is an integral number (not a bool), else None."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real) or _missing(value):
        return None
    f = float(value)
    return int(f) if math.isfinite(f) and f == int(f) else None


def _project(session: Session, project: Project | str | None) -> Project | None:
    return get_project(session, project) if isinstance(project, str) else project


def _check_practice(practice: Any) -> str:
    if practice not in PRACTICES:
        raise VerificationStoreError(f"practice {practice!r} is not one of {', '.join(PRACTICES)}")
    return practice


def _identity(obj: Any) -> int:
    """The primary key of a stored object, read without loading it (it may be expired)."""
    identity = inspect(obj).identity
    if identity is None:
        raise VerificationStoreError(
            f"{type(obj).__name__} {obj!r} is not stored yet; flush or commit it first"
        )
    return identity[0]


def _begin_writing(session: Session) -> bool:
    """Make the session's transaction a writing one (:func:`~mrv_service.store.db.begin_write`);
    whether it began here (False: an open PostgreSQL transaction, or SQLite one begun with the
    write lock, goes on).

    An open SQLite transaction that began without the write lock (``DEFERRED``, e.g. by a read)
    cannot wait for another writer (SQLite answers ``database is locked`` at once), so it is
    committed first and a transaction with the write lock begun.
    """
    if session.in_transaction():
        connection = session.connection()
        if connection.dialect.name != "sqlite" or sqlite_begin_mode(connection) in ("IMMEDIATE", "EXCLUSIVE"):
            return False
        log.debug("committing the session's deferred SQLite transaction before writing")
        session.commit()
    begin_write(session)
    return True


class _ProjectPlots:
    """The store keys of one block's plots (:func:`~mrv_service.store.reads.plot_keys`: never every
    plot of the project), and the ids a row naming an unknown plot shows."""

    def __init__(self, session: Session, project_id: int) -> None:
        self.session = session
        self.project_id = project_id
        self.pks: Mapping[str, int] = {}

    def read(self, external_ids: Iterable[Any]) -> None:
        """Look up the keys of these plots (a block's), forgetting the last block's."""
        self.pks = plot_keys(
            self.session, self.project_id, (str(i) for i in external_ids if isinstance(i, str))
        )

    @functools.cached_property
    def known(self) -> str:
        """The first ten ids and the number of plots (found once, for the first bad row)."""
        of_project = Plot.project_id == self.project_id
        shown = self.session.scalars(
            select(Plot.external_id).where(of_project).order_by(Plot.external_id).limit(10)
        ).all()
        n = self.session.scalar(select(func.count(Plot.id)).where(of_project))
        more = f" ... ({n} plots)" if n > 10 else ""
        return ", ".join(shown) + more if shown else "none"


def _flag_row(
    label: Any, values: tuple[Any, ...], plots: _ProjectPlots, project_name: str
) -> tuple[dict[str, Any], list[str]]:
    """One flags row checked: its column values for ``verification_flags`` and its errors."""
    v = dict(zip(FLAG_COLUMNS, values, strict=True))
    errors: list[str] = []

    def bad(field: str, why: str) -> None:
        errors.append(f"flags row {label!r}, {field}: {why}")

    plot_pk = None
    plot = v["plot_id"]
    if not isinstance(plot, str) or not plot:
        bad("plot_id", f"{plot!r} is not a plot id (a non-empty string)")
    else:
        plot_pk = plots.pks.get(plot)
        if plot_pk is None:
            bad(
                "plot_id",
                f"plot {plot!r} is not a plot of project {project_name!r} (known: {plots.known})",
            )
    year = _integer(v["year"])
    if year is None:
        bad("year", f"{v['year']!r} is not a whole year")
    if v["practice"] not in PRACTICES:
        bad("practice", f"{v['practice']!r} is not one of {', '.join(PRACTICES)}")
    classes = {}
    for field in ("logged", "detected"):
        value = v[field]
        if _missing(value):
            classes[field] = None
        elif not isinstance(value, str) or not value or len(value) > _MAX_CLASS_LEN:
            bad(field, f"{value!r} is not a practice class (a string of 1 to {_MAX_CLASS_LEN} characters)")
        else:
            classes[field] = value
    probability = None
    p = v["probability"]
    if not _missing(p):
        if isinstance(p, bool | np.bool_) or not isinstance(p, numbers.Real) or not 0.0 <= float(p) <= 1.0:
            bad("probability", f"{p!r} is not a probability in [0, 1] (or missing)")
        else:
            probability = float(p)
    if v["severity"] not in SEVERITIES:
        bad("severity", f"{v['severity']!r} is not one of {', '.join(SEVERITIES)}")
    if not isinstance(v["reason"], str) or not v["reason"].strip():
        bad("reason", f"{v['reason']!r} is not a reason (non-empty text)")
    row = {
        "plot_id": plot_pk,
        "season_year": year,
        "practice": v["practice"],
        "logged": classes.get("logged"),
        "detected": classes.get("detected"),
        "probability": probability,
        "severity": v["severity"],
        "reason": v["reason"],
    }
    return row, errors


def replace_run_flags(session: Session, run: Run, flags: pd.DataFrame | FlagBlocks) -> int:
    """Store a run's verification flags, replacing any it had (committed).

    Every row is checked before anything is written; then the run's stored flags are deleted
    and the new ones inserted in bulk in one transaction, so the run has either all the new
    flags or (on any error) what it had before. Calling it twice with the same table leaves
    one copy. New flags are ``open`` for review.

    Parameters
    ----------
    session : Session
        Its open transaction is committed: with the flags, or on SQLite first when it began
        without the write lock (e.g. by a read), because such a transaction cannot wait for
        another writer. The writing transaction begins with ``BEGIN IMMEDIATE`` on SQLite
        (:func:`~mrv_service.store.db.begin_write`), waiting for other writers.
    run : Run
        The run (stored); the flags belong to its project.
    flags : pandas.DataFrame or callable
        :data:`FLAG_COLUMNS`, one row per plot, season and practice; rows are named in errors
        by their index label. An empty table clears the run's flags. A callable returning the
        table in blocks (e.g. ``pd.read_csv(path, chunksize=...)``) is read twice, once to check
        and once to write, so that a run's million flags are never all in memory.

    Returns
    -------
    int
        Number of flags stored.

    Raises
    ------
    VerificationStoreError
        When the run is not stored, a column is missing, or a row names a plot the project
        does not have, a value is out of its vocabulary or range, or two rows are for the same
        plot, year and practice (found by the table's unique key as the rows are inserted: the
        transaction is then rolled back); the message names the rows and fields (the first few
        of them). Nothing is written then.

    Notes
    -----
    On PostgreSQL the run's row is locked (``SELECT ... FOR UPDATE``) until the commit, so two
    writers of one run's flags run one after the other (the last one's flags remain); on
    SQLite the write lock does the same.
    """
    run_id = _identity(run)
    blocks = (lambda: [flags]) if isinstance(flags, pd.DataFrame) else flags
    started = _begin_writing(session)
    try:
        # the run's row locked (PostgreSQL): two writers of one run's flags go one after the other
        project_id = session.scalar(select(Run.project_id).where(Run.id == run_id).with_for_update())
        if project_id is None:
            raise VerificationStoreError(
                f"run {run_id} is not in the store (deleted?); its flags cannot be stored"
            )
        project_name = session.scalar(select(Project.name).where(Project.id == project_id))
        plots = _ProjectPlots(session, project_id)
        errors: list[str] = []
        for block in blocks():  # every row's values checked before anything is written
            for _row, row_errors in _checked_rows(block, run_id, plots, project_name):
                errors.extend(row_errors)
        if errors:
            _refuse(run_id, errors + _repeats(blocks, run_id, plots, project_name))
    except BaseException:
        if started:  # only our reads: release the SQLite write lock
            session.rollback()
        raise
    created_at = dt.datetime.now(dt.UTC)
    standing = _standing_statuses(session, project_id)
    stored = 0
    try:
        deleted = session.execute(delete(VerificationFlag).where(VerificationFlag.run_id == run_id)).rowcount
        for block in blocks():
            rows = [row for row, _ in _checked_rows(block, run_id, plots, project_name)]
            for row in rows:
                status = standing.get((row["plot_id"], row["season_year"], row["practice"]), "open")
                row.update(run_id=run_id, project_id=project_id, review_status=status, created_at=created_at)
            if rows:
                session.execute(insert(VerificationFlag), rows)
            stored += len(rows)
        session.commit()
    except IntegrityError:
        # the table's unique key: two rows for one plot, year and practice (none is kept)
        session.rollback()
        repeats = _repeats(blocks, run_id, plots, project_name)
        if not repeats:
            raise
        _refuse(run_id, repeats)
    except BaseException:
        session.rollback()
        raise
    log.info("run %r: %d verification flags stored (%d replaced)", run_id, stored, deleted)
    return stored


def _refuse(run_id: Any, errors: list[str]) -> NoReturn:
    more = len(errors) - _MAX_ERRORS_SHOWN
    raise VerificationStoreError(
        f"flags of run {run_id} not stored ({len(errors)} errors): "
        + "; ".join(errors[:_MAX_ERRORS_SHOWN])
        + (f" (and {more} more errors)" if more > 0 else "")
    ) from None


def _repeats(blocks: FlagBlocks, run_id: Any, plots: _ProjectPlots, project_name: str) -> list[str]:
    """The one-flag rule's errors: the rows whose plot, year and practice an earlier valid row
    has. Read when a table is refused, not when it is stored: the keys of every flag (a
    million at 100,000 plots) are held only then."""
    keys = _FlagKeys()
    for block in blocks():
        for _ in _checked_rows(block, run_id, plots, project_name, keys):
            pass
    return _repeat_errors(blocks, keys.repeats())


FlagBlocks = Callable[[], Iterable[pd.DataFrame]]
"""A source of a flags table in blocks, read from the start at each call."""


def _checked_rows(
    flags: pd.DataFrame,
    run_id: Any,
    plots: _ProjectPlots,
    project_name: str,
    keys: _FlagKeys | None = None,
) -> Iterator[tuple[dict[str, Any], list[str]]]:
    """Each row of a flags table (or block) as ``verification_flags`` values, with its errors;
    ``keys`` collects the (plot, year, practice) keys of the valid rows, for the one-flag rule.

    Raises
    ------
    VerificationStoreError
        When the table lacks a column or has one twice.
    """
    missing = [c for c in FLAG_COLUMNS if c not in flags.columns]
    if missing:
        raise VerificationStoreError(
            f"flags of run {run_id} lack the columns {', '.join(missing)} (expected {', '.join(FLAG_COLUMNS)})"
        )
    twice = sorted({str(c) for c in flags.columns[flags.columns.duplicated()] if c in FLAG_COLUMNS})
    if twice:
        raise VerificationStoreError(f"flags of run {run_id} have the columns {', '.join(twice)} twice")
    table = flags.loc[:, list(FLAG_COLUMNS)].astype(object)
    plots.read(table["plot_id"])
    found: list[tuple[int, int, int, int]] = []
    first = 0 if keys is None else keys.rows
    for i, (label, values) in enumerate(
        zip(flags.index, table.itertuples(index=False, name=None), strict=True)
    ):
        row, row_errors = _flag_row(label, values, plots, project_name)
        if not row_errors:
            found.append((first + i, row["plot_id"], row["season_year"], PRACTICES.index(row["practice"])))
        yield row, row_errors
    if keys is not None:
        keys.add(found, len(flags))


class _FlagKeys:
    """The (plot, year, practice) keys of the rows checked, as four integers per row (its position
    too), to find the rows flagged twice without a dict of every flag (a million at 100,000
    plots, ``docs/SCALE.md``)."""

    def __init__(self) -> None:
        self._blocks: list[np.ndarray] = []
        self.rows = 0
        """Rows seen so far (the next row's position)."""

    def add(self, keys: list[tuple[int, int, int, int]], n_rows: int) -> None:
        """A block's (position, plot pk, year, practice index) keys and its number of rows."""
        if keys:
            self._blocks.append(np.array(keys, dtype=np.int64))
        self.rows += n_rows

    def repeats(self) -> list[tuple[int, int]]:
        """(position of a row, position of the first row with its key) for every row whose key an
        earlier row has, in row order."""
        if not self._blocks:
            return []
        k = np.concatenate(self._blocks)
        k = k[np.lexsort((k[:, 0], k[:, 3], k[:, 2], k[:, 1]))]  # by key, then position
        new_key = np.r_[True, np.any(k[1:, 1:] != k[:-1, 1:], axis=1)]
        first = k[np.maximum.accumulate(np.where(new_key, np.arange(len(k)), 0)), 0]
        again = np.flatnonzero(~new_key)
        return sorted(zip(k[again, 0].tolist(), first[again].tolist(), strict=True))


def _repeat_errors(blocks: FlagBlocks, repeats: list[tuple[int, int]]) -> list[str]:
    """The one-flag rule's errors of ``repeats`` (:meth:`_FlagKeys.repeats`), their rows named by
    their labels (read again from ``blocks``)."""
    if not repeats:
        return []
    wanted = {pos for pair in repeats for pos in pair}
    rows: dict[int, tuple[Any, Any, Any, Any]] = {}
    start = 0
    for block in blocks():
        for i in [p - start for p in wanted if start <= p < start + len(block)]:
            rows[start + i] = (
                block.index[i],
                block["plot_id"].iloc[i],
                _integer(block["year"].iloc[i]),
                block["practice"].iloc[i],
            )
        start += len(block)
    return [
        f"flags row {rows[pos][0]!r}: plot {rows[pos][1]!r}, year {rows[pos][2]}, practice {rows[pos][3]!r} "
        f"is already flagged in row {rows[first][0]!r} (one flag per plot, year and practice)"
        for pos, first in repeats
    ]


def _standing_statuses(session: Session, project_id: int) -> dict[tuple[int, int, str], str]:
    """(plot pk, year, practice) -> the review status its standing decision gives a new flag."""
    from mrv_service.store.models import SeasonReview
    from mrv_service.store.reviews import STATUS_OF_DECISION

    rows = session.execute(
        select(
            SeasonReview.plot_id, SeasonReview.season_year, SeasonReview.practice, SeasonReview.decision
        ).where(SeasonReview.project_id == project_id)
    ).all()
    return {(p, y, pr): STATUS_OF_DECISION[d] for p, y, pr, d in rows}


def run_flags(session: Session, run: Run) -> pd.DataFrame:
    """A run's verification flags, sorted by plot id, year and practice.

    Returns
    -------
    pandas.DataFrame
        :data:`STORED_FLAG_COLUMNS`: ``id`` and ``year`` int64, ``probability`` float64 [1]
        (NaN when missing), the others object (``logged`` and ``detected`` None when missing).
        Empty (with these columns) when the run has no flags.
    """
    result = session.execute(
        select(
            VerificationFlag.id,
            Plot.external_id,
            VerificationFlag.season_year,
            VerificationFlag.practice,
            VerificationFlag.logged,
            VerificationFlag.detected,
            VerificationFlag.probability,
            VerificationFlag.severity,
            VerificationFlag.reason,
            VerificationFlag.review_status,
        )
        .join(Plot, VerificationFlag.plot_id == Plot.id)
        .where(VerificationFlag.run_id == run.id)
    ).all()
    df = pd.DataFrame([tuple(r) for r in result], columns=list(STORED_FLAG_COLUMNS))
    df = df.astype({"id": "int64", "year": "int64", "probability": "float64"})
    # sorted here, not in SQL: the same order on SQLite and PostgreSQL whatever the collation
    return df.sort_values(["plot_id", "year", "practice"], kind="stable", ignore_index=True)


def flag_counts(session: Session, run: Run) -> dict[str, Any]:
    """Numbers of a run's flags by severity, and by practice and severity.

    Returns
    -------
    dict
        ``{"total": n, "by_severity": {severity: n}, "by_practice": {practice: {"total": n,
        severity: n, ...}}}``, every practice of :data:`PRACTICES` and severity of
        :data:`SEVERITIES` present (0 when none), in their vocabulary order.
    """
    result = session.execute(
        select(VerificationFlag.practice, VerificationFlag.severity, func.count())
        .where(VerificationFlag.run_id == run.id)
        .group_by(VerificationFlag.practice, VerificationFlag.severity)
    ).all()
    by_severity = dict.fromkeys(SEVERITIES, 0)
    by_practice = {p: {"total": 0, **dict.fromkeys(SEVERITIES, 0)} for p in PRACTICES}
    for practice, severity, n in result:
        by_severity[severity] = by_severity.get(severity, 0) + n
        counts = by_practice.setdefault(practice, {"total": 0, **dict.fromkeys(SEVERITIES, 0)})
        counts["total"] += n
        counts[severity] = counts.get(severity, 0) + n
    return {"total": sum(by_severity.values()), "by_severity": by_severity, "by_practice": by_practice}


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """``metrics`` as plain JSON (numpy scalars and arrays converted; NaN and infinity refused)."""
    if not isinstance(metrics, Mapping):
        raise VerificationStoreError(f"metrics must be a mapping, not {type(metrics).__name__}")
    try:
        return json.loads(json.dumps(dict(metrics), allow_nan=False, default=_json_default))
    except (TypeError, ValueError) as exc:
        raise VerificationStoreError(
            f"metrics are not storable as JSON ({exc}); give finite numbers, strings, lists and mappings"
        ) from exc


def _model_path(model_path: Any) -> str:
    """A model path relative to the data directory, with POSIX separators."""
    text_path = str(model_path)
    posix = PurePosixPath(text_path.replace("\\", "/"))
    if (
        not text_path
        or posix.is_absolute()
        or PureWindowsPath(text_path).is_absolute()
        or PureWindowsPath(text_path).drive
        or ".." in posix.parts
        or posix == PurePosixPath(".")
    ):
        raise VerificationStoreError(
            f"model_path {text_path!r} is not a file path relative to the data directory "
            "(no absolute path, drive or '..')"
        )
    return posix.as_posix()


def _of_project(project_id: int | None):
    """The ``WHERE`` clause of the detectors of a project (``None``: the bundled defaults)."""
    return Detector.project_id.is_(None) if project_id is None else Detector.project_id == project_id


def _lock_detector_slot(session: Session, project_id: int | None, practice: str) -> None:
    """On PostgreSQL, lock the (project, practice) of a detector registration until the
    transaction ends (``pg_advisory_xact_lock``), so that two registrations run one after the
    other; each then reads the detectors the other committed. SQLite: nothing (the caller holds
    the database's write lock)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256(f"mrv_detector|{project_id}|{practice}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def register_detector(
    session: Session,
    project: Project | str | None,
    practice: str,
    model_path: str,
    training_sha256: str,
    n_training: int,
    metrics: Mapping[str, Any],
) -> Detector:
    """Make a trained detector the active one of its project and practice (committed).

    The previously active detector of the (project, practice) is deactivated and the new one
    inserted active, in one transaction. Registering the same model path and training data
    again returns the stored detector (activated again when another one was registered since).

    Parameters
    ----------
    session : Session
        Its open transaction is committed (see :func:`replace_run_flags`).
    project : Project, str or None
        The project (or its name); None for a bundled default detector.
    practice : str
        One of :data:`PRACTICES`.
    model_path : str or os.PathLike
        The model file relative to the data directory (stored with POSIX separators).
    training_sha256 : str
        hex SHA-256 of the training data (64 hex digits; stored in lower case).
    n_training : int
        Number of training samples (at least 1).
    metrics : Mapping
        Validation metrics, JSON-storable (numpy scalars are converted; NaN is refused).

    Returns
    -------
    Detector
        The active detector.

    Raises
    ------
    VerificationStoreError
        When an argument is out of its vocabulary or range.
    DetectorConflictError
        When the same model path and training data are stored with another ``n_training`` or
        other metrics.

    Notes
    -----
    Two processes registering at once wait for each other: on SQLite for the write lock
    (:func:`~mrv_service.store.db.begin_write`), on PostgreSQL for a transaction-level advisory
    lock of the (project, practice). Should the partial unique index still refuse an active row
    (a writer that took no lock), the registration is retried.
    """
    practice = _check_practice(practice)
    path = _model_path(model_path)
    sha = str(training_sha256).lower()
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise VerificationStoreError(f"training_sha256 {training_sha256!r} is not a hex SHA-256 (64 digits)")
    n = _integer(n_training)
    if n is None or n < 1:
        raise VerificationStoreError(f"n_training {n_training!r} is not a number of samples (at least 1)")
    clean_metrics = _metrics(metrics)
    started = True
    for attempt in range(3):
        if attempt == 0:
            started = _begin_writing(session)
        else:
            begin_write(session)
        try:
            project_obj = _project(session, project)
            project_id = None if project_obj is None else project_obj.id
            _lock_detector_slot(session, project_id, practice)
            same = session.scalars(
                select(Detector)
                .where(
                    _of_project(project_id),
                    Detector.practice == practice,
                    Detector.training_sha256 == sha,
                    Detector.model_path == path,
                )
                .order_by(Detector.id.desc())
                .limit(1)
                .execution_options(populate_existing=True)
            ).first()
            if same is not None and (same.n_training != n or same.metrics != clean_metrics):
                raise DetectorConflictError(
                    f"detector {same.id} ({practice}, {path!r}, training data {sha[:12]}...) is stored with "
                    f"n_training {same.n_training} and metrics {same.metrics}, given {n} and "
                    f"{clean_metrics}; register the retrained model under a new path"
                )
            if same is not None and same.active:
                session.commit()
                return same
            # deactivate first: the insert (or re-activation) must not meet an active row
            session.execute(
                update(Detector)
                .where(_of_project(project_id), Detector.practice == practice, Detector.active)
                .values(active=False)
                .execution_options(synchronize_session="fetch")
            )
            if same is None:
                same = Detector(
                    project_id=project_id,
                    practice=practice,
                    model_path=path,
                    training_sha256=sha,
                    n_training=n,
                    metrics=clean_metrics,
                    active=True,
                )
                session.add(same)
            else:
                same.active = True
            session.commit()
        except IntegrityError as exc:  # another process activated one in between: look again
            session.rollback()
            log.debug(
                "registering the %s detector %r met another registration (%s); retrying",
                practice,
                path,
                exc.orig,
            )
            started = True
            continue
        except BaseException:
            if started:  # else the caller's transaction: the caller rolls it back
                session.rollback()
            raise
        log.info(
            "detector %r (%s, %s) active for project %r",
            same.id,
            practice,
            path,
            None if project_obj is None else project_obj.name,
        )
        return same
    raise VerificationStoreError(f"could not register the {practice} detector {path!r}; try again")


def active_detector(
    session: Session, project: Project | str | None, practice: str, *, default: bool = True
) -> Detector | None:
    """The active detector of a project and practice.

    Parameters
    ----------
    session : Session
        Database session (only read).
    project : Project, str or None
        The project (or its name); None for the bundled default detectors.
    practice : str
        One of :data:`PRACTICES`.
    default : bool
        When the project has no active detector of its own, return the active bundled default
        detector of the practice (``project_id`` NULL), if any.

    Returns
    -------
    Detector or None
        None when there is none.
    """
    practice = _check_practice(practice)
    project_obj = _project(session, project)
    project_ids: list[int | None] = [None] if project_obj is None else [project_obj.id]
    if project_obj is not None and default:
        project_ids.append(None)
    for project_id in project_ids:
        found = session.scalars(
            select(Detector)
            .where(_of_project(project_id), Detector.practice == practice, Detector.active)
            .execution_options(populate_existing=True)
        ).first()
        if found is not None:
            return found
    return None
