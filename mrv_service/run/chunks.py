"""The verification and models stages of ``mrv run`` by plot chunk (map), their project figures by
reduction, and their output files assembled chunk by chunk.

1. The project's plots (sorted by id) are cut into chunks of ``MRV_CHUNK_PLOTS``
   (:func:`~mrv_service.run.activity_parts.chunk_slices`); each chunk's inputs are its plots and
   their records (:class:`ChunkPlan`), made just before its task is submitted.
2. Each chunk is a task (:mod:`mrv_service.run.chunk_tasks`) on the run's Dask cluster or in the
   run's process (:class:`~mrv_service.run.cluster.ChunkPool`). A plot's result depends only on
   its own inputs and the seed: every random draw comes from the plot's own stream
   (:mod:`models.random_streams`), and the plots without soil samples take the project's mean,
   computed once here.
3. The project's figures come from the chunks' sums, which are exact integers of a fixed quantum
   (:mod:`models.exact_sums`): the same seed gives bit-identical figures and files for any chunk
   size and any number of workers.
4. The accounting's per-plot shares need the project's deduction and buffer: two more tasks per
   chunk over its files (the gains' sum, then the shares), then the files are concatenated in
   chunk order.

Nothing that grows with the number of plots is held here beyond the chunks' sums and one chunk's
rows at a time (the farmers' table too: :mod:`mrv_service.run.farmer_sums`): a chunk's plots and activity records are read from the part files the run's
snapshot wrote (:mod:`mrv_service.run.plot_parts`, :mod:`mrv_service.run.activity_parts`), its
imagery series from the file its imagery task wrote (:mod:`mrv_service.run.imagery_chunks`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from models.chain import climate_zone_of
from models.soil import sampled_mean_stock
from models.weather import monthly_forcing
from mrv_service.run.accounting_stage import accounting_project
from mrv_service.run.activity_parts import chunk_slices
from mrv_service.run.chunk_tasks import (
    ChunkFiles,
    ModelsTask,
    SharesTask,
    VerificationTask,
    gain_task,
    models_task,
    shares_task,
    verification_task,
)
from mrv_service.run.cluster import ChunkPool
from mrv_service.run.farmer_sums import merge_farmer_sums
from mrv_service.run.inputs import ProjectInputs
from mrv_service.run.models_partials import combine
from mrv_service.run.models_summary import models_summary
from mrv_service.run.stages import used_stations
from mrv_service.run.verification_stage import DetectorSet, verification_summary

__all__ = ["ChunkPlan", "ModelsRun", "chunk_slices", "run_models", "run_verification"]

Progress = Callable[[int], Any] | None

log = logging.getLogger("mrv_service.run")


class ChunkPlan:
    """The chunks of a project's plots (consecutive in plot-id order) and the inputs of each: its
    plots and their activity records (left in their part files when the run wrote them by chunk,
    :attr:`ProjectInputs.plot_parts`), soil layers and reviews; the weather whole (a station
    serves plots of many chunks). The soil layers and reviews of each chunk are found in one pass
    over the plots, one chunk at a time."""

    def __init__(self, inputs: ProjectInputs, size: int):
        self.inputs = inputs
        self.parts = chunk_slices(inputs.n_plots, size)
        for name, written in (("plots", inputs.plot_parts), ("activity records", inputs.activity_parts)):
            if written is not None and [(p.start, p.stop) for p in written.slices] != [
                (p.start, p.stop) for p in self.parts
            ]:
                raise ValueError(f"the {name} were written by other chunks than the run's")
        tables = {"soil_layers": inputs.soil_layers, "reviews": inputs.reviews}
        if inputs.activity_parts is None:
            tables["activities"] = inputs.activities
        self._codes = {name: np.full(len(df), -1, dtype=np.int64) for name, df in tables.items()}
        for i, ids in enumerate(self.chunk_ids() if any(len(df) for df in tables.values()) else ()):
            for name, df in tables.items():
                if len(df):
                    self._codes[name][df["plot_id"].astype(str).isin(ids).to_numpy()] = i

    def chunk_ids(self) -> Iterator[list[str]]:
        """Each chunk's plot ids, one chunk at a time."""
        if self.inputs.plot_parts is not None:
            for i in range(len(self.parts)):
                yield self.inputs.plot_parts.ids(i)
            return
        ids = self.inputs.plots["plot_id"].astype(str).to_numpy()
        for part in self.parts:
            yield list(ids[part])

    def __len__(self) -> int:
        return len(self.parts)

    def size(self, i: int) -> int:
        return self.parts[i].stop - self.parts[i].start

    def ids(self, i: int) -> list[str]:
        """Chunk ``i``'s plot ids."""
        if self.inputs.plot_parts is not None:
            return self.inputs.plot_parts.ids(i)
        return self.inputs.plots["plot_id"].astype(str).iloc[self.parts[i]].tolist()

    def inputs_of(self, i: int) -> ProjectInputs:
        """The inputs of chunk ``i``; its plots and activity records, when they were written by
        chunk, are left in their part files for the task to read (:meth:`ProjectInputs.with_tables`)."""
        tables = {name: getattr(self.inputs, name)[codes == i] for name, codes in self._codes.items()}
        acts, plots = self.inputs.activity_parts, self.inputs.plot_parts
        if acts is not None:
            tables["activities"] = None
        return dataclasses.replace(
            self.inputs,
            plots=self.inputs.plots.iloc[self.parts[i]] if plots is None else None,
            plot_parts=None if plots is None else plots.only(i),
            uploads=[],
            store_summary={},
            activity_parts=None if acts is None else acts.only(i),
            **tables,
        )


