"""``mrv validate``'s file edge on the bundled sites (tests/data/soc_long_term, see its PROVENANCE.md):
schedule parsing against hand-read lines, the pairing, and clear errors for malformed files."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from mrv_service.validate.errors import SiteFileMissingError, SiteFormatError
from mrv_service.validate.prepare import prepare_site
from mrv_service.validate.schedule import expand, read_schedule
from mrv_service.validate.sites import read_observations, read_site

SITES = Path(__file__).resolve().parents[1] / "data" / "soc_long_term"


def test_schedule_line_as_read_by_hand():
    # FivePoints_CTCC.sch, block 1 (1999-2000, 2-year rotation), line 28:
    #    1  299  IRIG  (0,0,10)            ## Year1999 single daily irrigation of 10 cm
    # rotation year 1 of a block starting 1999 = 1999; day 299 of 1999 = 26 October.
    sch = read_schedule(SITES / "FivePoints" / "FivePoints_CTCC.sch")
    assert (sch.start_year, sch.site_file, sch.initial_crop) == (1999, "FP_CTCC.100", "MXNNL")
    b = sch.blocks[0]
    assert (b.first_year, b.last_year, b.repeats, b.weather_file) == (1999, 2000, 2, "FivePoints.wth")
    line = next(e for e in b.events if e.line == 28)
    assert (line.year, line.doy, line.event, line.option) == (1, 299, "IRIG", "(0,0,10)")
    cal, _notes = expand(sch, "FivePoints_CTCC")
    ev = next(e for e in cal.events if e.source.endswith(":28"))
    assert ev.date == dt.date(1999, 10, 26) and ev.event == "IRIG"


def test_schedule_rotation_repeats():
    # Sidney_NT.sch: one block 1970-1993 repeating a 2-year wheat-fallow rotation; the harvest
    # "2  179  HARV  G" falls in every second year from 1971: 1971-06-28 (day 179).
    sch = read_schedule(SITES / "Sidney" / "Sidney_NT.sch")
    cal, _ = expand(sch, "Sidney_NT")
    harvests = [e.date for e in cal.events if e.event == "HARV"]
    assert harvests[0] == dt.date(1971, 6, 28)
    assert [d.year for d in harvests] == list(range(1971, 1994, 2))


def test_observations_in_t_c_per_ha():
    cols, obs = read_observations(SITES / "Sidney" / "soc_obd.csv")
    assert cols == ["Sidney_BF", "Sidney_SM", "Sidney_NT"]
    nt_1993 = next(o for o in obs if o.treatment == "Sidney_NT" and o.year == 1993)
    assert nt_1993.soc == pytest.approx(50.40)  # 5040 g C m-2 / 100


def test_pairing_of_bundled_sites():
    pairs = {}
    for site in ("FivePoints", "IthacaNE", "Sidney"):
        p = prepare_site(read_site(SITES / site))
        pairs[site] = {(x.a, x.b, x.category) for x in p.pairs}
    assert pairs["Sidney"] == {("Sidney_SM", "Sidney_BF", "tillage")}
    assert ("FivePoints_RTNO", "FivePoints_CTNO", "tillage") in pairs["FivePoints"]
    assert ("FivePoints_RTCC", "FivePoints_CTCC", "tillage") in pairs["FivePoints"]
    ithaca = pairs["IthacaNE"]
    # no-till minus disk at each residue level; residue retained minus removed under each tillage
    for level in ("Hr", "Mr", "Nr"):
        assert (f"IthacaNE_NT{level}", f"IthacaNE_Disk{level}", "tillage") in ithaca
    assert ("IthacaNE_DiskNr", "IthacaNE_DiskHr", "residue") in ithaca
    assert ("IthacaNE_NTNr", "IthacaNE_NTHr", "residue") in ithaca
    assert {c for *_, c in ithaca} == {"tillage", "residue"}


@pytest.fixture
def site_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "sites" / "Sidney"
    shutil.copytree(SITES / "Sidney", dst)
    for f in dst.iterdir():
        f.chmod(0o644)
    return dst


def test_malformed_schedule_names_file_and_line(site_copy: Path):
    path = site_copy / "Sidney_NT.sch"
    lines = path.read_text().splitlines(keepends=True)
    k = next(i for i, ln in enumerate(lines) if "HARV" in ln)
    lines[k] = "2  17x  HARV  G\n"
    path.write_text("".join(lines))
    with pytest.raises(SiteFormatError) as err:
        read_schedule(path)
    msg = str(err.value)
    assert f"{path}:{k + 1}" in msg and "event line" in msg and "write events as" in msg
    data = read_site(site_copy)  # the treatment is skipped with the reason, the site still reads
    assert "Sidney_NT" in data.skipped_treatments and f":{k + 1}" in data.skipped_treatments["Sidney_NT"]


def test_malformed_observation_names_field(site_copy: Path):
    path = site_copy / "soc_obd.csv"
    path.write_text("Year,Sidney_BF,Sidney_SM,Sidney_NT\n1970,4896,4896,4896\n1993,3920,abc,5040\n")
    with pytest.raises(SiteFormatError) as err:
        read_observations(path)
    msg = str(err.value)
    assert f"{path}:3" in msg and "Sidney_SM" in msg and "'abc'" in msg and "-999" in msg


def test_missing_weather_names_the_file(site_copy: Path):
    (site_copy / "Sidney.wth").unlink()
    with pytest.raises(SiteFileMissingError) as err:
        read_site(site_copy)
    assert "Sidney.wth" in str(err.value) and "weather" in str(err.value)
