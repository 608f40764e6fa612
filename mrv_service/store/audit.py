"""The audit trail: an append-only, hash-chained and signed log of what changed in the store.

Every upload, run, review decision, setting change and document issued appends one
:class:`~mrv_service.store.models.AuditEntry` (:func:`append`), in the same transaction as the
change where possible. Entry ``seq`` (1, 2, 3, ... without gaps over the whole log) holds

* ``prev_sha256``: the ``entry_sha256`` of entry ``seq - 1`` (:data:`GENESIS`, 64 zeros, for
  the first entry);
* ``entry_sha256``: the SHA-256 of the canonical JSON (:func:`canonical_json`) of seq,
  prev_sha256, created_at, actor, action, organisation_id, project_id and payload
  (:func:`entry_hash`);
* ``signature``: the HMAC-SHA256 of ``entry_sha256`` with the server key (``MRV_AUDIT_KEY``).

:func:`verify` walks the chain and names the first entry that was altered, inserted, removed,
reordered or signed with another key. Limits: removing the *last* entries leaves a shorter,
valid chain; keep the head that :func:`verify` reports (``VerifyResult.head_seq`` and
``head_sha256``, printed by ``mrv audit verify``) somewhere else and compare, or pass it as
``expect_head``. Anyone holding the key can rewrite the whole log: keep the key off the database
server.

Appends are serialised, so two concurrent appends never fork the chain: on SQLite the
transaction holds the database's write lock (``BEGIN IMMEDIATE``,
:func:`~mrv_service.store.db.begin_write`); on PostgreSQL a transaction-level advisory lock
(:data:`APPEND_LOCK_KEY`). Both are held until the caller commits, so append last, just before
the commit. The unique ``seq`` is the database's own guard.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import logging
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from mrv_service.store.db import begin_write
from mrv_service.store.models import AuditEntry, Project

__all__ = [
    "GENESIS",
    "APPEND_LOCK_KEY",
    "PROBLEMS",
    "VerifyResult",
    "canonical_json",
    "entry_hash",
    "sign",
    "server_key",
    "append",
    "append_for_project",
    "verify",
    "entries",
    "count",
]

log = logging.getLogger(__name__)

GENESIS = "0" * 64
"""``prev_sha256`` of the first entry."""
APPEND_LOCK_KEY = 0x6D72765F61756469
"""PostgreSQL advisory lock (``b"mrv_audi"`` as a number) held by a transaction that appends."""
PROBLEMS = ("altered", "inserted", "removed", "reordered", "bad signature")
"""What :func:`verify` can find wrong with an entry."""

_HASHED = ("seq", "prev_sha256", "created_at", "actor", "action", "organisation_id", "project_id", "payload")
_warned_dev_key = False


def canonical_json(value: Any) -> str:
    """The canonical JSON text of ``value``: sorted keys, no spaces, UTF-8 kept (not escaped);
    values JSON cannot hold (dates, paths) as their ``str``."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(fields: dict[str, Any]) -> str:
    """hex SHA-256 of the canonical JSON of an entry's hashed fields (:data:`_HASHED`)."""
    content = {k: fields[k] for k in _HASHED}
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def _key_bytes(key: str | bytes) -> bytes:
    return key if isinstance(key, bytes) else key.encode("utf-8")


def sign(entry_sha256: str, key: str | bytes) -> str:
    """hex HMAC-SHA256 of an entry hash with the server key."""
    return hmac.new(_key_bytes(key), entry_sha256.encode("ascii"), hashlib.sha256).hexdigest()


def server_key() -> str:
    """The signing key from ``MRV_AUDIT_KEY`` (the development key, with a warning, when unset)."""
    global _warned_dev_key
    from mrv_service.config import DEV_AUDIT_KEY, load_settings

    key = load_settings().audit_key
    if key == DEV_AUDIT_KEY and not _warned_dev_key:
        _warned_dev_key = True
        log.warning(
            "MRV_AUDIT_KEY is not set: the audit trail is signed with the public development key; "
            "set a secret key in production"
        )
    return key


def _fields(entry: AuditEntry) -> dict[str, Any]:
    return {k: getattr(entry, k) for k in _HASHED}


