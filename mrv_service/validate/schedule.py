"""DayCent schedule files (``<Site>_<Treatment>.sch``): parse, check, expand into calendar dates.

Layout, as the experiments' files have it::

    1999          Starting year          <- header: one "value  label" a line
    2007          Last year
    FortCollins.100      Site file name
    ...
    C6            Initial crop
                  Initial tree
    Year Month Option                     <- end of the header
    1            Block   # comment        <- block number
    2007         Last year                <- last calendar year of the block
    9            Repeats # years          <- length of the block's rotation [years]
    1999         Output starting year
    1            Output month
    0.083        Output interval
    F            Weather choice           <- F: read the weather file named on the next line; C: continue
    FortCollins.wth
    1   123  FERT  (22.4N)                <- year in the rotation, day of year, event, option  # comment
    ...
    -999 -999 X                           <- end of the block

A block starts the year after the previous block's last year (the first at the header's starting
year; DayCent's own rule, so the "Output starting year" is only checked, not used) and repeats its
rotation: calendar year Y of a block starting in S runs the events of rotation year
``(Y - S) mod repeats + 1``. Day 366 in a common year becomes 31 December (noted).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from models.validation.calendar import ManagementEvent, TreatmentCalendar
from mrv_service.validate.errors import SiteFileMissingError, SiteFormatError

__all__ = ["Schedule", "ScheduleBlock", "ScheduleLine", "expand", "parse_schedule", "read_schedule"]

_HEADER_LABELS = (
    "Starting year",
    "Last year",
    "Site file name",
    "Labeling type",
    "Labeling year",
    "Microcosm",
    "CO2 Systems",
    "pH effect",
    "Soil warming",
    "N input scalar option",
    "OMAD scalar option",
    "Climate scalar option",
    "Initial system",
    "Initial crop",
    "Initial tree",
)
_BLOCK_LABELS = (
    "Last year",
    "Repeats",
    "Output starting year",
    "Output month",
    "Output interval",
    "Weather choice",
)
_EVENT = re.compile(r"^\s*(-?\d+)\s+(-?\d+)\s+([A-Za-z][A-Za-z0-9]*)\s*(.*?)\s*$")
_END = re.compile(r"^\s*-999\s+-999\s+X\b", re.IGNORECASE)
_BLOCK = re.compile(r"^\s*(\d+)\s+Block\b(.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class ScheduleLine:
    """One event line of a block."""

    year: int
    """Year in the block's rotation (1 = the block's first year)."""
    doy: int
    """Day of year [1-366]."""
    event: str
    """Event code, upper case."""
    option: str
    """Option as written ('' if none); a parenthesised in-line option is kept whole."""
    line: int
    """Line number in the file (1-based)."""


@dataclass(frozen=True)
class ScheduleBlock:
    """One block of a schedule."""

    number: int
    first_year: int
    """First calendar year (the previous block's last year + 1)."""
    last_year: int
    repeats: int
    """Rotation length [years]."""
    output_start: int | None
    weather_choice: str
    weather_file: str | None
    events: tuple[ScheduleLine, ...]
    line: int
    """Line of the block's header."""
    comment: str


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule file."""

    path: str
    start_year: int
    last_year: int
    site_file: str
    initial_crop: str
    blocks: tuple[ScheduleBlock, ...]
    notes: tuple[str, ...]

    @property
    def weather_file(self) -> str | None:
        """The first weather file a block names."""
        for b in self.blocks:
            if b.weather_file:
                return b.weather_file
        return None


def _strip_comment(text: str) -> str:
    return text.split("#", 1)[0].rstrip()


def _label_value(text: str, labels: tuple[str, ...]) -> tuple[str, str] | None:
    low = text.lower()
    for label in labels:
        k = low.find(label.lower())
        if k >= 0:
            return label, text[:k].strip()
    return None


def _int(path: str, line: int, value: str, what: str) -> int:
    try:
        return int(float(value))
    except ValueError:
        raise SiteFormatError(
            path, line, f"{what} {value!r} is not a number", f"write the {what} as a whole number"
        ) from None


def _option(rest: str) -> str:
    rest = rest.strip()
    if not rest or rest.startswith("#"):
        return ""
    if rest.startswith("("):
        end = rest.find(")")
        return rest if end < 0 else rest[: end + 1]
    return rest.split()[0]


def parse_schedule(text: str, path: str) -> Schedule:
    """Parse a schedule's text.

    Parameters
    ----------
    text : str
        The file's content.
    path : str
        Its path (for messages).

    Returns
    -------
    Schedule

    Raises
    ------
    SiteFormatError
        Naming the line, the problem and the fix.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff").split("\n")
    header: dict[str, tuple[str, int]] = {}
    i = 0
    while i < len(lines) and "year month option" not in lines[i].lower():
        raw = _strip_comment(lines[i])
        if raw.strip():
            found = _label_value(raw, _HEADER_LABELS)
            if found and found[0] not in header:
                header[found[0]] = (found[1], i + 1)
        i += 1
    if i >= len(lines):
        raise SiteFormatError(
            path,
            None,
            "no 'Year Month Option' line ends the header",
            "check that this is a DayCent schedule (.sch)",
        )
    for need in ("Starting year", "Last year", "Site file name"):
        if need not in header or not header[need][0]:
            raise SiteFormatError(
                path, None, f"the header has no '{need}' line", f"add '<value>  {need}' to the header"
            )
    start = _int(path, header["Starting year"][1], header["Starting year"][0], "starting year")
    last = _int(path, header["Last year"][1], header["Last year"][0], "last year")
    if last < start:
        raise SiteFormatError(
            path,
            header["Last year"][1],
            f"last year {last} is before the starting year {start}",
            "correct the header",
        )
    site_file = header["Site file name"][0].split()[0]
    initial_crop = (
        header.get("Initial crop", ("", 0))[0].split()[0] if header.get("Initial crop", ("", 0))[0] else ""
    )
    notes: list[str] = []
    blocks: list[ScheduleBlock] = []
    i += 1
    next_first = start
    n = len(lines)
    while i < n:
        raw = _strip_comment(lines[i])
        if not raw.strip():
            i += 1
            continue
        if _END.match(lines[i]) and blocks:
            notes.append(f"{path}:{i + 1}: a second '-999 -999 X' after block {blocks[-1].number}; ignored")
            i += 1
            continue
        m = _BLOCK.match(lines[i])
        if m is None:
            raise SiteFormatError(
                path,
                i + 1,
                f"expected a block header ('<n>  Block'), found {lines[i].strip()!r}",
                "start each block with '<number>  Block' and end it with '-999 -999 X'",
            )
        number, block_line = int(m.group(1)), i + 1
        comment = m.group(2).strip().lstrip("#").strip()
        values: dict[str, tuple[str, int]] = {}
        i += 1
        while i < n:
            raw = _strip_comment(lines[i])
            if not raw.strip():
                i += 1
                continue
            found = _label_value(lines[i], _BLOCK_LABELS)
            if found is None or _EVENT.match(lines[i]):
                break
            values.setdefault(found[0], (found[1], i + 1))
            i += 1
            if found[0] == "Weather choice":
                break
        for need in ("Last year", "Repeats", "Weather choice"):
            if need not in values:
                raise SiteFormatError(
                    path,
                    block_line,
                    f"block {number} has no '{need}' line",
                    f"add '<value>  {need}' after the block header",
                )
        b_last = _int(path, values["Last year"][1], values["Last year"][0], "last year")
        repeats = _int(path, values["Repeats"][1], values["Repeats"][0], "repeat length")
        if repeats < 1:
            raise SiteFormatError(
                path,
                values["Repeats"][1],
                f"block {number} repeats every {repeats} years",
                "give the rotation length in years (>= 1)",
            )
        if b_last < next_first:
            raise SiteFormatError(
                path,
                values["Last year"][1],
                f"block {number} ends in {b_last}, before it starts in {next_first} (the year after the previous block)",
                "correct the block's 'Last year'",
            )
        out_start = None
        if "Output starting year" in values:
            out_start = _int(
                path,
                values["Output starting year"][1],
                values["Output starting year"][0],
                "output starting year",
            )
            if out_start != next_first:
                notes.append(
                    f"{path}:{values['Output starting year'][1]}: block {number} says output starts in {out_start}; "
                    f"it starts in {next_first} (the year after the previous block), as DayCent runs it"
                )
        choice = values["Weather choice"][0].split()[0].upper() if values["Weather choice"][0] else ""
        weather_file = None
        if choice in ("F", "U"):
            while i < n and not _strip_comment(lines[i]).strip():
                i += 1
            if i < n and not _EVENT.match(lines[i]) and not _END.match(lines[i]):
                weather_file = _strip_comment(lines[i]).split()[0]
                i += 1
        events: list[ScheduleLine] = []
        ended = False
        while i < n:
            if _END.match(lines[i]):
                ended = True
                i += 1
                break
            raw = _strip_comment(lines[i])
            if not raw.strip():
                i += 1
                continue
            em = _EVENT.match(lines[i])
            if em is None:
                raise SiteFormatError(
                    path,
                    i + 1,
                    f"cannot read the event line {lines[i].strip()!r}",
                    "write events as '<year in block> <day of year> <EVENT> [option]'",
                )
            year, doy = int(em.group(1)), int(em.group(2))
            if year < 1:
                raise SiteFormatError(
                    path, i + 1, f"rotation year {year} is below 1", "number rotation years from 1"
                )
            if not 1 <= doy <= 366:
                raise SiteFormatError(
                    path, i + 1, f"day of year {doy} is outside 1-366", "give the day of year (1-366)"
                )
            events.append(ScheduleLine(year, doy, em.group(3).upper(), _option(em.group(4)), i + 1))
            i += 1
        if not ended:
            raise SiteFormatError(
                path,
                block_line,
                f"block {number} has no closing '-999 -999 X' line",
                "end every block with '-999 -999 X'",
            )
        late = [e for e in events if e.year > repeats]
        if late:
            notes.append(
                f"{path}:{late[0].line}: rotation year {late[0].year} of block {number} is beyond its {repeats}-year "
                "rotation and is never reached"
            )
        blocks.append(
            ScheduleBlock(
                number,
                next_first,
                b_last,
                repeats,
                out_start,
                choice,
                weather_file,
                tuple(events),
                block_line,
                comment,
            )
        )
        next_first = b_last + 1
    if not blocks:
        raise SiteFormatError(
            path, None, "the schedule has no blocks", "add at least one block after 'Year Month Option'"
        )
    if blocks[-1].last_year != last:
        notes.append(
            f"{path}: the header's last year is {last}, the last block ends in {blocks[-1].last_year}"
        )
    return Schedule(
        path, start, max(last, blocks[-1].last_year), site_file, initial_crop, tuple(blocks), tuple(notes)
    )


def read_schedule(path: Path) -> Schedule:
    """Read and parse a schedule file."""
    if not path.is_file():
        raise SiteFileMissingError(
            path, "schedule file", f"add {path.name} or drop its column from soc_obd.csv"
        )
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    return parse_schedule(text, str(path))


def expand(schedule: Schedule, name: str) -> tuple[TreatmentCalendar, tuple[str, ...]]:
    """Unroll every block's rotation into calendar dates.

    Parameters
    ----------
    schedule : Schedule
    name : str
        Treatment id.

    Returns
    -------
    calendar : TreatmentCalendar
    notes : tuple of str
        The schedule's notes plus any day 366 moved to 31 December.
    """
    notes = list(schedule.notes)
    events: list[ManagementEvent] = []
    for b in schedule.blocks:
        by_year: dict[int, list[ScheduleLine]] = {}
        for e in b.events:
            by_year.setdefault(e.year, []).append(e)
        for year in range(b.first_year, b.last_year + 1):
            k = (year - b.first_year) % b.repeats + 1
            day_events = sorted(by_year.get(k, []), key=lambda e: e.doy)  # stable: file order within a day
            for e in day_events:
                doy = e.doy
                if doy == 366 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
                    notes.append(
                        f"{schedule.path}:{e.line}: day 366 in {year} (not a leap year) taken as 31 December"
                    )
                    doy = 365
                date = dt.date(year, 1, 1) + dt.timedelta(days=doy - 1)
                events.append(ManagementEvent(date, e.event, e.option, f"{schedule.path}:{e.line}"))
    cal = TreatmentCalendar(
        name=name,
        first_year=schedule.start_year,
        last_year=schedule.blocks[-1].last_year,
        events=tuple(events),
        initial_crop=schedule.initial_crop,
        source=schedule.path,
    )
    return cal, tuple(notes)
