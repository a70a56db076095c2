"""vi_core.scaling: the package's re-exported names (what ui.compute, the CLI and the benchmark use) and the `scale`
CLI. Seeded, no timed assertions. Each module has its own test file: test_scaling_<module>.py."""

import contextlib
import io
import json

import pytest

import vi_core.scaling
from vi_core.__main__ import main
from vi_core.reference import Reference
from vi_core.scaling import data, methods, model, records, runs, score


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

    assert SCALE_ACCURACY == 0.1 and set(SCALE_METHODS) == {"minibatch-mf", "minibatch-fr", "fullbatch-fr", "emcee",
                                                            "nuts"}  # fmt: skip
    assert ScaleRecord is _scaling.ScaleRecord and callable(_scaling.sweep)


def test_every_module_declares_its_names_and_the_reference_type_no_longer_clashes():
    for module in (data, methods, model, records, runs, score):
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


def test_cli_scale_json():
    code, out, err = _cli("scale", "--n", "1e2,2e2", "--methods", "minibatch-fr,emcee", "--budget", "0.5", "--json")
    assert code == 0, err
    rows = json.loads(out)
    pairs = [(100, "minibatch-fr"), (100, "emcee"), (200, "minibatch-fr"), (200, "emcee")]
    assert [(r["n"], r["method"]) for r in rows] == pairs
    keys = {"n", "method", "kind", "minibatch", "time_to_accuracy_s", "final_accuracy", "n_density_evals"}
    assert all(set(r) == keys | {"n_grad_evals"} for r in rows)
    code, out, _ = _cli("scale", "--n", "100", "--methods", "fullbatch-fr", "--budget", "0.3", "--data", "arsenic")
    assert code == 0 and "fullbatch-fr" in out


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