def _lock(session: Session) -> None:
    """Serialise appends until the session's transaction ends (see the module docstring)."""
    connection = begin_write(session)
    if connection.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})


def append(
    session: Session,
    *,
    action: str,
    actor: str,
    organisation_id: int | None,
    project_id: int | None,
    payload: dict[str, Any] | None = None,
    key: str | bytes | None = None,
) -> AuditEntry:
    """Append an entry to the audit trail (flushed, not committed: the caller commits).

    Parameters
    ----------
    session : Session
        Best called last in the transaction of the change it records, just before the commit:
        the append lock is held until the transaction ends. On SQLite a transaction that has
        only read so far (began deferred) may fail with ``database is locked`` when another
        connection writes meanwhile; begin it with :func:`~mrv_service.store.db.begin_write`.
    action : str
        ``upload``, ``run_started``, ``run_finished``, ``run_failed``, ``review``,
        ``setting_change``, ``document_issued``, ...
    actor : str
        Who did it (user e-mail, ``cli``, ...).
    organisation_id, project_id : int or None
        What it concerns (None for a system entry).
    payload : dict, optional
        Details; stored as its canonical JSON reads back (non-JSON values as ``str``).
    key : str or bytes, optional
        The signing key (default :func:`server_key`).

    Returns
    -------
    AuditEntry
    """
    key = server_key() if key is None else key
    _lock(session)
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.entry_sha256).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (1, GENESIS) if last is None else (last.seq + 1, last.entry_sha256)
    fields = {
        "seq": seq,
        "prev_sha256": prev,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
        "actor": str(actor),
        "action": str(action),
        "organisation_id": None if organisation_id is None else int(organisation_id),
        "project_id": None if project_id is None else int(project_id),
        "payload": json.loads(canonical_json(payload or {})),
    }
    digest = entry_hash(fields)
    entry = AuditEntry(**fields, entry_sha256=digest, signature=sign(digest, key))
    session.add(entry)
    session.flush()
    log.debug("audit %d: %s by %s (project %s)", seq, action, actor, project_id)
    return entry


def append_for_project(
    session: Session,
    project_id: int,
    *,
    action: str,
    actor: str,
    payload: dict[str, Any] | None = None,
    key: str | bytes | None = None,
) -> AuditEntry:
    """:func:`append` for a project, its organisation looked up."""
    _lock(session)  # before the read: on SQLite the transaction then holds the write lock
    org_id = session.scalar(select(Project.organisation_id).where(Project.id == project_id))
    return append(
        session,
        action=action,
        actor=actor,
        organisation_id=org_id,
        project_id=project_id,
        payload=payload,
        key=key,
    )


@dataclasses.dataclass(frozen=True)
class VerifyResult:
    """What :func:`verify` found."""

    ok: bool
    n_entries: int
    first_bad_seq: int | None = None
    """The first entry that is wrong (or, for ``removed``, the first missing seq)."""
    problem: str | None = None
    """One of :data:`PROBLEMS` (None when ``ok``)."""
    detail: str = ""
    head_seq: int | None = None
    """seq of the last entry (None for an empty log)."""
    head_sha256: str | None = None
    """entry_sha256 of the last entry (record it elsewhere to detect removal of the tail)."""

    def message(self) -> str:
        """One line for people."""
        if self.ok:
            head = f"head {self.head_seq} {self.head_sha256}" if self.head_seq else "empty log"
            return f"audit trail intact: {self.n_entries} entries, {head}"
        return f"audit trail broken at entry {self.first_bad_seq}: {self.problem}: {self.detail}"


def _hash_as(fields: dict[str, Any], **changes: Any) -> str:
    return entry_hash({**fields, **changes})


