"""``mrv run PROJECT``: every stage of a project's job, its outputs published all at once.

:func:`run_project` registers the run (refusing a second concurrent run of the project), reads
the project's inputs from the store in one snapshot (the activity records streamed into part
files by plot chunk, :mod:`mrv_service.run.activity_parts`), runs the selected stages
(:mod:`mrv_service.run.stages`), carries over the outputs of the stages not selected from the last
published run (after checking that their inputs have not changed since), and writes into a
partial directory that replaces the output directory only when everything is written
(:class:`~mrv_service.run.outputs.RunDirectory`):

==========================  ===================================================================
``summary.json``            the figures of every stage, the run and the project
``plot_results.csv``        one row per plot: initial SOC, end-of-run SOC of both scenarios,
                            the change [t C ha-1] and [t CO2e], Tier 1 levels and change
``plot_features.nc``        per-plot Sentinel-2 time series, Dataset(plot, time)
``run_manifest.json``       inputs (file and row hashes), code version, parameters, seed, times
``run.log``                 what the run did and every warning it met
``pdd.*``                   the project design document: JSON (every number with its source),
                            DOCX, HTML and ``figures/`` (:mod:`mrv_service.documents`)
``reduction_report.*``      the emission-reduction accounting report for the project years
==========================  ===================================================================
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import shutil
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from methodology.definition import definition_digest
from models.errors import MRVError
from models.uncertainty import DEFAULT_SEED
from mrv_service.config import Settings
from mrv_service.run.accounting_stage import accounting_lines
from mrv_service.run.activity_parts import chunk_slices
from mrv_service.run.chunks import run_models, run_verification
from mrv_service.run.cluster import ChunkPool, run_cluster
from mrv_service.run.documents_task import run_documents
from mrv_service.run.imagery_chunks import run_imagery
from mrv_service.run.inputs import ProjectInputs, load_project_inputs
from mrv_service.run.manifest import code_version, imagery_inputs, now_utc, output_hashes
from mrv_service.run.outputs import RunDirectory
from mrv_service.run.stages import RunNotReadyError, check_models_ready
from mrv_service.run.verification_stage import verification_lines
from mrv_service.store.audit import append_for_project
from mrv_service.store.claims import overlapping_claims
from mrv_service.store.db import begin_write, init_db, make_engine, session_scope
from mrv_service.store.plot_results import replace_plot_results
from mrv_service.store.projects import get_project
from mrv_service.store.runs import adopt_run, finish_run, heartbeat, set_stage, start_run
from mrv_service.store.verification import replace_run_flags
from mrv_service.verify.files import load_detector_set

__all__ = ["STAGES", "StageSpec", "run_project", "RunNotReadyError", "RunInterruptedError", "default_out_dir"]

log = logging.getLogger("mrv_service.run")

Echo = Callable[[str], Any]


class RunInterruptedError(MRVError, RuntimeError):
    """The run was asked to stop (Ctrl-C, ``kill``) and stopped at a safe point; nothing was published."""


@dataclasses.dataclass(frozen=True)
class StageSpec:
    """A stage: the store tables and settings its result depends on, and the files it writes."""

    name: str
    tables: tuple[str, ...]
    """Keys of :attr:`ProjectInputs.digests` its inputs come from."""
    settings: tuple[str, ...]
    """Prefixes of the project settings it reads."""
    files: tuple[str, ...]
    """Output files it writes."""
    uses_seed: bool = False
    upstream: str | None = None
    """The stage whose results it reads (its inputs are this stage's inputs too)."""


STAGES: tuple[StageSpec, ...] = (
    StageSpec("imagery", ("plots",), ("imagery.",), ("plot_features.nc",)),
    StageSpec(
        "verification",
        ("plots", "activity_records"),
        ("verification.",),
        ("flags.csv", "practice_verdicts.csv"),
        upstream="imagery",
    ),
    StageSpec(
        "models",
        ("plots", "activity_records", "soil_samples", "weather", "season_reviews"),
        ("model.", "soil.", "weather.", "verification.", "accounting."),
        ("plot_results.csv", "farmers.csv", "plot_trajectories.nc"),
        uses_seed=True,
        upstream="verification",
    ),
)
"""The stages in the order they run (accounting and documents come later)."""

STAGE_NAMES: tuple[str, ...] = tuple(s.name for s in STAGES)
ALWAYS = ("summary.json", "run_manifest.json", "run.log")


def default_out_dir(settings: Settings, project_name: str) -> Path:
    """``MRV_OUTPUT_DIR/PROJECT`` (``out/PROJECT`` by default)."""
    return settings.output_dir / project_name


def _stage_inputs(
    spec: StageSpec, inputs: ProjectInputs, seed: int, env: Settings, detectors: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What a stage's result depends on: table digests, its settings, the seed, its upstream
    stage's inputs and, for verification, the training hashes of the active detectors."""
    deps: dict[str, Any] = {t: inputs.digests[t]["sha256"] for t in spec.tables}
    if spec.upstream is not None:
        up = next(s for s in STAGES if s.name == spec.upstream)
        deps["upstream"] = _stage_inputs(up, inputs, seed, env, detectors)
    if spec.name == "verification":
        deps["detectors"] = dict(detectors or {})
    if spec.name == "models":
        deps["methodology"] = definition_digest(inputs.project.methodology_id)
    deps["settings"] = {
        k: v
        for k, v in sorted(inputs.project.settings.items())
        if any(k.startswith(p) for p in spec.settings)
    }
    if spec.name == "imagery" and not inputs.project.settings["imagery.source"]:
        deps["settings"]["imagery.source"] = env.stac_url
    deps["periods"] = {
        "baseline_years": list(inputs.project.baseline_years),
        "project_years": list(inputs.project.project_years),
        "crediting_start": inputs.project.crediting_start.isoformat(),
    }
    if spec.uses_seed:
        deps["seed"] = seed
    return json.loads(json.dumps(deps, default=str))


def _changed(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    keys = sorted(set(old) | set(new))
    out = []
    for k in keys:
        if old.get(k) != new.get(k):
            if isinstance(old.get(k), dict) and isinstance(new.get(k), dict):
                out += [f"{k}.{s}" for s in _changed(old[k], new[k])]
            else:
                out.append(k)
    return out


class _Forward(logging.Handler):
    """Passes records on to the parent loggers' handlers (the console the CLI configured)."""

    def emit(self, record: logging.LogRecord) -> None:
        parent = log.parent
        while parent is not None:
            for h in parent.handlers:
                if record.levelno >= h.level:
                    h.handle(record)
            if not parent.propagate:
                break
            parent = parent.parent


@contextlib.contextmanager
def _run_log(path: Path) -> Iterator[logging.Handler]:
    """Write every record of the run (INFO and up) to ``path``; the console keeps the level the
    CLI (or the application) configured, so it shows only what it showed before."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S"))
    handler.setLevel(logging.INFO)
    forward = _Forward(level=log.getEffectiveLevel())
    old_level, old_propagate = log.level, log.propagate
    documents = logging.getLogger("mrv_service.documents")  # its warnings belong to the run too
    documents.addHandler(handler)
    log.addHandler(handler)
    log.addHandler(forward)
    log.propagate = False
    log.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        documents.removeHandler(handler)
        log.removeHandler(handler)
        log.removeHandler(forward)
        log.setLevel(old_level)
        log.propagate = old_propagate
        handler.close()


@contextlib.contextmanager
def _capture(stage: str, sink: list[dict[str, Any]]) -> Iterator[None]:
    """Record the warnings a stage raises into the run log and ``sink`` (they do not stop the run)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    seen: dict[str, dict[str, Any]] = {}
    for w in caught:
        text = f"{w.category.__name__}: {w.message}"
        if text in seen:
            seen[text]["count"] += 1
            continue
        seen[text] = {"stage": stage, "category": w.category.__name__, "message": str(w.message), "count": 1}
        log.warning("%s: %s", stage, text)
    sink.extend(seen.values())


def run_project(
    env: Settings,
    project_name: str,
    *,
    out_dir: Path | None = None,
    stages: Sequence[str] | None = None,
    seed: int | None = None,
    progress: Callable[[str], Any] | None = None,
    echo: Echo = lambda _msg: None,
    stop: threading.Event | None = None,
    run_id: int | None = None,
) -> dict[str, Any]:
    """Run the selected stages of a project and publish its outputs.

    Parameters
    ----------
    env : Settings
        Service settings (database, default imagery source, Dask scheduler, output root).
    project_name : str
        A project in the store.
    out_dir : pathlib.Path, optional
        Output directory (default ``MRV_OUTPUT_DIR/PROJECT``).
    stages : sequence of str, optional
        Stages to compute (default: all of :data:`STAGES`); the others are carried over from the
        last published run when their inputs are unchanged.
    seed : int, optional
        Seed of the Monte Carlo (default :data:`models.uncertainty.DEFAULT_SEED`).
    progress : callable, optional
        ``progress(stage)`` returns a callable advanced by one per unit of work (e.g. a tqdm bar's
        ``update``), or None.
    echo : callable
        Receives one line per stage (the CLI prints them).
    stop : threading.Event, optional
        Set it (e.g. from a signal handler) to stop the run at the next safe point: between
        stages, after each scene of the imagery and each station group of the models, and before
        publishing. Stopping there, rather than raising inside a database or library call,
        guarantees that the partial output is removed and the run recorded as failed.

    Returns
    -------
    dict
        The summary written to ``summary.json``.

    Raises
    ------
    RunNotReadyError
        When the project lacks something a stage needs (nothing is written).
    mrv_service.store.runs.RunInProgressError
        When another run of the project is in progress.
    RunInterruptedError
        When ``stop`` was set (nothing is published).

    ``run_id``: a run already registered (running) by :func:`~mrv_service.store.runs.start_run`
    elsewhere (the API server, which answers with its id before the run starts on a worker); this
    process takes it over instead of registering a new one.
    """
    selected = list(STAGE_NAMES if not stages else dict.fromkeys(stages))
    unknown = [s for s in selected if s not in STAGE_NAMES]
    if unknown:
        raise RunNotReadyError(f"unknown stage(s) {unknown}; choose from {', '.join(STAGE_NAMES)}")
    seed = DEFAULT_SEED if seed is None else int(seed)
    out = RunDirectory(out_dir or default_out_dir(env, project_name))
    engine = make_engine(env.database_url)
    try:
        init_db(engine)
        with session_scope(engine) as session:
            begin_write(session)
            project = get_project(session, project_name)
            if run_id is None:
                run = start_run(session, project, stages=selected, seed=seed, out_dir=str(out.final))
            else:
                run = adopt_run(session, project, run_id)
        try:
            with heartbeat(engine, run.id):
                summary = _execute(env, engine, run, project_name, out, selected, seed, progress, echo, stop)
        except BaseException as exc:
            out.discard()
            interrupted = isinstance(exc, KeyboardInterrupt | SystemExit | RunInterruptedError)
            reason = "interrupted" if interrupted else f"{type(exc).__name__}: {exc}"
            with session_scope(engine) as session:
                finish_run(session, run, ok=False, timings={}, error=reason)
            raise
        return summary
    finally:
        engine.dispose()


def _execute(env, engine, run, project_name, out, selected, seed, progress, echo, stop) -> dict[str, Any]:
    def say(line: str) -> None:
        echo(line)
        log.info("%s", line)

    def checkpoint() -> None:
        if stop is not None and stop.is_set():
            raise RunInterruptedError(
                f"run {run.id} of project {project_name!r} stopped on request; nothing was published"
            )

    def advance(stage: str) -> Callable[[int], Any]:
        """Progress callback of a stage: advances the caller's bar, and is a safe point to stop."""
        bar = progress(stage) if progress else None

        def step(n: int = 1) -> None:
            checkpoint()
            if bar is not None:
                bar(n)

        return step

    t_start = time.perf_counter()
    started = now_utc()
    timings: dict[str, float] = {}
    found: list[dict[str, Any]] = []
    tmp = out.open()
    with _run_log(tmp / "run.log"):
        log.info(
            "run %s of project %r: stages %s, seed %s, output %s",
            run.id,
            project_name,
            selected,
            seed,
            out.final,
        )
        t = time.perf_counter()
        work = tmp / ".chunks"  # the chunks' files, removed before publishing
        with session_scope(engine) as session:
            set_stage(session, run, "inputs")
            inputs = load_project_inputs(session, project_name, by_chunk=(work, env.chunk_plots))
            detectors = load_detector_set(session, project_name, env.data_dir)
        detector_hashes = {p: r["training_sha256"] for p, r in detectors.records.items()}
        timings["inputs"] = time.perf_counter() - t
        log.info(
            "inputs: %d plots, %d activity records, %d soil layers, %d weather months",
            inputs.n_plots,
            inputs.digests["activity_records"]["rows"],
            len(inputs.soil_layers),
            len(inputs.weather_months),
        )
        checkpoint()
        if inputs.n_plots == 0:
            raise RunNotReadyError(
                f"project {project_name!r} has no plots; upload them with `mrv ingest plots {project_name} FILE`"
            )
        if "models" in selected:
            check_models_ready(inputs)  # refuse to start before any work when the weather has gaps

        prev_summary = out.previous_json("summary.json") or {}
        prev_manifest = out.previous_json("run_manifest.json") or {}
        summary: dict[str, Any] = {
            "project": inputs.project.name,
            "project_zh": inputs.project.name_zh,
            "methodology_id": inputs.project.methodology_id,
            "store": inputs.store_summary,
        }
        stage_records: dict[str, Any] = {}
        manifest_imagery = prev_manifest.get("inputs", {}).get("imagery")
        with run_cluster(env) as client:
            pool = ChunkPool(client, label=f"run{run.id}")
            if client is not None:
                log.info("Dask: %d workers (%s)", pool.workers, env.dask_scheduler or "local cluster")
            for spec in STAGES:
                deps = _stage_inputs(spec, inputs, seed, env, detector_hashes)
                if spec.name not in selected:
                    prev = prev_manifest.get("stages", {}).get(spec.name)
                    if prev is None or not all(out.previous_file(f) for f in spec.files):
                        log.info("stage %s: not run and no earlier result to carry over", spec.name)
                        continue
                    changed = _changed(prev.get("inputs", {}), deps)
                    if changed:
                        raise RunNotReadyError(
                            f"the {spec.name} results of the last run (run {prev_manifest.get('run_id')}) were computed "
                            f"from other inputs (changed since: {', '.join(changed)}); run "
                            f"`mrv run {project_name} --stage {spec.name}` too, or all stages"
                        )
                    for f in spec.files:
                        out.carry(f)
                    if spec.name in prev_summary:
                        summary[spec.name] = prev_summary[spec.name]
                    for key in _SUMMARY_KEYS.get(spec.name, ()):
                        if key in prev_summary:
                            summary[key] = prev_summary[key]
                    stage_records[spec.name] = {**prev, "carried_over_from_run": prev_manifest.get("run_id")}
                    say(
                        f"{spec.name:<11} carried over from run {prev_manifest.get('run_id')} (inputs unchanged)"
                    )
                    continue
                checkpoint()
                with session_scope(engine) as session:
                    set_stage(session, run, spec.name)
                t = time.perf_counter()
                log.info("stage %s: started", spec.name)
                with _capture(spec.name, found):
                    if spec.name == "imagery":
                        imagery = run_imagery(
                            inputs,
                            work,
                            tmp,
                            pool,
                            chunk_slices(inputs.n_plots, env.chunk_plots),
                            default_source=env.stac_url,
                            headers=env.stac_headers(),
                            progress=advance("imagery"),
                        )
                        manifest_imagery = imagery_inputs(imagery.attrs)
                        summary["imagery"] = imagery.summary
                        s = imagery.summary
                        say(
                            f"imagery     {s['scenes']} scenes, {s['usable_plot_dates']} of {s['plot_dates']} plot-dates "
                            f"usable (cloud-masked), {s['plots_with_usable_dates']} of {inputs.n_plots} plots with usable dates"
                        )
                    elif spec.name == "verification":
                        if not (tmp / "plot_features.nc").is_file():
                            raise RunNotReadyError(
                                f"the verification stage needs the imagery features; run `mrv run {project_name} "
                                "--stage imagery` too, or all stages"
                            )
                        summary["verification"] = run_verification(
                            inputs,
                            tmp / "plot_features.nc",
                            detectors,
                            work,
                            tmp,
                            pool,
                            env.chunk_plots,
                            progress=advance("verification"),
                        )
                        for line in verification_lines(summary["verification"]):
                            say(line)
                    elif spec.name == "models":
                        verdicts_file = tmp / "practice_verdicts.csv"
                        with session_scope(engine) as session:
                            claims = overlapping_claims(session, get_project(session, project_name))
                        # a date setting is stored as its ISO text (project_settings)
                        set_date = inputs.project.settings.get("accounting.application_date")
                        applied = dt.date.fromisoformat(set_date) if set_date else dt.date.today()
                        outcome = run_models(
                            inputs,
                            work,
                            tmp,
                            pool,
                            env.chunk_plots,
                            seed=seed,
                            verdicts=verdicts_file if verdicts_file.is_file() else None,
                            claims=claims,
                            application_date=applied,
                            progress=advance("models"),
                        )
                        summary.update(outcome.summary)
                        summary["accounting"] = outcome.accounting
                        rc, t1 = outcome.summary["rothc"], outcome.summary["ipcc_tier1"]
                        mc, soil_total = rc["monte_carlo"], rc["soil"]["total_t_co2e"]
                        say(
                            f"RothC       {rc['run']}: mean initial SOC {rc['mean_initial_soc_t_c_ha']:.1f} t C/ha; "
                            f"soil SOC project - baseline {soil_total['mean']:.0f} t CO2e, 90 % interval "
                            f"{soil_total['p5']:.0f} to {soil_total['p95']:.0f} ({mc['draws']} draws, seed {mc['seed']}; "
                            "before deductions)"
                        )
                        sw = rc["switching_plots"]
                        if "rate_t_c_ha_yr" in sw:
                            r = sw["rate_t_c_ha_yr"]
                            say(
                                f"            {sw['plots']} plots changed practice ({sw['hectares']:.0f} ha): "
                                f"{r['mean']:.2f} t C/ha/yr (90 % interval {r['p5']:.2f} to {r['p95']:.2f}); "
                                f"surface litter {rc['litter']['total_t_c']:.0f} t C not credited"
                            )
                        for row in outcome.summary["by_practice"]:
                            say(
                                f"            {row['baseline_practice']} -> {row['project_practice']}: {row['plots']} plots, "
                                f"RothC {row['rothc_rate_t_c_ha_yr']['mean']:.2f} t C/ha/yr, "
                                f"IPCC Tier 1 {row['tier1_rate_t_c_ha_yr']:.2f} t C/ha/yr"
                            )
                        say(
                            f"IPCC Tier 1 {t1['climate_zone']}, {t1['soil_class']}: {t1['annual_delta_soc_t_co2e']:.1f} t CO2e/yr "
                            f"({t1['plots_no_till']} plots no-till every project year)"
                        )
                        for w in outcome.warnings:
                            say(f"WARNING     {w}")
                        for line in accounting_lines(outcome.accounting):
                            say(line)
                timings[spec.name] = time.perf_counter() - t
                stage_records[spec.name] = {
                    "inputs": deps,
                    "run_id": run.id,
                    "seconds": round(timings[spec.name], 3),
                }
                log.info("stage %s: done in %.2f s", spec.name, timings[spec.name])

            timings["total"] = time.perf_counter() - t_start
            files = [f for spec in STAGES for f in spec.files if (tmp / f).is_file()]
            summary["run"] = {
                "run_id": run.id,
                "stages_run": selected,
                "stages_carried_over": [s for s in stage_records if s not in selected],
                "seed": seed,
                "started_at": started,
                "finished_at": now_utc(),
                "timings_s": {k: round(v, 2) for k, v in timings.items()},
                "warnings": found,
            }
            # the CCER documents (pdd.*, reduction_report.*) once the accounting exists (run or carried over)
            documents: list[str] = []
            if "accounting" in summary:
                t = time.perf_counter()
                documents = run_documents(pool, tmp, inputs, summary, env.id_salt)
                say(
                    f"documents   {', '.join(d for d in documents if '/' not in d) or 'none written (see run.log)'}"
                )
                summary["run"]["timings_s"]["documents"] = round(time.perf_counter() - t, 2)
        shutil.rmtree(work, ignore_errors=True)
        files += documents
        summary["outputs"] = ["summary.json", *files, "run_manifest.json", "run.log"]
        (tmp / "summary.json").write_text(
            json.dumps(summary, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
        )
        manifest = {
            "run_id": run.id,
            "project": inputs.project.name,
            "stages_run": selected,
            "seed": seed,
            "started_at": started,
            "finished_at": summary["run"]["finished_at"],
            "timings_s": summary["run"]["timings_s"],
            "code": code_version(),
            "parameters": {
                "settings": inputs.project.settings,
                "settings_set_by_owner": inputs.project.stored_settings,
                "periods": {
                    "baseline_years": list(inputs.project.baseline_years),
                    "project_years": list(inputs.project.project_years),
                    "crediting_period": [
                        inputs.project.crediting_start.isoformat(),
                        inputs.project.crediting_end.isoformat(),
                    ],
                },
            },
            "inputs": {
                "uploads": inputs.uploads,
                "store_rows": inputs.digests,
                "imagery": manifest_imagery,
            },
            "stages": stage_records,
            "outputs": output_hashes(tmp, ["summary.json", *files]),
        }
        (tmp / "run_manifest.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
        )
        log.info("run %s: complete in %.2f s", run.id, timings["total"])
    checkpoint()
    out.publish()
    flags_file = out.final / "flags.csv"
    if flags_file.is_file():
        with session_scope(engine) as session:
            replace_run_flags(session, run, _csv_blocks(flags_file))
    results_file = out.final / "plot_results.csv"
    if results_file.is_file():
        with session_scope(engine) as session:
            replace_plot_results(session, run, _csv_blocks(results_file))
    with session_scope(engine) as session:
        if documents:
            # one transaction: the documents issued and the run finished
            append_for_project(
                session,
                run.project_id,
                action="document_issued",
                actor="cli",
                payload={
                    "run_id": run.id,
                    "out_dir": str(out.final),
                    "documents": {d: manifest["outputs"].get(d) for d in documents if "/" not in d},
                },
            )
        finish_run(session, run, ok=True, timings=timings, summary=_short(summary))
    echo(f"written     {out.final} ({', '.join(summary['outputs'])})")
    return summary


PUBLISH_BLOCK = 100_000
"""Rows of ``flags.csv`` and ``plot_results.csv`` read at a time when a run's results are stored."""


def _csv_blocks(path: Path) -> Callable[[], Iterator[pd.DataFrame]]:
    """A CSV file in blocks of :data:`PUBLISH_BLOCK` rows, read from the start at each call: a
    run's million flags or its plots' results are never all in memory."""

    def blocks() -> Iterator[pd.DataFrame]:
        with pd.read_csv(path, dtype={"plot_id": str}, chunksize=PUBLISH_BLOCK) as reader:
            yield from reader

    return blocks


#: Summary sections each stage owns besides its own name.
_SUMMARY_KEYS: dict[str, tuple[str, ...]] = {
    "models": ("rothc", "ipcc_tier1", "weather", "soil", "verified_credit", "by_practice", "accounting")
}


def _short(summary: dict[str, Any]) -> dict[str, Any]:
    """The headline figures kept with the run row."""
    rc = summary.get("rothc", {})
    return {
        "total_delta_soc_t_co2e": rc.get("total_delta_soc_t_co2e"),
        "monte_carlo": rc.get("monte_carlo"),
        "usable_plot_dates": summary.get("imagery", {}).get("usable_plot_dates"),
        "credited_t_co2e": summary.get("accounting", {}).get("credited_t_co2e"),
    }
