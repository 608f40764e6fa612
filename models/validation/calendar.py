"""A treatment's management as dated events: the schedule of a long-term experiment, expanded.

The file edge (:mod:`mrv_service.validate.schedule`) turns a DayCent schedule's blocks and repeats
into these calendar dates; everything downstream (:mod:`models.validation.management`) works on
them only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["ManagementEvent", "TreatmentCalendar"]


@dataclass(frozen=True)
class ManagementEvent:
    """One management event on one day."""

    date: dt.date
    """Day of the event (calendar year of the expanded block, day of year of the schedule line)."""
    event: str
    """Event code as in the schedule, upper case: ``CROP``, ``PLTM``, ``HARV``, ``CULT``, ``FERT``,
    ``OMAD``, ``IRIG``/``IRRI``, ``FIRE``, ``LAST``, ``FRST``, ``SENM``."""
    option: str = ""
    """The event's option as written (``G75S``, ``K``, ``(22.4N)``, ``(1, 0.925F, -1L)``), '' if none."""
    source: str = ""
    """Where it was read: ``file:line`` (used in every error message about the event)."""

    @property
    def doy(self) -> int:
        """Day of year [1-366]."""
        return self.date.timetuple().tm_yday


@dataclass(frozen=True)
class TreatmentCalendar:
    """The expanded management calendar of one treatment."""

    name: str
    """Treatment id (the schedule's file stem, e.g. ``FortCollins_NTCC``)."""
    first_year: int
    """First calendar year of the schedule."""
    last_year: int
    """Last calendar year of the schedule."""
    events: tuple[ManagementEvent, ...]
    """Events in date order (events of one day in the order written)."""
    initial_crop: str = ""
    """Crop code of the schedule header's initial system ('' if none)."""
    source: str = ""
    """The schedule file."""
