"""The layers of a soil sampling site: from 0 cm down, without overlap or gap.

DATA_FORMATS.md section 3: the samples of one sampling site (the same plot, or the same point, on
the same date) must start at 0 cm and follow each other without overlap or gap, together with the
samples of that site already stored (a sample uploaded again under its ``sample_id`` replaces its
layer). Errors name both rows (or the stored sample).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mrv_service.ingest.report import UploadReport
from mrv_service.store.models import SoilSample

__all__ = ["POINT_DIGITS", "stored_layers", "check_layers"]

POINT_DIGITS = 6
"""Decimal places [degree] to which two samples' coordinates must agree to be the same sampling
point (1e-6 degree is about 0.1 m)."""


def _site(rec: Any) -> tuple | None:
    """The sampling site of a sample: its point (lon/lat) or plot, and its date; None without date."""
    get = rec.get if isinstance(rec, dict) else lambda k: getattr(rec, k)
    date = get("date")
    if date is None:
        return None
    lon, lat = get("lon"), get("lat")
    if lon is not None and lat is not None:
        return ("point", round(lon, POINT_DIGITS), round(lat, POINT_DIGITS), date)
    if get("plot_id") is not None:
        return ("plot", get("plot_id"), date)
    return None


def stored_layers(session: Session, project_id: int, parsed: list[dict[str, Any]]) -> list[Any]:
    """Stored samples of the project that this upload does not replace (other sample ids)."""
    replaced = {rec["sample_id"] for rec in parsed}
    rows = session.execute(
        select(
            SoilSample.sample_id,
            SoilSample.plot_id,
            SoilSample.lon,
            SoilSample.lat,
            SoilSample.date,
            SoilSample.depth_top_cm,
            SoilSample.depth_bottom_cm,
        ).where(SoilSample.project_id == project_id)
    ).all()
    return [r for r in rows if r.sample_id not in replaced]


def check_layers(
    report: UploadReport,
    table: Any,
    columns: dict[str, Any],
    parsed: list[dict[str, Any]],
    stored: list[Any],
    plot_ext: dict[int, str],
) -> None:
    """Errors for the layers of a sampling site that do not start at 0 cm, overlap or leave a gap.

    A site is one plot, or one point (lon/lat to :data:`POINT_DIGITS` decimals), on one date; its
    layers are those of this file and the stored ones (:func:`stored_layers`). Every problem is
    reported on a row of this file and names the other layer's row (or stored sample).
    """
    sites: dict[tuple, list[tuple[float, float, int | None, str]]] = defaultdict(list)
    for rec in parsed:
        key = _site(rec)
        if key is not None:
            sites[key].append(
                (rec["depth_top_cm"], rec["depth_bottom_cm"], rec["source_row"], rec["sample_id"])
            )
    for r in stored:
        key = _site(r)
        if key is not None and key in sites:
            sites[key].append((r.depth_top_cm, r.depth_bottom_cm, None, r.sample_id))
    header = columns["depth_top"].header

    def name(layer: tuple[float, float, int | None, str]) -> str:
        top, bottom, row, sid = layer
        where = f"row {row} (sample {sid})" if row is not None else f"stored sample {sid}"
        return f"the layer {top:g}-{bottom:g} cm in {where}"

    def error(layer: tuple[float, float, int | None, str], message: str, fix: str) -> None:
        report.error(layer[2], header, message, fix, row_label=table.labels.get(layer[2]))

    for key, layers in sites.items():
        layers.sort(key=lambda x: (x[0], x[1], x[2] is not None, x[2] or 0))
        site = (
            f"point ({key[1]:g}, {key[2]:g}), {key[3].isoformat()}"
            if key[0] == "point"
            else f"plot {plot_ext.get(key[1], key[1])}, {key[2].isoformat()}"
        )
        first = layers[0]
        if first[0] > 0 and first[2] is not None:
            error(
                first,
                f"the shallowest layer of sampling site ({site}) starts at {first[0]:g} cm, not at the "
                "surface (0 cm)",
                f"add the 0-{first[0]:g} cm layer, or correct the top depth",
            )
        deepest = first  # the layer reaching deepest so far: the next one must start at its bottom
        for b in layers[1:]:
            a = deepest
            if b[1] > a[1]:
                deepest = b
            if a[2] is None and b[2] is None:
                continue
            here, other = (b, a) if b[2] is not None else (a, b)
            if b[0] < a[1]:
                error(
                    here,
                    f"{name(here)} overlaps {name(other)} of the same sampling site ({site})",
                    "correct the depths so that the layers of one site follow each other (e.g. 0-20 "
                    "and 20-30 cm); replicate cores need their own coordinates, or average them into "
                    "one sample",
                )
            elif b[0] > a[1]:
                error(
                    here,
                    f"{name(b)} leaves a gap from {a[1]:g} to {b[0]:g} cm below {name(a)} of the same "
                    f"sampling site ({site})",
                    "add the missing layer, or correct the depths so that the layers follow each other",
                )