def _concat_csv(parts: list[Path], out: Path) -> None:
    """Concatenate CSV files with the same header, keeping the first header."""
    with out.open("wb") as dst:
        for i, part in enumerate(parts):
            with part.open("rb") as src:
                header = src.readline()
                if i == 0:
                    dst.write(header)
                shutil.copyfileobj(src, dst)


def run_verification(
    inputs: ProjectInputs,
    features: Path,
    detectors: DetectorSet,
    work: Path,
    out: Path,
    pool: ChunkPool,
    chunk_plots: int,
    progress: Progress = None,
) -> dict[str, Any]:
    """The verification stage by chunk: writes ``flags.csv`` and ``practice_verdicts.csv`` into
    ``out`` (chunk files stay in ``work`` for the models stage); returns the stage's summary."""
    plan = ChunkPlan(inputs, chunk_plots)
    files = [ChunkFiles(work / f"{i:05d}") for i in range(len(plan))]

    if not all(f.features.is_file() for f in files):  # carried over: this run's imagery wrote them
        _split_features(features, plan, files)

    def task(i: int) -> VerificationTask:
        return VerificationTask(files[i], plan.inputs_of(i), detectors)

    counts = pool.map(verification_task, task, len(plan), name="verification", done=_advance(progress, plan))
    _concat_csv([f.flags for f in files], out / "flags.csv")
    _concat_csv([f.verdicts for f in files], out / "practice_verdicts.csv")
    return verification_summary(counts, detectors)


@dataclasses.dataclass(frozen=True)
class ModelsRun:
    """What :func:`run_models` gives the run: the summary sections and the warnings."""

    summary: dict[str, Any]
    """``rothc``, ``by_practice``, ``verified_credit``, ``ipcc_tier1``, ``weather``, ``soil``."""
    accounting: dict[str, Any]
    """The ``accounting`` section."""
    warnings: tuple[str, ...]


