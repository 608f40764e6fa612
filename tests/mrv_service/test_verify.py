"""``mrv verify train`` and the verification stage of ``mrv run``: labels checked row by row,
detectors trained with villages held out and stored with their training hash, flags written to
flags.csv and to the store, the credit carrying the detection error."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from mrv_service.cli import cli
from mrv_service.config import load_settings
from mrv_service.sample import create_sample
from mrv_service.sample.demo import load_sample
from mrv_service.store.db import make_engine
from tests.mrv_service.conftest import SAMPLE_PROJECT, cli_env

P = SAMPLE_PROJECT


def _invoke(env, *args):
    return CliRunner().invoke(cli, list(args), env=env)


@pytest.fixture(scope="module")
def two_villages(tmp_path_factory):
    """A 240-plot county (2 villages), loaded, with the imagery stage run; returns (env, county)."""
    root = tmp_path_factory.mktemp("verify")
    county = root / "lishu"
    create_sample(county, n_plots=240, imagery=True)
    env = cli_env(root)
    load_sample(load_settings(env, sample_dir=county), echo=lambda _m: None)
    r = _invoke(env, "run", P, "--stage", "imagery")
    assert r.exit_code == 0, r.output
    return env, county


def _labels(county, path, edits=None):
    t = pd.read_csv(county / "truth.csv")
    df = pd.DataFrame(
        {
            "plot_id": t["plot_id"],
            "year": t["year"],
            "tillage": t["true_tillage"],
            "residue": t["true_residue"],
        }
    )
    for (row, col), value in (edits or {}).items():
        df.loc[row, col] = value
    df.to_csv(path, index=False)
    return path


def test_bad_labels_are_refused_row_by_row(two_villages, tmp_path):
    env, county = two_villages
    path = _labels(county, tmp_path / "labels.csv", {(0, "tillage"): "deep_plough", (3, "year"): 2019})
    r = _invoke(env, "verify", "train", P, str(path))
    assert r.exit_code == 1 and (r.exception is None or isinstance(r.exception, SystemExit))
    # row 2 is the first data row (row 1 is the header)
    assert "row 2, field tillage: 'deep_plough' is not a tillage method" in r.output
    assert "row 5, field year: 2019 is not a look-back or project season" in r.output
    assert "Traceback" not in r.output
    missing = _invoke(env, "verify", "train", P, str(tmp_path / "nope.csv"))
    assert missing.exit_code == 1 and "no such file" in missing.output


@pytest.mark.slow
def test_train_then_run_flags_the_contradictions(two_villages, tmp_path):
    env, county = two_villages
    # before training: every logged tillage and residue claim is unverifiable, nothing passed on trust
    r0 = _invoke(env, "run", P, "--stage", "verification")
    assert r0.exit_code == 0, r0.output
    out = Path(env["MRV_OUTPUT_DIR"]) / P
    flags0 = pd.read_csv(out / "flags.csv")
    assert set(flags0.loc[flags0["practice"].isin(["tillage", "residue"]), "severity"]) == {"unverifiable"}
    assert "no trained detector" in r0.output

    r = _invoke(env, "verify", "train", P, str(_labels(county, tmp_path / "labels.csv")))
    assert r.exit_code == 0, r.output
    assert "tillage" in r.output and "held-out villages" in r.output and "kappa" in r.output
    eng = make_engine(env["MRV_DATABASE_URL"])
    with eng.connect() as c:
        dets = c.execute(
            sa.text("SELECT practice, training_sha256, metrics FROM detectors WHERE active")
        ).all()
    assert {d[0] for d in dets} >= {"tillage", "residue", "sowing", "harvest"}
    assert all(len(d[1]) == 64 for d in dets)
    till = next(d[2] for d in dets if d[0] == "tillage")
    till = json.loads(till) if isinstance(till, str) else till
    assert till["evaluation"].startswith("grouped") and 0.5 < till["accuracy"]["value"] <= 1.0
    lo, hi = till["accuracy"]["ci95"]
    assert lo <= till["accuracy"]["value"] <= hi

    r2 = _invoke(env, "run", P)
    assert r2.exit_code == 0, r2.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    ver = summary["verification"]
    assert set(ver["detectors"]) >= {"tillage", "residue"} and not {"tillage", "residue"} & set(
        ver["untrained"]
    )
    flags = pd.read_csv(out / "flags.csv")
    assert ver["flags"] == len(flags)
    # the planted contradictions of this county are mostly found (trained on its own labels, so
    # this checks the plumbing, not the accuracy: the held-out figures are in mrv demo's check)
    truth = pd.read_csv(county / "truth.csv")
    bad = truth[truth["contradicted"]][["plot_id", "year"]]
    hit = flags[
        flags["severity"].isin(["warning", "critical"]) & flags["practice"].isin(["tillage", "residue"])
    ]
    found = bad.merge(hit[["plot_id", "year"]].drop_duplicates(), on=["plot_id", "year"])
    assert len(bad) > 0 and len(found) >= 0.8 * len(bad)
    # the flags are stored with the run, one row per flag
    with eng.connect() as c:
        run_id = c.execute(sa.text("SELECT max(id) FROM runs WHERE status = 'succeeded'")).scalar()
        stored = c.execute(
            sa.text("SELECT count(*) FROM verification_flags WHERE run_id = :r"), {"r": run_id}
        ).scalar()
    eng.dispose()
    assert stored == len(flags)
    # the credit carries the detection error: the draw lowers the total below the undrawn one
    vc = summary["verified_credit"]
    assert vc["misclassification_draw"] is True and 0 < vc["expected_share_of_claims_true"] < 1
    assert summary["rothc"]["total_delta_soc_t_co2e"] < vc["total_t_co2e_without_the_draw"]
