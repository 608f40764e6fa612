"""Reviewers' decisions feed the next run: an accepted contradiction is modelled as logged, an
override as the reviewer's method, a rejected plot-season earns nothing (issue 13, item 5)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from mrv_service.config import load_settings
from mrv_service.run.inputs import load_project_inputs
from mrv_service.run.models_stage import models_stage
from mrv_service.run.verification_stage import VERDICT_COLUMNS
from mrv_service.sample.demo import load_sample
from mrv_service.store.db import make_engine, session_scope
from mrv_service.store.projects import get_project
from mrv_service.store.reviews import ReviewError, project_reviews, record_review
from tests.mrv_service.conftest import SAMPLE_PROJECT, cli_env

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::models.scenarios.ScenarioWarning")]

DRAWS = 40
SEED = 7


@pytest.fixture(scope="module")
def store(small_county, tmp_path_factory):
    env = cli_env(tmp_path_factory.mktemp("reviews"))
    load_sample(load_settings(env, sample_dir=small_county), echo=lambda _m: None)
    engine = make_engine(env["MRV_DATABASE_URL"])
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def inputs(store):
    with session_scope(store) as s:
        return load_project_inputs(s, SAMPLE_PROJECT)


def _no_till_season(inputs) -> tuple[str, int]:
    """A plot that logs no-till in the first project year, having ploughed or rotary-tilled before."""
    a = inputs.activities
    till = a[a["activity"] == "tillage"].assign(year=pd.to_datetime(a["date"]).dt.year)
    year = min(inputs.project.project_years)
    for pid, g in till.groupby("plot_id"):
        now, before = g[g["year"] == year]["method"], g[g["year"] < year]["method"]
        if len(now) and (now == "no_till").all() and before.isin(["plough", "rotary"]).all():
            return str(pid), year
    raise AssertionError("the sample has no plot switching to no-till")


def _verdicts(rows) -> pd.DataFrame:
    return pd.DataFrame(
        [
            dict(plot_id=p, year=y, practice="tillage", logged="conservation", detected=d, p_logged=1 - pd_,
                 p_detected=pd_, status=st, keep=1.0)
            for p, y, d, pd_, st in rows
        ]
    )  # fmt: skip


def _reviews(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["plot_id", "year", "practice", "decision", "method"])


def _run(inputs, verdicts, reviews=None):
    if reviews is not None:
        inputs = dataclasses.replace(inputs, reviews=reviews)
    return models_stage(inputs, seed=SEED, n_draws=DRAWS, verdicts=verdicts)


def test_accept_keeps_the_logged_practice(inputs):
    pid, year = _no_till_season(inputs)
    v = _verdicts([(pid, year, "tilled", 0.95, "critical")])
    detected = _run(inputs, v)
    accepted = _run(inputs, v, _reviews([(pid, year, "tillage", "accept", None)]))
    as_logged = _run(inputs, v.assign(status="verified"))
    soc = "soc_project_end_t_c_ha"
    by = {k: r.per_plot.set_index("plot_id").at[pid, soc] for k, r in
          (("detected", detected), ("accepted", accepted), ("as_logged", as_logged))}  # fmt: skip
    # the critical contradiction alone models the season tilled: less SOC than no-till
    assert by["detected"] < by["as_logged"]
    # accepted: exactly the run that takes the log as it is
    assert by["accepted"] == by["as_logged"]
    vc = accepted.summary["verified_credit"]
    assert vc["records_replaced_by_detected_practice"] == 0
    assert detected.summary["verified_credit"]["records_replaced_by_detected_practice"] >= 1
    assert vc["reviews_applied"]["accepted"] == 1


def test_override_models_the_reviewers_method(inputs):
    pid, year = _no_till_season(inputs)
    overridden = _run(inputs, _none(), _reviews([(pid, year, "tillage", "override", "plough")]))
    # reference: the same season's tillage records edited by hand to plough, no review
    a = inputs.activities.copy()
    sel = (a["plot_id"] == pid) & (pd.to_datetime(a["date"]).dt.year == year) & (a["activity"] == "tillage")
    assert sel.sum() >= 1
    a.loc[sel, "method"] = "plough"
    by_hand = models_stage(dataclasses.replace(inputs, activities=a), seed=SEED, n_draws=DRAWS,
                           verdicts=_none())  # fmt: skip
    soc = "soc_project_end_t_c_ha"
    got = overridden.per_plot.set_index("plot_id").at[pid, soc]
    assert got == by_hand.per_plot.set_index("plot_id").at[pid, soc]
    logged = _run(inputs, _none())
    assert got < logged.per_plot.set_index("plot_id").at[pid, soc]  # ploughed: less SOC than no-till
    assert overridden.summary["verified_credit"]["reviews_applied"]["overridden"] == 1


def _none() -> pd.DataFrame:
    """Verdicts without a row: the verification ran and contradicted nothing."""
    return pd.DataFrame(columns=list(VERDICT_COLUMNS))


def test_a_rejected_plot_season_earns_nothing(inputs):
    pid, year = _no_till_season(inputs)
    empty = _none()
    before = _run(inputs, empty)
    after = _run(inputs, empty, _reviews([(pid, year, "sowing", "reject", None)]))
    assert np.abs(before.vintages.sel(plot=pid, year=year).values).max() > 0
    # every draw of that vintage is 0 (no model error on a season that claims nothing)
    assert np.all(after.vintages.sel(plot=pid, year=year).values == 0.0)
    # the plot's other vintage and the other plots are untouched
    other_year = [y for y in after.vintages["year"].values if int(y) != year]
    np.testing.assert_array_equal(
        after.vintages.sel(plot=pid, year=other_year).values,
        before.vintages.sel(plot=pid, year=other_year).values,
    )
    others = [p for p in after.vintages["plot"].values if p != pid]
    np.testing.assert_array_equal(
        after.vintages.sel(plot=others).values, before.vintages.sel(plot=others).values
    )
    assert after.summary["verified_credit"]["reviews_applied"]["rejected_plot_seasons_excluded"] == 1


def test_record_review_stores_the_standing_decision_and_audits_it(store, inputs):
    from mrv_service.store.audit import entries, verify

    pid, year = _no_till_season(inputs)
    with session_scope(store) as s:
        project = get_project(s, SAMPLE_PROJECT)
        record_review(s, project, plot_id=pid, year=year, practice="tillage", decision="request_evidence",
                      reviewer="agro@example.org", note="拍照：免耕播种机")  # fmt: skip
        s.commit()
        record_review(s, project, plot_id=pid, year=year, practice="tillage", decision="override",
                      reviewer="agro@example.org", method="rotary")  # fmt: skip
        s.commit()
        got = project_reviews(s, project.id)
        assert got[["plot_id", "year", "practice", "decision", "method"]].values.tolist() == [
            [pid, year, "tillage", "override", "rotary"]
        ]
        last = entries(s, project.organisation_id, limit=1000)[-2:]
        assert [e.payload["decision"] for e in last] == ["request_evidence", "override"]
        assert (
            last[1].payload["previous_decision"] == "request_evidence" and last[1].actor == "agro@example.org"
        )
        assert verify(s).ok
        for kwargs, field in (
            (dict(decision="override", method="teleport"), "method"),
            (dict(decision="override", method=None, practice="sowing"), "practice"),
            (dict(decision="request_evidence"), "note"),
            (dict(decision="maybe"), "decision"),
            (dict(decision="accept", plot_id="NOPE"), "plot_id"),
        ):
            args = dict(plot_id=pid, year=year, practice="tillage", reviewer="a@example.org") | kwargs
            with pytest.raises(ReviewError) as err:
                record_review(s, project, **args)
            assert err.value.field == field
            s.rollback()
