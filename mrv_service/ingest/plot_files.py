"""Reading a plot file: GeoJSON, GeoPackage or zipped Shapefile (DATA_FORMATS.md section 1).

:func:`read_plot_file` reads the file with geopandas (pyogrio engine) and collects GDAL's
warnings for the report. A Shapefile without a ``.cpg`` file is read in the text encoding its
DBF bytes show (:func:`dbf_encoding`): without this GDAL reads it as Latin-1 and Chinese names
become mojibake silently.
"""

from __future__ import annotations

import codecs
import re
import warnings
import zipfile
from pathlib import Path

from models.errors import MRVError

__all__ = ["read_plot_file", "dbf_encoding", "PLOT_FILE_SUFFIXES", "PlotFileEncodingError"]

PLOT_FILE_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip", ".shp")
"""Accepted plot file types: GeoJSON, GeoPackage, zipped Shapefile (or a bare ``.shp``)."""


class PlotFileEncodingError(MRVError, ValueError):
    """A Shapefile's attribute table has no ``.cpg`` file and is neither UTF-8 nor GB18030 text;
    ``fix`` says what to do."""

    def __init__(self, message: str, fix: str):
        super().__init__(f"{message}; {fix}")
        self.message = message
        self.fix = fix


_GBK_LDIDS = (0x4D, 0x7A)
"""dBase language driver ids that declare code page 936 (GBK); GDAL decodes those itself."""


def _dbf_text_values(data: bytes) -> list[bytes]:
    """The non-ASCII values of the character (``C``) fields of a dBase table, as raw bytes.

    dBase III layout: record count (bytes 4-7), header and record length (8-9, 10-11), 32-byte
    field descriptors from byte 32 up to a 0x0D terminator (type at 11, width at 16; character
    fields wider than 255 use byte 17 as the high byte, as shapelib writes them); each record
    starts with a deletion flag byte.
    """
    if len(data) < 33 or re.search(rb"[\x80-\xff]", data[32:]) is None:
        return []
    n_records = int.from_bytes(data[4:8], "little")
    header_len = int.from_bytes(data[8:10], "little")
    record_len = int.from_bytes(data[10:12], "little")
    fields, pos, offset = [], 32, 1
    while pos + 32 <= min(header_len, len(data)) and data[pos] != 0x0D:
        kind = chr(data[pos + 11])
        width = data[pos + 16] + (256 * data[pos + 17] if kind == "C" else 0)
        if kind == "C":
            fields.append((offset, width))
        offset += width
        pos += 32
    out = []
    for r in range(n_records):
        rec = data[header_len + r * record_len : header_len + (r + 1) * record_len]
        if len(rec) < record_len:
            break
        for off, width in fields:
            value = rec[off : off + width].rstrip(b" \x00")
            if re.search(rb"[\x80-\xff]", value):
                out.append(value)
    return out


def _decodes(values: list[bytes], encoding: str) -> bool:
    """True when every value decodes (a character cut at the end of a full field is tolerated)."""
    for v in values:
        try:
            codecs.getincrementaldecoder(encoding)().decode(v, final=False)
        except UnicodeDecodeError:
            return False
    return True


def dbf_encoding(path: str | Path) -> tuple[str | None, str | None]:
    """The encoding to read a Shapefile's attributes with when it has no ``.cpg`` file.

    Without a ``.cpg`` file (and without a dBase language driver id naming GBK) GDAL decodes the
    DBF as ISO-8859-1, so Chinese text written by Chinese GIS software (GBK by default) or as
    UTF-8 silently becomes mojibake. The raw DBF bytes (beside the ``.shp`` or inside the
    ``.zip``) decide: UTF-8 if they decode as UTF-8, else GB18030 (a superset of GBK) with a
    warning.

    Parameters
    ----------
    path : path
        A ``.shp`` or a ``.zip`` holding a Shapefile; other files give ``(None, None)``.

    Returns
    -------
    encoding : str or None
        ``UTF-8`` or ``GB18030`` to pass to the reader; None to leave it to GDAL (a ``.cpg``
        file, a GBK language driver id, or ASCII text only).
    note : str or None
        A warning for the report (text read as GB18030).

    Raises
    ------
    PlotFileEncodingError
        When the text is neither UTF-8 nor GB18030.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    tables: list[tuple[str, bytes]] = []
    if suffix == ".shp":
        siblings = {p.name.lower(): p for p in path.parent.iterdir() if p.stem.lower() == path.stem.lower()}
        dbf = siblings.get(f"{path.stem.lower()}.dbf")
        if dbf is not None and f"{path.stem.lower()}.cpg" not in siblings:
            tables.append((dbf.name, dbf.read_bytes()))
    elif suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                names = {n.lower(): n for n in zf.namelist()}
                for low in names:
                    if low.endswith(".shp"):
                        stem = low[:-4]
                        if f"{stem}.dbf" in names and f"{stem}.cpg" not in names:
                            dbf = names[f"{stem}.dbf"]
                            tables.append((dbf.rsplit("/", 1)[-1], zf.read(dbf)))
        except (zipfile.BadZipFile, OSError):
            return None, None  # the reader reports an unreadable zip
    values: list[bytes] = []
    names_ = []
    for name, data in tables:
        if len(data) > 29 and data[29] in _GBK_LDIDS:
            continue
        found = _dbf_text_values(data)
        if found:
            values.extend(found)
            names_.append(name)
    if not values:
        return None, None
    dbf_names = ", ".join(names_)
    if _decodes(values, "utf-8"):
        return "UTF-8", None
    if _decodes(values, "gb18030"):
        return "GB18030", (
            f"the attribute table {dbf_names} has no .cpg file naming its encoding and is not UTF-8; "
            "it was read as GBK/GB18030 (the default of Chinese GIS software): check that names "
            "read right, and add a .cpg file holding GBK (or re-export as UTF-8) to be sure"
        )
    raise PlotFileEncodingError(
        f"the attribute table {dbf_names} has no .cpg file naming its encoding, and its text is "
        "neither UTF-8 nor GBK/GB18030, so names and villages cannot be read",
        "add a .cpg file beside the .dbf naming its encoding (a text file holding e.g. GBK or "
        "UTF-8), or re-export the layer as a UTF-8 Shapefile or a GeoPackage",
    )


def read_plot_file(path: str | Path):
    """Read a plot file into a GeoDataFrame (geopandas with the pyogrio engine).

    A ``.zip`` is read through GDAL's ``/vsizip/`` (``zip://``). A Shapefile without a ``.cpg``
    file is read in the encoding its bytes show (:func:`dbf_encoding`). Returns the frame and a
    list of warnings for the report: GDAL's (prefixed ``GDAL:``) and the encoding note.

    Raises
    ------
    PlotFileEncodingError
        A Shapefile without ``.cpg`` whose text is neither UTF-8 nor GB18030.
    """
    import geopandas

    path = Path(path)
    target = f"zip://{path}" if path.suffix.lower() == ".zip" else str(path)
    encoding, note = dbf_encoding(path)
    kwargs = {"encoding": encoding} if encoding else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gdf = geopandas.read_file(target, engine="pyogrio", **kwargs)
    notes = [
        f"GDAL: {w.message}"
        for w in caught
        # NaN/Inf vertices make shapely warn while decoding; the geometry check names them
        if not (issubclass(w.category, RuntimeWarning) and "invalid value encountered" in str(w.message))
    ]
    return gdf, notes + ([note] if note else [])
