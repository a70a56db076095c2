"""vi_core.scaling: the package's re-exported names (what ui.compute, the CLI and the benchmark use) and the `scale`
CLI. Seeded, no timed assertions. Each module has its own test file: test_scaling_<module>.py."""

import contextlib
import io
import json

import pytest

import vi_core.scaling
from vi_core.__main__ import main
from vi_core.reference import Reference
from vi_core.scaling import data, methods, minibatch, model, records, runs, score, sgld, vi


def test_the_package_re_exports_the_names_the_rest_of_the_code_uses():
    assert sorted(vi_core.scaling.__all__) == sorted(
        ["ACCURACY", "METHODS", "LogisticPosterior", "ScaleRecord", "dataset", "reference", "run_one", "slope", "sweep"]
    )
    homes = {"ACCURACY": score, "METHODS": methods, "LogisticPosterior": model, "ScaleRecord": records,
             "dataset": data, "reference": model, "run_one": runs, "slope": records, "sweep": runs}  # fmt: skip
    for name, module in homes.items():
        assert getattr(vi_core.scaling, name) is getattr(module, name), name
    # as ui.compute imports them
    from vi_core import scaling as _scaling
    from vi_core.scaling import ACCURACY as SCALE_ACCURACY
    from vi_core.scaling import METHODS as SCALE_METHODS
    from vi_core.scaling import ScaleRecord

    assert (SCALE_ACCURACY.mean_sd, SCALE_ACCURACY.sd_rel) == (0.1, 0.1)
    assert set(SCALE_METHODS) == {"minibatch-mf", "minibatch-fr", "minibatch-cv", "fullbatch-fr", "emcee", "nuts",
                                  "sgld", "sgld-cv"}  # fmt: skip
    assert ScaleRecord is _scaling.ScaleRecord and callable(_scaling.sweep)


def test_every_module_declares_its_names_and_the_reference_type_no_longer_clashes():
    for module in (data, methods, minibatch, model, records, runs, score, sgld, vi):
        assert module.__all__ and all(hasattr(module, name) for name in module.__all__), module.__name__
    assert model.LogisticReference is not Reference and "Reference" not in dir(vi_core.scaling)


def _cli(*args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


SUMMARY = {"n", "method", "kind", "minibatch", "time_to_accuracy_s", "final_accuracy", "n_density_evals",
           "n_grad_evals", "rows_touched", "rows_to_accuracy", "mean_error", "sd_error", "warmup_excluded",
           "grad_var_reduction", "warmup_s"}  # fmt: skip


def test_cli_scale_json():
    code, out, err = _cli("scale", "--n", "1e2,2e2", "--methods", "minibatch-fr,emcee", "--budget", "0.5", "--json")
    assert code == 0, err
    rows = json.loads(out)
    pairs = [(100, "minibatch-fr"), (100, "emcee"), (200, "minibatch-fr"), (200, "emcee")]
    assert [(r["n"], r["method"]) for r in rows] == pairs
    assert all(set(r) == SUMMARY for r in rows)
    # judged by the fair rule: warm-up excluded, the sd's error beside the mean's, the cost in rows touched
    assert all(r["warmup_excluded"] is True and r["rows_touched"] > 0 and r["sd_error"] is not None for r in rows)
    assert all(r["grad_var_reduction"] is None for r in rows)  # no control variate
    code, out, _ = _cli("scale", "--n", "100", "--methods", "fullbatch-fr", "--budget", "0.3", "--data", "arsenic")
    assert code == 0 and "fullbatch-fr" in out and "sd within 10%" in out and "in rows" in out


def test_cli_scale_runs_sgld_and_reports_the_control_variates_gain():
    args = ("scale", "--n", "2e4", "--methods", "sgld,sgld-cv,minibatch-cv", "--budget", "1", "--json")
    code, out, err = _cli(*args)
    assert code == 0, err
    rows = {r["method"]: r for r in json.loads(out)}
    assert set(rows) == {"sgld", "sgld-cv", "minibatch-cv"} and rows["sgld"]["kind"] == "mcmc"
    assert rows["sgld"]["grad_var_reduction"] is None
    for m in ("sgld-cv", "minibatch-cv"):  # measured, not assumed: about N-fold at N = 2e4
        assert rows[m]["grad_var_reduction"] > 1000


@pytest.mark.parametrize(
    "args",
    [
        ("--n", "0"),
        ("--n", "abc"),
        ("--n", "1e2", "--methods", "nope"),
        ("--n", "5000", "--data", "arsenic"),
        ("--n", "100", "--data", "iris"),
        ("--n", "100", "--budget", "-1"),
        ("--n", "100", "--budget", "x"),
    ],
)
def test_cli_scale_bad_arguments(args):
    code, out, err = _cli("scale", *args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "error" in err
