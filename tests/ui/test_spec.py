"""The query-string round trip: every setting restores; bad values fall back with a notice."""

import pytest

from ui.spec import DEFAULT, RunSpec, from_query, to_query
from vi_core.api import Settings
from vi_core.targets import make_target


def test_round_trip_restores_everything():
    spec = RunSpec(
        make_target("squiggle", a=2.0, omega=1.5),
        "gauss-fr",
        "rwm",
        42,
        Settings(vi_steps=300, vi_samples=8, vi_lr=0.02, walkers=16, mcmc_steps=250, step_size=0.7, cavi_sweeps=50),
    )
    back, clock, notices = from_query(to_query(spec, "time"))
    assert back == spec and clock == "time" and notices == []


def test_empty_query_is_the_default():
    assert from_query({}) == (DEFAULT, "iteration", [])


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ({"target": "unicorn"}, "target=unicorn"),
        ({"target": "gaussian", "p_rho": "2"}, "p_rho=2"),
        ({"target": "gaussian", "p_rho": "nan"}, "p_rho=nan"),
        ({"target": "gaussian", "p_rho": "<script>"}, "p_rho=<script>"),
        ({"vi": "magic"}, "vi=magic"),
        ({"mcmc": "slice"}, "mcmc=slice"),
        ({"seed": "-3"}, "seed=-3"),
        ({"seed": "1.5"}, "seed=1.5"),
        ({"walkers": "7"}, "walkers=7"),
        ({"steps": "1e9"}, "steps=1e9"),
        ({"lr": "inf"}, "lr=inf"),
        ({"clock": "sundial"}, "clock=sundial"),
    ],
)
def test_bad_values_fall_back_with_a_notice(query, needle):
    spec, clock, notices = from_query(query)
    assert len(notices) == 1 and needle in notices[0] and "default" in notices[0]
    assert isinstance(spec, RunSpec) and clock in ("iteration", "time")


def test_good_values_survive_next_to_bad_ones():
    spec, _, notices = from_query({"target": "donut", "p_r": "3", "p_sigma": "zzz", "seed": "9"})
    assert spec.target.r == 3 and spec.target.sigma == 0.3 and spec.seed == 9 and len(notices) == 1


def test_box_and_grid_round_trip_exactly_for_a_built_in_target():
    spec = RunSpec(make_target("banana"), settings=Settings(n_grid=350), box=(-7.25, 7.25, -1.0 / 3.0, 12.5))
    q = to_query(spec)
    assert q["box"] and q["grid"] == "350"
    back, _, notices = from_query(q)
    assert back == spec and back.grid_box == spec.box and notices == []


def test_the_targets_own_box_is_not_an_override():
    t = make_target("donut")
    spec, _, notices = from_query({"target": "donut", "box": ", ".join(str(v) for v in t.box)})
    assert spec.box is None and spec.grid_box == t.box and notices == []
    assert "box" not in to_query(spec)


def test_every_value_round_trips_to_the_last_digit():
    spec = RunSpec(make_target("gaussian", rho=0.123456789), settings=Settings(vi_lr=0.0123456789))
    assert from_query(to_query(spec))[0] == spec


@pytest.mark.parametrize("raw", ["1,0,0,1", "a,b,c,d", "1,2,3", "nan,1,0,1"])
def test_a_bad_box_falls_back_with_a_notice(raw):
    spec, _, notices = from_query({"target": "gaussian", "box": raw})
    assert spec.box is None and len(notices) == 1 and "box=" in notices[0]


OLD_LINK = (
    "target=gaussian&p_rho=0.95&vi=cavi&mcmc=emcee&seed=0&vi_steps=1000&cavi_sweeps=300&K=64&lr=0.1"
    "&walkers=32&steps=500&step=0.5&grid=200&clock=iteration&run=1"
)


def test_old_links_open_the_same_run():
    # Links shared before the readable keys (K, lr, steps, step) still open the same run.
    from urllib.parse import parse_qsl

    old = dict(parse_qsl(OLD_LINK))
    spec, clock, notices = from_query(old)
    assert notices == [] and clock == "iteration"
    assert spec == RunSpec(make_target("gaussian", rho=0.95), "cavi", "emcee", 0, Settings(mcmc_steps=500))
    changed, _, _ = from_query({**old, "K": "8", "lr": "0.02", "steps": "250", "step": "0.7"})
    assert changed.settings == Settings(vi_samples=8, vi_lr=0.02, mcmc_steps=250, step_size=0.7)
    assert from_query(to_query(changed))[0] == changed


def test_links_use_readable_keys_from_the_settings_table():
    from vi_core.settings import TABLE

    q = to_query(DEFAULT)
    assert {s.query for s in TABLE if s.query} <= set(q)
    assert {"vi_samples", "vi_lr", "mcmc_steps", "step_size"} <= set(q) and not {"K", "lr", "steps", "step"} & set(q)


def test_the_new_key_wins_over_an_old_one():
    spec, _, _ = from_query({"mcmc_steps": "300", "steps": "100"})
    assert spec.settings.mcmc_steps == 300


@pytest.mark.parametrize(("mcmc", "raw", "want"), [("emcee", "9", 10), ("emcee-de", "255", 256)])
def test_odd_walkers_are_rounded_up_with_a_plain_notice(mcmc, raw, want):
    # emcee's moves split the walkers in halves; the link's count is rounded, not thrown away
    spec, _, notices = from_query({"mcmc": mcmc, "walkers": raw})
    assert spec.settings.walkers == want and len(notices) == 1
    assert f"walkers={raw}" in notices[0] and f"to {want}" in notices[0] and "even" in notices[0]
    assert from_query(to_query(spec)) == (spec, "iteration", [])


@pytest.mark.parametrize("mcmc", ["rwm", "gibbs", "hmc", "nuts"])
def test_samplers_without_the_even_rule_keep_odd_walkers(mcmc):
    spec, _, notices = from_query({"mcmc": mcmc, "walkers": "9"})
    assert spec.settings.walkers == 9 and notices == []


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("100,100.0001,-4,4", "100 to 100.0001"),
        ("1e6,1000001,-4,4", "1000000 to 1000001"),
        ("-4,4,-1e-7,0", "-1e-07 to 0"),
    ],
)
def test_a_box_too_narrow_for_its_distance_from_0_is_refused_with_every_digit(raw, shown):
    spec, _, notices = from_query({"target": "gaussian", "box": raw})
    assert spec.box is None and len(notices) == 1 and "too narrow" in notices[0] and shown in notices[0]


def test_a_narrow_box_far_out_that_the_grid_can_resolve_is_kept():
    spec, _, notices = from_query({"target": "gaussian", "box": "100,100.01,-4,4"})
    assert spec.box == (100.0, 100.01, -4.0, 4.0) and notices == []


def test_a_refused_typed_target_does_not_lend_its_box_to_the_default():
    spec, _, notices = from_query({"target": "custom", "expr": "x +", "box": "-1,1,-1,1"})
    assert spec == DEFAULT and len(notices) == 1 and "typed target" in notices[0]
    spec, _, notices = from_query({"target": "custom", "expr": "-x**2/2 - y**2/2", "box": "1e6,1000001,-4,4"})
    assert spec == DEFAULT and len(notices) == 1 and "xmax=1000001" in notices[0]  # every digit, not 1e+06
