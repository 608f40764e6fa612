"""``mrv sampling design PROJECT``: the soil sampling design of the SOC re-measurement.

Reads the project's plots, activity logs and soil samples as a run does
(:func:`mrv_service.run.inputs.load_project_inputs`), stratifies the plots by their logged project
practice (:func:`mrv_service.run.models_stage.practice_labels`) and their measured initial SOC
stock (:func:`models.soil.initial_soc_stock`, split at the median of the sampled plots; plots
without a sample are the class ``unmeasured``; a practice with fewer than 3 sampled plots in a
class is not split: ``all``), sizes the sample per stratum
(:func:`methodology.sampling.sample_size`: Neyman allocation with the finite-population correction,
Cochran 1977) and draws the points (:func:`methodology.sampling.sample_points`). Writes
``sampling_design.geojson`` (the points) and ``sampling_design.csv`` (the strata with N_h, S_h, n_h
and the formula's inputs). Errors end with a one-line message naming the fix (no traceback; ``-vv``
logs it).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

log = logging.getLogger(__name__)

__all__ = ["MIN_SAMPLES_FOR_SD", "SUPPORT_AREA_M2", "design_from_inputs", "design_project", "group"]

SUPPORT_AREA_M2 = 100.0
"""Area one sample stands for [m2]: a sampling site is a composite of cores within about a
10 m x 10 m cell (the 10 m Sentinel-2 grid the imagery stage reads), so a stratum holds
N_h = area / 100 m2 population units (a design convention; it only enters the finite-population
correction, which is small at these N_h)."""

MIN_SAMPLES_FOR_SD = 3
"""Fewest sampling sites in a stratum whose own mean and standard deviation are used; below it
the stratum gets the project mean of the samples and S_h = :data:`methodology.sampling.CV_ASSUMED`
x that mean. Also the fewest measured plots in each SOC class of a practice for the practice to be
split by SOC (else one stratum ``PRACTICE / SOC all``)."""

CSV_NAME = "sampling_design.csv"
GEOJSON_NAME = "sampling_design.geojson"


def _site_stocks(layers, depth_cm: float):
    """SOC stock 0-``depth_cm`` [t C ha-1] of each sampling site (a plot on one date) with its
    plot: :func:`models.soil.initial_soc_stock` applied with each site as its own "plot"."""
    import pandas as pd

    from models.soil import initial_soc_stock

    if layers.empty:
        return pd.DataFrame(columns=["site", "plot_id", "stock"])
    lay = layers.copy()
    lay["site"] = lay["plot_id"].astype(str) + "@" + lay["date"].astype(str)
    sites = lay.drop_duplicates("site")[["site", "plot_id"]].set_index("site")
    soc = initial_soc_stock(lay.assign(plot_id=lay["site"]), sites.index.tolist(), depth_cm)
    measured = soc[soc["source"] == "measured"]
    return pd.DataFrame(
        {
            "site": measured.index,
            "plot_id": sites.loc[measured.index, "plot_id"].astype(str).to_numpy(),
            "stock": measured["soc_initial"].to_numpy(float),
        }
    )


def design_project(
    settings,
    project_name: str,
    *,
    out_dir: Path | None = None,
    precision: float = 0.10,
    seed: int = 0,
    buffer_m: float = 10.0,
) -> dict[str, Any]:
    """Compute and write the sampling design of ``project_name``; returns a summary.

    Raises
    ------
    mrv_service.store.projects.ProjectNotFoundError
    models.errors.MRVError
        When the project has no plots or no soil sample covering the model depth.
    """
    from mrv_service.run.inputs import load_project_inputs
    from mrv_service.store.db import init_db, make_engine, session_scope

    engine = make_engine(settings.database_url)
    try:
        init_db(engine)
        with session_scope(engine) as session:
            inputs = load_project_inputs(session, project_name)
    finally:
        engine.dispose()
    r = design_from_inputs(inputs, precision=precision, seed=seed, buffer_m=buffer_m)
    out = Path(out_dir) if out_dir is not None else settings.output_dir / project_name / "sampling"
    out.mkdir(parents=True, exist_ok=True)
    csv_path, geojson_path = out / CSV_NAME, out / GEOJSON_NAME
    r["table"].reset_index().to_csv(csv_path, index=False)
    r["points_gdf"].to_file(geojson_path, driver="GeoJSON", engine="pyogrio")
    r["csv"], r["geojson"] = csv_path, geojson_path
    return r


def design_from_inputs(
    inputs, *, precision: float = 0.10, seed: int = 0, buffer_m: float = 10.0
) -> dict[str, Any]:
    """The sampling design of a project's inputs (:class:`mrv_service.run.inputs.ProjectInputs`),
    computed without writing anything: the summary :func:`design_project` returns, with the
    points as ``points_gdf`` (a GeoDataFrame) and without the file paths.

    Raises
    ------
    models.errors.MRVError
        When the project has no plots or no soil sample covering the model depth.
    """
    import numpy as np
    import pandas as pd

    from methodology.sampling import CV_ASSUMED, SamplingError, sample_points, sample_size, stratify
    from models.soil import initial_soc_stock
    from mrv_service.run.models_stage import practice_labels

    project = inputs.project
    project_name = project.name
    plots = inputs.plots
    if plots.empty:
        raise SamplingError(
            f"project {project_name!r} has no plots: upload them with `mrv ingest plots {project_name} FILE`"
        )
    ids = plots["plot_id"].astype(str).tolist()
    depth = float(project.settings["model.depth_cm"])
    years = list(project.project_years)
    practice = pd.concat([practice_labels(acts, chunk, years) for chunk, acts in inputs.activity_frames()])
    soc = initial_soc_stock(inputs.soil_layers, ids, depth)  # raises (names the fix) without a sample
    # plots without a sample of their own get the project mean there: no information to stratify by
    covariate = soc["soc_initial"].where(soc["source"] == "measured")
    labels, strata = stratify(
        plots, practice, covariate, n_covariate_classes=2, min_plots_per_class=MIN_SAMPLES_FOR_SD
    )

    sites = _site_stocks(inputs.soil_layers, depth)
    sites["stratum"] = labels.reindex(sites["plot_id"]).to_numpy()
    project_site_mean = float(sites["stock"].mean())
    rows = []
    for label, row in strata.iterrows():
        s = sites.loc[sites["stratum"] == label, "stock"]
        if len(s) >= MIN_SAMPLES_FOR_SD:
            mean_h, sd = float(s.mean()), float(s.std(ddof=1))
            mean_source, sd_source = f"mean of {len(s)} samples", f"sd of {len(s)} samples"
        else:
            mean_h, sd = project_site_mean, CV_ASSUMED * project_site_mean
            mean_source = f"project mean of {len(sites)} samples ({len(s)} in the stratum)"
            sd_source = f"CV {CV_ASSUMED:.0%} x mean: {len(s)} sample(s) < {MIN_SAMPLES_FOR_SD}"
        rows.append(
            {
                "stratum": label,
                "N_h": max(1, round(row["area_ha"] * 1e4 / SUPPORT_AREA_M2)),
                "soil_samples": len(s),
                "stratum_mean_t_c_ha": mean_h,
                "stratum_mean_source": mean_source,
                "S_h_t_c_ha": sd,
                "S_h_source": sd_source,
            }
        )
    per = pd.DataFrame(rows).set_index("stratum")
    W = per["N_h"] / per["N_h"].sum()
    mean = float((W * per["stratum_mean_t_c_ha"]).sum())  # area-weighted project mean [t C ha-1]
    size = sample_size(per["N_h"], per["S_h_t_c_ha"], mean, precision=precision, confidence=0.90)
    n_h = size.table["n_h"]
    points = sample_points(plots, n_h, labels, buffer_m=buffer_m, seed=seed)
    drawn = points.groupby("stratum").size().reindex(per.index, fill_value=0)

    table = pd.DataFrame(
        {
            "practice": strata["practice"],
            "soc_class": strata["covariate_class"],
            "soc_class_low_t_c_ha": strata["class_low"],
            "soc_class_high_t_c_ha": strata["class_high"],
            "plots": strata["plots"],
            "area_ha": strata["area_ha"].round(4),
            "N_h": per["N_h"],
            "W_h": size.table["W_h"],
            "soil_samples": per["soil_samples"],
            "stratum_mean_t_c_ha": per["stratum_mean_t_c_ha"],
            "stratum_mean_source": per["stratum_mean_source"],
            "S_h_t_c_ha": per["S_h_t_c_ha"],
            "S_h_source": per["S_h_source"],
            "n_h_exact": size.table["n_h_exact"],
            "n_h": n_h,
            "points_drawn": drawn,
            # the formula's inputs, the same on every row
            "support_area_m2": SUPPORT_AREA_M2,
            "N": size.N,
            "mean_t_c_ha": size.mean,
            "precision": size.precision,
            "confidence": size.confidence,
            "z": size.z,
            "E_t_c_ha": size.E,
            "V": size.V,
            "n": size.n,
            "n_total": size.n_total,
            "allocation": size.allocation,
            "formula": "n = (sum W_h S_h)^2 / (V + sum W_h S_h^2 / N), V = (E/z)^2, E = precision x mean; "
            "n_h = ceil(n N_h S_h / sum N_h S_h), at least 2, at most N_h (Cochran 1977 s. 5.5, 5.9)",
        },
        index=per.index,
    )
    short = {s: int(n_h[s] - drawn[s]) for s in per.index if drawn[s] < n_h[s]}
    return {
        "project": project_name,
        "plots": len(plots),
        "area_ha": float(plots["area_ha"].sum()),
        "practice_years": years,
        "depth_cm": depth,
        "measured_plots": int(covariate.notna().sum()),
        "soc_median_t_c_ha": float(np.nanmedian(covariate)) if covariate.notna().any() else None,
        "table": table,
        "size": size,
        "points": len(points),
        "skipped": points.attrs["skipped"],
        "short": short,
        "seed": seed,
        "buffer_m": buffer_m,
        "points_gdf": points,
        "labels": labels,
    }


@click.group("sampling")
def group() -> None:
    """Soil sampling design of the SOC re-measurement (strata, sample size, random points)."""


@group.command("design")
@click.argument("project")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output directory (default: MRV_OUTPUT_DIR/PROJECT/sampling).",
)
@click.option(
    "--precision",
    type=click.FloatRange(min=0, max=1, min_open=True),
    default=0.10,
    show_default=True,
    help="Target half-width of the 90 % confidence interval of the mean SOC stock, as a fraction of it.",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the points.")
@click.option(
    "--buffer-m",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="Smallest distance of a point from its plot's edge [m].",
)
def design(project: str, out_dir: Path | None, precision: float, seed: int, buffer_m: float) -> None:
    """Design the SOC re-measurement of PROJECT: strata from each plot's logged project practice
    and its measured initial SOC stock (below / from the median; plots without a sample form
    their own class; a practice with fewer than 3 sampled plots in a class is not split), samples per stratum for +/- PRECISION of the mean at 90 % confidence
    (stratified random sampling, Neyman allocation, finite-population correction: Cochran 1977;
    S_h from the stratum's soil samples, or a 20 % CV where it has fewer than 3), and random
    points at least BUFFER-M from the plot edges. Writes sampling_design.geojson (points) and
    sampling_design.csv (strata, N_h, S_h, n_h and the formula's inputs)."""
    from models.errors import MRVError
    from mrv_service.config import load_settings
    from mrv_service.store.projects import ProjectNotFoundError

    try:
        r = design_project(
            load_settings(),
            project,
            out_dir=out_dir.absolute() if out_dir else None,
            precision=precision,
            seed=seed,
            buffer_m=buffer_m,
        )
    except ProjectNotFoundError as exc:
        raise click.BadParameter(str(exc), param_hint="PROJECT") from None
    except MRVError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"could not write the design: {exc}; choose another --out") from None
    except Exception as exc:  # noqa: BLE001 - the command shows no traceback (-vv logs it)
        log.debug("mrv sampling design failed", exc_info=True)
        raise click.ClickException(
            f"sampling design failed: {type(exc).__name__}: {exc} (run with -vv for details)"
        ) from None
    _echo_summary(r)


def _echo_summary(r: dict[str, Any]) -> None:
    t, size = r["table"], r["size"]
    years = r["practice_years"]
    span = f"{min(years)}-{max(years)}" if years else "no project years"
    median = f"{r['soc_median_t_c_ha']:.1f} t C/ha" if r["soc_median_t_c_ha"] is not None else "-"
    split = t.loc[t["soc_class"] != "all", "practice"].nunique()
    click.echo(
        f"strata      {r['plots']} plots, {r['area_ha']:.2f} ha; {len(t)} strata: logged practice {span}, "
        f"{split} of {t['practice'].nunique()} practices split by initial SOC 0-{r['depth_cm']:g} cm at the median "
        f"{median} of {r['measured_plots']} sampled plots (a split needs >= {MIN_SAMPLES_FOR_SD} sampled plots "
        "per class; plots without a sample: 'unmeasured')"
    )
    for label, row in t.iterrows():
        click.echo(
            f"  {label}: {row['plots']} plots, {row['area_ha']:.2f} ha, N_h {row['N_h']}, "
            f"S_h {row['S_h_t_c_ha']:.2f} t C/ha ({row['S_h_source']}), n_h {row['n_h']}"
        )
    click.echo(
        f"sample size n = {size.n:.2f} for +/-{size.precision:.0%} of {size.mean:.2f} t C/ha at "
        f"{size.confidence:.0%} (z {size.z:.4f}; Neyman allocation, finite-population correction, Cochran 1977) "
        f"-> {size.n_total} samples (each stratum rounded up, at least 2)"
    )
    narrow = sum(1 for s in r["skipped"] if s["plot_id"] is not None)
    click.echo(
        f"points      {r['points']} drawn (seed {r['seed']}, >= {r['buffer_m']:g} m from plot edges)"
        + (f"; {narrow} plot(s) too narrow for the buffer skipped" if narrow else "")
    )
    for label, k in r["short"].items():
        click.echo(f"warning     {label}: {k} point(s) not drawn (no plot wide enough for the buffer)")
    click.echo(f"wrote       {r['geojson']} and {r['csv']}")
