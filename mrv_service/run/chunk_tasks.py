"""The tasks of a run by plot chunk: what one Dask worker (or the run's process) does for a chunk.

Each task takes a picklable description of its chunk, computes the chunk's plots with the stage
functions (:func:`~mrv_service.run.verification_stage.verification_chunk`,
:func:`~mrv_service.run.models_stage.models_chunk`,
:func:`~mrv_service.run.accounting_stage.accounting_chunk`), writes the per-plot results into the
chunk's directory (atomic renames: a task run twice after a worker died writes the same files)
and returns only the chunk's sums and counts, which do not grow with the number of plots.
The accounting's per-plot shares need the project's deduction and buffer, known once every
chunk's models are done: two more tasks per chunk (:func:`gain_task`, :func:`shares_task`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from methodology.accounting import ProjectAccounting
from mrv_service.run.accounting_stage import AccountingChunk, accounting_chunk, accounting_plots, gain_sum
from mrv_service.run.cluster import atomic_write
from mrv_service.run.farmer_sums import write_farmer_sums
from mrv_service.run.inputs import ProjectInputs
from mrv_service.run.models_partials import ModelsPartials
from mrv_service.run.models_stage import models_chunk
from mrv_service.run.trajectories import plot_trajectories
from mrv_service.run.verification_stage import DetectorSet, VerificationCounts, verification_chunk

__all__ = [
    "ChunkFiles",
    "ModelsTask",
    "SharesTask",
    "VerificationTask",
    "gain_task",
    "models_task",
    "shares_task",
    "verification_task",
]


@dataclasses.dataclass(frozen=True)
class ChunkFiles:
    """The files of one chunk in the run's work directory."""

    directory: Path

    @property
    def features(self) -> Path:
        """The chunk's plots of ``plot_features.nc``."""
        return self.directory / "plot_features.nc"

    @property
    def flags(self) -> Path:
        return self.directory / "flags.csv"

    @property
    def verdicts(self) -> Path:
        return self.directory / "practice_verdicts.csv"

    @property
    def models(self) -> Path:
        """The models' per-plot rows (pickled DataFrame: exact floats for the accounting pass)."""
        return self.directory / "models.pkl"

    @property
    def accounting(self) -> Path:
        return self.directory / "accounting.nc"

    @property
    def trajectories(self) -> Path:
        return self.directory / "plot_trajectories.nc"

    @property
    def results(self) -> Path:
        return self.directory / "plot_results.csv"

    @property
    def farmers(self) -> Path:
        """The chunk's sums per farmer (:mod:`mrv_service.run.farmer_sums`)."""
        return self.directory / "farmer_sums.csv"


@dataclasses.dataclass(frozen=True)
class VerificationTask:
    files: ChunkFiles
    inputs: ProjectInputs
    """The chunk's plots and their records."""
    detectors: DetectorSet


def verification_task(task: VerificationTask) -> VerificationCounts:
    """Flags and verdicts of the chunk's plot-seasons, written as CSV; returns the counts."""
    inputs = task.inputs.with_tables()
    ids = inputs.plots["plot_id"].astype(str).tolist()
    with xr.open_dataset(task.files.features) as ds:
        features = ds.sel(plot=ids).load()
    flags, verdicts, counts = verification_chunk(inputs, features, task.detectors)
    atomic_write(task.files.flags, lambda p: flags.to_csv(p, index=False))
    atomic_write(task.files.verdicts, lambda p: verdicts.to_csv(p, index=False))
    return counts


@dataclasses.dataclass(frozen=True)
class ModelsTask:
    files: ChunkFiles
    inputs: ProjectInputs
    seed: int
    verdicts: Path | None
    """The chunk's verdicts (None: the verification did not run)."""
    soc_project_mean: float
    """[t C ha-1] for plots without soil samples (:func:`models.soil.sampled_mean_stock`)."""
    refused: list[str]
    """The chunk's plots refused for overlapping an earlier project."""
    climate_zone: str


def models_task(task: ModelsTask) -> tuple[ModelsPartials, AccountingChunk]:
    """Scenarios, Monte Carlo, trajectories and the plots' accounting before the project's
    deductions; writes the per-plot files, returns the sums (the accounting's plots left out)."""
    verdicts = None
    if task.verdicts is not None:
        verdicts = pd.read_csv(task.verdicts, dtype={"plot_id": str}, float_precision="round_trip")
    inputs = task.inputs.with_tables()
    chunk = models_chunk(inputs, seed=task.seed, verdicts=verdicts, soc_project_mean=task.soc_project_mean)
    ids = chunk.per_plot["plot_id"].astype(str).tolist()
    crediting_month = int(inputs.project.settings["model.crediting_month"])
    traj = plot_trajectories(chunk.results, chunk.vintages, ids, crediting_month)
    acc = accounting_chunk(inputs, chunk.vintages, task.refused, climate_zone=task.climate_zone)
    atomic_write(task.files.models, lambda p: chunk.per_plot.to_pickle(p, compression=None))
    atomic_write(task.files.accounting, lambda p: acc.plots.to_netcdf(p))
    atomic_write(task.files.trajectories, lambda p: traj.to_netcdf(p))
    return chunk.partials, dataclasses.replace(acc, plots=acc.plots.drop_dims("plot"))


@dataclasses.dataclass(frozen=True)
class SharesTask:
    files: ChunkFiles
    acc: ProjectAccounting
    """The project's accounting (per vintage: a few numbers)."""
    total_gain: np.ndarray | None = None
    """Per vintage: the gains of every plot summed [quanta of t CO2e] (the buffer's shares);
    None for :func:`gain_task`, which sums them."""


def gain_task(task: SharesTask) -> np.ndarray:
    """The chunk's part of the buffer's denominator (:func:`~mrv_service.run.accounting_stage.gain_sum`)."""
    with xr.open_dataset(task.files.accounting) as ds:
        return gain_sum(ds.load(), task.acc)


def shares_task(task: SharesTask) -> None:
    """The chunk's rows of ``plot_results.csv`` (the models' columns and the plots' shares of the
    deduction and buffer) and its sums per farmer, written into the chunk's directory."""
    if task.total_gain is None:
        raise ValueError("shares_task needs the project's total gain (gain_task's sums)")
    with xr.open_dataset(task.files.accounting) as ds:
        table, farmers = accounting_plots(ds.load(), task.acc, task.total_gain)
    rows = pd.read_pickle(task.files.models, compression=None).merge(table, on="plot_id", how="left")
    atomic_write(task.files.results, lambda p: rows.to_csv(p, index=False))
    atomic_write(task.files.farmers, lambda p: write_farmer_sums(farmers, p))