def _classify(rows: list[dict[str, Any]], i: int, prev: str) -> tuple[str, int, str]:
    """Why entry ``rows[i]`` (expected seq ``i + 1``, expected prev ``prev``) breaks the chain."""
    e = rows[i]
    seq = i + 1
    hash_ok = entry_hash(e) == e["entry_sha256"]
    if not hash_ok:
        for r in rows:
            if r is e:
                continue
            # the entry that belongs here is elsewhere, intact: entries were swapped
            if r["prev_sha256"] == prev and _hash_as(r, seq=seq) == r["entry_sha256"]:
                return "reordered", seq, f"entry {seq} holds the content of entry {r['seq']} and vice versa"
            # the contents were swapped, the hash columns left in place
            if _hash_as(r, seq=seq, prev_sha256=e["prev_sha256"]) == e["entry_sha256"]:
                return "reordered", seq, f"entry {seq} holds the content of entry {r['seq']}"
    # an entry inserted here and the later ones renumbered: the next one validates as this seq
    if i + 1 < len(rows):
        n = rows[i + 1]
        if n["prev_sha256"] == prev and _hash_as(n, seq=seq) == n["entry_sha256"]:
            return (
                "inserted",
                seq,
                f"entry {seq} was inserted before the entry that was {seq} (now {n['seq']})",
            )
    if not hash_ok:
        # the entry is intact but numbered lower than it was: entries before it were removed
        for s in range(seq + 1, seq + len(rows) + 2):
            if _hash_as(e, seq=s) == e["entry_sha256"]:
                return (
                    "removed",
                    seq,
                    f"entries {seq}..{s - 1} were removed and the later ones renumbered "
                    f"(entry {seq} was entry {s})",
                )
        return "altered", seq, f"its content no longer matches its SHA-256 ({e['action']} by {e['actor']})"
    if e["prev_sha256"] != prev:
        known = {r["entry_sha256"]: r["seq"] for r in rows[:i]}
        if e["prev_sha256"] in known:
            return "inserted", known[e["prev_sha256"]] + 1, "entries were inserted before it"
        return "removed", seq, "the entry it links to is not in the log"
    return "bad signature", seq, "its signature does not match the server key"


def verify(
    session: Session, key: str | bytes | None = None, *, expect_head: str | None = None
) -> VerifyResult:
    """Walk the whole chain and report the first entry that is wrong.

    Parameters
    ----------
    session : Session
    key : str or bytes, optional
        The server key (default :func:`server_key`).
    expect_head : str, optional
        An ``entry_sha256`` recorded earlier: the log must still contain it (detects removal of
        the tail).

    Returns
    -------
    VerifyResult
    """
    key = server_key() if key is None else key
    rows = [
        {**_fields(e), "id": e.id, "entry_sha256": e.entry_sha256, "signature": e.signature}
        for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq, AuditEntry.id))
    ]
    n = len(rows)

    def bad(problem: str, seq: int, detail: str) -> VerifyResult:
        return VerifyResult(False, n, seq, problem, detail)

    prev = GENESIS
    for i, e in enumerate(rows):
        seq = i + 1
        if e["seq"] > seq:
            return bad("removed", seq, f"entries {seq}..{e['seq'] - 1} are missing")
        if e["seq"] < seq:
            return bad("inserted", e["seq"], f"seq {e['seq']} occurs twice")
        sig_ok = hmac.compare_digest(e["signature"] or "", sign(e["entry_sha256"] or "", key))
        if entry_hash(e) == e["entry_sha256"] and e["prev_sha256"] == prev and sig_ok:
            prev = e["entry_sha256"]
            continue
        return bad(*_classify(rows, i, prev))
    if expect_head is not None and expect_head not in {r["entry_sha256"] for r in rows}:
        return bad("removed", n + 1, f"the recorded head {expect_head} is no longer in the log")
    if n:
        return VerifyResult(True, n, head_seq=rows[-1]["seq"], head_sha256=rows[-1]["entry_sha256"])
    return VerifyResult(True, 0)


def entries(
    session: Session, organisation_id: int | None, limit: int = 100, after: int | None = None
) -> list[AuditEntry]:
    """Entries of one organisation in log order: at most ``limit``, with ``seq > after``.

    ``organisation_id`` None lists the system entries (those without an organisation).
    """
    stmt = select(AuditEntry)
    if organisation_id is None:
        stmt = stmt.where(AuditEntry.organisation_id.is_(None))
    else:
        stmt = stmt.where(AuditEntry.organisation_id == organisation_id)
    if after is not None:
        stmt = stmt.where(AuditEntry.seq > after)
    return list(session.scalars(stmt.order_by(AuditEntry.seq).limit(max(0, int(limit)))))


def count(session: Session) -> int:
    """Number of entries in the log."""
    return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