def run_models(
    inputs: ProjectInputs,
    work: Path,
    out: Path,
    pool: ChunkPool,
    chunk_plots: int,
    *,
    seed: int,
    verdicts: Path | None,
    claims: pd.DataFrame,
    application_date: dt.date,
    progress: Progress = None,
) -> ModelsRun:
    """The models stage and its accounting by chunk: writes ``plot_results.csv``, ``farmers.csv``
    and ``plot_trajectories.nc`` into ``out``.

    ``verdicts``: the verification's ``practice_verdicts.csv`` (None: not run); when the chunk
    files of this run's verification are not in ``work`` (carried over), it is split by chunk.
    """
    t0 = time.perf_counter()
    s = inputs.project.settings
    plan = ChunkPlan(inputs, chunk_plots)
    files = [ChunkFiles(work / f"{i:05d}") for i in range(len(plan))]
    if verdicts is not None and not all(f.verdicts.is_file() for f in files):
        _split_verdicts(plan, files, verdicts)
    soc_mean = sampled_mean_stock(inputs.soil_layers, float(s["model.depth_cm"]))
    zone = _climate_zone(inputs)
    refused = set(claims.loc[claims["refused"], "plot_id"].astype(str)) if len(claims) else set()

    def task(i: int) -> ModelsTask:
        sub = plan.inputs_of(i)
        return ModelsTask(
            files=files[i],
            inputs=sub,
            seed=seed,
            verdicts=files[i].verdicts if verdicts is not None else None,
            soc_project_mean=soc_mean,
            refused=sorted(set(plan.ids(i)) & refused) if refused else [],
            climate_zone=zone,
        )

    results = pool.map(models_task, task, len(plan), name="models", done=_advance(progress, plan))
    summary, warnings_ = models_summary(
        inputs, combine([r[0] for r in results]), seed=seed, verification_used=verdicts is not None
    )
    acc, acc_summary = accounting_project(
        inputs,
        [r[1] for r in results],
        claims,
        application_date=application_date,
        crediting_month=int(s["model.crediting_month"]),
        climate_zone=zone,
    )
    t1 = time.perf_counter()
    # the buffer's shares need the sum of the gains over all plots: a first pass for it
    gains = pool.map(gain_task, lambda i: SharesTask(files[i], acc), len(plan), name="gains")
    total_gain = np.sum(gains, axis=0, dtype=np.int64) if gains else np.zeros(len(acc.years), np.int64)
    pool.map(shares_task, lambda i: SharesTask(files[i], acc, total_gain), len(plan), name="shares")
    t2 = time.perf_counter()
    _concat_csv([f.results for f in files], out / "plot_results.csv")
    share = s.get("accounting.farmer_share")
    acc_summary["farmers"] = merge_farmer_sums(
        [f.farmers for f in files], out / "farmers.csv", None if share is None else float(share)
    )
    with xr.open_mfdataset(
        [f.trajectories for f in files],
        combine="nested",
        concat_dim="plot",
        data_vars="minimal",
        coords="minimal",
    ) as traj:
        traj.to_netcdf(out / "plot_trajectories.nc")
    log.info(
        "models: %d chunks run in %.1f s, the plots' shares of the deduction and buffer in %.1f s, "
        "plot_results.csv, farmers.csv and plot_trajectories.nc written in %.1f s",
        len(plan),
        t1 - t0,
        t2 - t1,
        time.perf_counter() - t2,
    )
    return ModelsRun(summary, acc_summary, tuple(warnings_))


def _advance(progress: Progress, plan: ChunkPlan) -> Callable[[int], Any] | None:
    if progress is None:
        return None
    return lambda i: progress(plan.size(i))


def _climate_zone(inputs: ProjectInputs) -> str:
    """The IPCC climate zone of the stations the plots use (one name, or ``{station: zone}`` as
    text when they differ): it chooses the wet or dry emission factors."""
    stations = used_stations(inputs)
    months = inputs.weather_months
    zones = {sid: climate_zone_of(monthly_forcing(months[months["station_id"] == sid])) for sid in stations}
    return (
        sorted(set(zones.values()))[0] if len(set(zones.values())) == 1 else str(dict(sorted(zones.items())))
    )


def _split_verdicts(plan: ChunkPlan, files: list[ChunkFiles], verdicts: Path) -> None:
    """Split a carried-over ``practice_verdicts.csv`` into the chunks' files (read in blocks, the
    chunks' plot ids one chunk at a time)."""
    for f in files:
        f.directory.mkdir(parents=True, exist_ok=True)
    header = verdicts.open(encoding="utf-8").readline()
    for f in files:
        f.verdicts.write_text(header, encoding="utf-8")
    for block in pd.read_csv(verdicts, dtype=str, keep_default_na=False, chunksize=200_000):
        for i, ids in enumerate(plan.chunk_ids()):
            rows = block[block["plot_id"].isin(ids)]
            if len(rows):
                rows.to_csv(files[i].verdicts, mode="a", header=False, index=False)


def _split_features(features: Path, plan: ChunkPlan, files: list[ChunkFiles]) -> None:
    """Write each chunk's plots of ``plot_features.nc`` to its own file, opening the whole file
    once (opening it decodes whole variables: some seconds at 100,000 plots, for every task
    that opened it)."""
    with xr.open_dataset(features) as ds:
        plots = ds["plot"].values.astype(str)
        for f, part, ids in zip(files, plan.parts, plan.chunk_ids(), strict=True):
            in_order = len(plots) == plan.inputs.n_plots and bool((plots[part] == ids).all())
            sub = ds.isel(plot=part) if in_order else ds.sel(plot=ids)
            f.directory.mkdir(parents=True, exist_ok=True)
            sub.load().to_netcdf(f.features)
