"""The command line: ``main(argv)`` in process (as ``python -m vi_core ...`` calls it), and as a real process where
the process boundary is the point (the entry point runs, exit codes reach the shell)."""

import contextlib
import io
import json
import math
import subprocess
import sys
from types import SimpleNamespace

import pytest

from vi_core import methods
from vi_core.__main__ import main
from vi_core.api import METHODS, VI_METHODS
from vi_core.targets import REGISTRY


def _process(*args):
    return subprocess.run([sys.executable, "-m", "vi_core", *args], capture_output=True, text=True, timeout=120)


def _cli(*args):
    """What ``python -m vi_core *args`` prints and returns, without paying a Python start-up per call."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's own refusals exit
            code = exc.code
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def test_targets_json_lists_every_target():
    out = _cli("targets", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert {r["name"] for r in rows} == set(REGISTRY)
    gauss = next(r for r in rows if r["name"] == "gaussian")
    assert gauss["params"][0] == {"name": "rho", "default": 0.8, "lo": -0.99, "hi": 0.99, "help": "correlation ρ"}
    assert len(gauss["box"]) == 4


def test_run_json_fields_and_values():
    out = _cli("run", "--target", "gaussian", "--param", "rho=0.5", "--method", "cavi", "--seed", "3", "--json")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    for key in ("target", "params", "method", "log_evidence", "elbo", "kl", "mean", "cov", "wall_time_s", "n_steps"):
        assert key in res
    assert res["params"] == {"rho": 0.5}
    assert abs(res["elbo"] + res["kl"] - res["log_evidence"]) < 1e-9
    assert abs(res["kl"] - 0.1438410362258904) < 1e-3  # -1/2 ln(1 - 0.25)


def test_run_json_carries_the_reference():
    out = _cli("run", "--target", "funnel", "--method", "cavi", "--steps", "5", "--json")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    ref = res["reference"]
    assert set(ref) >= {"log_evidence", "mean", "cov", "mass_outside_box", "method"}
    assert ref["log_evidence"] == res["log_evidence"] and abs(ref["cov"][1][1] - 90.0171) < 1e-3
    assert 0.035 < ref["mass_outside_box"] < 0.045 and "x·e^(−v/2)" in ref["method"]
    assert res["grid_warnings"] == [] and len(res["grid_notes"]) == 1


def test_box_for_a_built_in_target():
    out = _cli("run", "--target", "gaussian", "--box", "-1,1,-1,1", "--method", "cavi", "--steps", "5", "--json")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["box"] == [-1, 1, -1, 1] and res["target"] == "gaussian"
    assert abs(res["log_evidence"] - res["log_evidence_exact"]) < 1e-12  # the reference is not cut
    assert res["reference"]["mass_outside_box"] > 0.4 and any("Widen the box" in w for w in res["grid_warnings"])
    bad = _cli("run", "--target", "gaussian", "--box", "1,0,0,1", "--method", "cavi")
    assert bad.returncode == 2 and "xmin < xmax" in bad.stderr


def test_improper_typed_density_is_refused_in_one_line():
    out = _cli("run", "--expr", "x + y", "--box", "-1,1,-1,1", "--method", "cavi")
    assert out.returncode == 2 and "cannot be normalised" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_sampler_json_has_diagnostics():
    out = _cli("run", "--target", "banana", "--method", "rwm", "--steps", "200", "--json")
    res = json.loads(out.stdout)
    assert res["elbo"] is None and res["kl"] is None
    assert res["n_samples"] > 0 and 0 < res["acceptance"] < 1 and len(res["ess"]) == 2 and len(res["rhat"]) == 2


def _covering_pairs():
    """Each registered method once and each target once: len = max(#methods, #targets)."""
    names, ms = list(REGISTRY), list(METHODS)
    return [(names[k % len(names)], ms[k % len(ms)]) for k in range(max(len(names), len(ms)))]


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


@pytest.mark.parametrize(("name", "method"), _covering_pairs())
def test_each_method_and_each_target_from_the_cli(name, method, capsys):
    # in-process for speed: the same main() the module runs
    assert main(["run", "--target", name, "--method", method, "--steps", "20", "--grid", "60", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["method"] == method and res["target"] == name and res["n_steps"] >= 1
    for key in ("log_evidence", "wall_time_s", "mmd", "mean_error", "cov_error"):
        assert _finite(res[key]), (key, res[key])
    assert len(res["mean"]) == 2 and all(_finite(v) for v in res["mean"])
    assert all(_finite(v) for row in res["cov"] for v in row)
    assert res["verdict_level"] in ("good", "warn", "bad") and res["verdict"]
    if method in VI_METHODS and methods.get(method).family == "particles":
        # particles have no density: no ELBO, KL or k-hat; the marginal W1 judges them instead
        assert res["elbo"] is None and res["kl"] is None and res["khat"] is None
        assert _finite(res["w1"]) and _finite(res["mmtv"]) and res["n_steps"] <= 20
    elif method in VI_METHODS:
        assert _finite(res["elbo"]) and _finite(res["kl"]) and _finite(res["khat"])
        assert abs(res["elbo"] + res["kl"] - res["log_evidence"]) < 1e-9
        assert res["n_steps"] <= 20  # --steps is the method's own steps setting
    else:
        assert res["elbo"] is None and res["n_steps"] == 20 and res["n_samples"] > 0
        assert 0 <= res["acceptance"] <= 1 and len(res["ess"]) == 2 and len(res["rhat"]) == 2


def test_covering_set_covers():
    pairs = _covering_pairs()
    assert {n for n, _ in pairs} == set(REGISTRY) and {m for _, m in pairs} == set(METHODS)


def test_every_setting_has_a_flag(capsys):
    assert main(["run", "--target", "gaussian", "--method", "rwm", "--walkers", "6", "--mcmc-steps", "30",
                 "--step-size", "0.3", "--grid", "60", "--json"]) == 0  # fmt: skip
    res = json.loads(capsys.readouterr().out)
    assert res["n_steps"] == 30 and res["n_samples"] == (30 - 30 // 4) * 6  # 6 walkers: rwm needs no even rule


def test_readable_table_without_json():
    out = _cli("run", "--target", "donut", "--method", "gauss-mf", "--steps", "50")
    assert out.returncode == 0 and "log_evidence" in out.stdout and "{" not in out.stdout.splitlines()[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--target", "nope", "--method", "cavi"], "unknown target 'nope'"),
        (["run", "--target", "gaussian", "--param", "rho=2", "--method", "cavi"], "outside its bounds"),
        (["run", "--target", "gaussian", "--param", "rho=nan", "--method", "cavi"], "must be finite"),
        (["run", "--target", "gaussian", "--param", "rho", "--method", "cavi"], "expects key=value"),
        (["run", "--target", "gaussian", "--method", "slice"], "invalid choice: 'slice'"),
        (["run", "--target", "gaussian", "--method", "cavi", "--steps", "-1"], "outside its bounds"),
        (["run", "--target", "gaussian", "--method", "cavi", "--seed", "x"], "invalid int value"),
        (["run", "--method", "cavi"], "--target (or --expr with --box) is required"),
        (["run", "--expr", "x", "--method", "cavi"], "--box"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_give_one_line_and_nonzero_exit(args, message):
    out = _cli(*args)
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in out.stderr


def test_typed_target_from_the_cli_matches_the_built_in():
    typed = _cli("run", "--expr", "-(x**2 - 2*0.8*x*y + y**2)/(2*(1 - 0.8**2))", "--box", "-4.5,4.5,-4.5,4.5",
                 "--method", "cavi", "--json")  # fmt: skip
    built = _cli("run", "--target", "gaussian", "--method", "cavi", "--json")
    a, b = json.loads(typed.stdout), json.loads(built.stdout)
    assert a["target"] == "custom" and a["labels"] == ["x", "y"] and "expr" in a
    # the built-in's reference is its closed form, the typed one's quadrature on the box and around it
    assert abs(a["log_evidence"] - b["log_evidence"]) < 1e-6 and abs(a["kl"] - b["kl"]) < 1e-6
    assert a["reference"]["method"].startswith("midpoint") and b["reference"]["method"].startswith("exact")


def test_hostile_expressions_in_the_cli(tmp_path, monkeypatch, capsys):
    import time

    from tests.vi_core.test_expr import HOSTILE, S

    monkeypatch.chdir(tmp_path)
    sentinel = tmp_path / "SENTINEL"
    for payload in HOSTILE:
        t0 = time.perf_counter()
        try:
            code = main(["run", "--expr", payload.replace(S, str(sentinel)), "--box", "-1,1,-1,1", "--method", "cavi"])
        except SystemExit as exc:  # argparse's own refusals exit
            code = exc.code
        assert time.perf_counter() - t0 < 1.0, payload[:60]
        err = capsys.readouterr().err.strip().splitlines()
        assert code != 0 and len(err) == 1 and err[0].startswith("python -m vi_core: error:"), (payload[:60], err)
    assert not sentinel.exists() and list(tmp_path.iterdir()) == []


def test_hostile_expression_as_a_real_process(tmp_path):
    sentinel = tmp_path / "SENTINEL"
    out = _process(
        "run", "--expr", f"__import__('os').system('touch {sentinel}')", "--box", "-1,1,-1,1", "--method", "cavi"
    )
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and not sentinel.exists()
    out = _process("targets", "--json")
    assert out.returncode == 0 and {r["name"] for r in json.loads(out.stdout)} == set(REGISTRY)


@pytest.mark.parametrize("method", METHODS)
def test_json_carries_the_tail_sensitive_w1_for_every_method(method):
    out = _cli("run", "--target", "funnel", "--method", method, "--steps", "200", "--json")
    assert out.returncode == 0, out.stderr
    w1 = json.loads(out.stdout)["w1"]
    assert isinstance(w1, float) and math.isfinite(w1) and 0 <= w1 < 5, w1


def test_ladder_json_has_every_asked_rung_and_a_sentence():
    out = _cli("ladder", "--target", "gaussian", "--rungs", "gauss-mf,mog2,svgd", "--samplers", "emcee", "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert [r["key"] for r in d["rungs"]] == ["gauss-mf", "mog2", "svgd"] and [s["key"] for s in d["samplers"]] == [
        "emcee"
    ]
    by = {r["key"]: r for r in d["rungs"]}
    assert by["svgd"]["kl"] is None and by["mog2"]["kl"] < 1e-3 and abs(by["gauss-mf"]["kl"] - 0.511) < 0.005
    assert all(0 <= r["mmtv"] <= 1 for r in d["rungs"] + d["samplers"])
    assert d["sentence"].startswith("Most accurate for the time") and d["budget_s"] == max(
        r["seconds"] for r in d["rungs"]
    )
    assert d["log_z"] == pytest.approx(math.log(2 * math.pi * math.sqrt(1 - 0.8**2)), abs=1e-9)


@pytest.mark.parametrize(("args", "message"), [
    (["ladder", "--target", "u1", "--rungs", "nope"], "unknown rung or sampler 'nope'"),
    (["ladder", "--target", "nope"], "unknown target"),
    (["ladder", "--target", "u1", "--seed", "-1"], "--seed must be in"),
])  # fmt: skip
def test_ladder_refuses_bad_arguments_in_one_line(args, message):
    out = _cli(*args)
    assert out.returncode == 2 and message in out.stderr and out.stderr.count("\n") == 1


def test_run_json_on_a_target_with_modes_carries_the_mass_per_mode():
    out = _cli("run", "--target", "modes", "--method", "svgd", "--particles", "40", "--vi-steps", "100", "--json")
    d = json.loads(out.stdout)
    assert len(d["mode_masses"]["method"]) == 4 and sum(d["mode_masses"]["method"]) == pytest.approx(1.0)
    assert d["mode_masses"]["exact"] == pytest.approx([0.1, 0.2, 0.3, 0.4], abs=1e-3)
    assert "mode_masses" not in json.loads(_cli("run", "--target", "u1", "--method", "cavi", "--json").stdout)
