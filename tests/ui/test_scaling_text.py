"""ui.scaling_text, the Scaling page's words and numbers: the slopes (seconds and rows), the speed ratios, the best
minibatch VI against the best full-data MCMC, the variance bias of VI and SGLD, the control variate's measured gain
and where a recorded sweep comes from, each checked against the records it is given."""

import math
import re

import numpy as np

from tests.ui.test_scaling import _record
from ui import scaling_text
from ui.compute import SCALE_METHODS

# ----------------------------------------------------------------------------- the page's words, from its numbers

LABELS = {m: s.label for m, s in SCALE_METHODS.items()}
KIND = {m: s.kind for m, s in SCALE_METHODS.items()}
NS = (100, 1_000, 10_000, 100_000, 1_000_000)
NUM = r"(-?\d+\.\d\d)"


def _power(method, exponent, c=1e-3, ns=NS, var=1.0, miss=(), budget=40.0, rows_exponent=None):
    """One run per N whose time to accuracy is c * N^exponent (None at the sizes in miss, stopped by the budget),
    its rows to accuracy 100 N^rows_exponent (default: the same exponent); variance ratio var on the coordinate
    furthest from 1."""
    out = []
    for n in ns:
        t = None if n in miss else c * n**exponent
        r = _record(n, method, t, budget=budget, kind=KIND[method], stopped="budget" if n in miss else "converged")
        rows = None if t is None else round(100 * n ** (exponent if rows_exponent is None else rows_exponent))
        out.append(r._replace(var_ratio=np.array([[var, 1 + (var - 1) / 2]] * 4), rows_to_accuracy=rows))
    return out


def _recorded(centred):
    from ui.compute import precomputed_scaling

    pre = precomputed_scaling(centred)
    return pre and pre["records"]


def _expected_word(v: float) -> str:
    """The thresholds as the caption states them, applied to the printed slope."""
    t = scaling_text.SLOPE_TOL
    if abs(v) <= t + 1e-9:
        return "flat"
    if abs(v - 1) <= t + 1e-9:
        return "about linear"
    if v < -t:
        return "falling"
    return "slower than linear" if v < 1 else "faster than linear"


def test_fit_slope_recovers_power_laws_and_matches_the_engine():
    from vi_core.scaling import slope

    for k in (1.0, 0.5, 0.0, -0.3):
        assert math.isclose(scaling_text.fit_slope(NS, [2e-3 * n**k for n in NS]), k, abs_tol=1e-12)
    assert scaling_text.fit_slope([100, 100], [1.0, 2.0]) is None  # one distinct N: no slope
    assert scaling_text.fit_slope([100, 1000, 10_000], [1.0, None, 100.0]) == 1.0  # a miss is left out
    for centred in (True, False):
        recs = _recorded(centred)
        for m in SCALE_METHODS:
            for cost in ("seconds", "rows"):
                ours, engine = scaling_text.method_slope(recs, m, cost=cost), slope(recs, m, cost)
                assert (ours is None and engine is None) or math.isclose(ours, engine, rel_tol=1e-12), (m, cost)


def test_slope_words_follow_the_stated_thresholds():
    recs = _power("fullbatch-fr", 1.0) + _power("nuts", 0.5) + _power("minibatch-mf", 0.0)
    lines = {line.split(":")[0]: line for line in scaling_text.slope_sentences(recs, LABELS)[1:]}
    assert "slope 1.00 over N = 100–1,000,000 (5 sizes), about linear" in lines[LABELS["fullbatch-fr"]]
    assert "slope 0.50 over N = 100–1,000,000 (5 sizes), slower than linear" in lines[LABELS["nuts"]]
    assert "slope 0.00 over N = 100–1,000,000 (5 sizes), flat" in lines[LABELS["minibatch-mf"]]
    # the thresholds, at their edges (judged on the printed value) and beyond
    for s, word in [(0.2, "flat"), (0.204, "flat"), (0.206, "slower than linear"), (0.79, "slower than linear"),
                    (0.8, "about linear"), (1.2, "about linear"), (1.21, "faster than linear"), (-0.2, "flat"),
                    (-0.21, "falling"), (1.0, "about linear"), (0.5, "slower than linear"), (0.0, "flat")]:  # fmt: skip
        assert scaling_text.slope_word(s) == word, s
    header = scaling_text.slope_sentences(recs, LABELS)[0]
    assert "Within 0.2 of 0 a slope is called flat, within 0.2 of 1 about linear" in header


def test_slope_captions_parse_back_to_the_fits():
    """Every slope the captions quote is the fit of the records given, in both currencies, and its word is the
    threshold's."""
    line_re = re.compile(
        rf"^(?P<label>.+?): slope {NUM} over N = (?P<span>[\d,–]+) \((?P<k>\d+) sizes\), (?P<word>[a-z ]+?)"
        rf"(?:; over N = (?P<big_span>[\d,–]+) alone \(\d+ sizes\) {NUM}, (?P<big_word>[a-z ]+?))?"
        rf"(?: \(in (?P<other>rows touched|time): {NUM}\))?"
        r"(?:\. Settled short of the accuracy at N = (?P<settled>[\d, ]+): its estimate stopped moving towards the "
        r"truth \(a bias, not a lack of time\))?"
        r"(?:\. Not reached within (?P<budget>[\d.]+) s at N = (?P<miss>[\d, ]+): left out of the fit \(it needs "
        r"longer\))?\.$"
    )
    synthetic = _power("minibatch-mf", 0.5, rows_exponent=0.7) + _power("emcee", 1.1, miss=(1_000_000,), budget=30.0)
    sets = [_recorded(True), _recorded(False), synthetic]
    for recs in sets:
        for cost, other in (("seconds", "rows"), ("rows", "seconds")):
            lines = scaling_text.slope_sentences(recs, LABELS, cost)[1:]
            assert len(lines) == len({r.method for r in recs})
            for line in lines:
                if ": reached the accuracy at fewer than two sizes" in line:
                    continue
                m = line_re.match(line)
                assert m, line
                method = next(k for k, v in LABELS.items() if v == m["label"])
                assert float(m[2]) == round(scaling_text.method_slope(recs, method, cost=cost), 2)
                assert m["word"] == _expected_word(float(m[2]))
                hit = sorted({r.n for r in recs if r.method == method and r.time_to_accuracy_s is not None})
                assert m["span"] == f"{hit[0]:,}–{hit[-1]:,}" and int(m["k"]) == len(hit)
                if m["big_span"]:
                    big = float(m[7])
                    assert big == round(scaling_text.method_slope(recs, method, scaling_text.LARGE_N, cost), 2)
                    assert m["big_word"] == _expected_word(big)
                if m["other"]:
                    assert float(m[10]) == round(scaling_text.method_slope(recs, method, cost=other), 2)
                runs = [r for r in recs if r.method == method and r.time_to_accuracy_s is None]
                settled = sorted({r.n for r in runs if r.stopped == "settled"})
                missed = sorted({r.n for r in runs} - set(settled))
                assert (m["settled"] or "") == ", ".join(f"{n:,}" for n in settled)
                assert (m["miss"] or "") == ", ".join(f"{n:,}" for n in missed)
                if missed:
                    assert float(m["budget"]) == max(r.budget_s for r in runs if r.n in missed)
    # the synthetic emcee: 1.10 over its four reached sizes, left out at 10^6; the mean-field's rows slope 0.70
    line = scaling_text.slope_sentences(sets[2], LABELS)[2]
    assert "slope 1.10" in line and "Not reached within 30 s at N = 1,000,000" in line
    assert "(in rows touched: 0.70)" in scaling_text.slope_sentences(sets[2], LABELS)[1]
    assert "(in time: 0.50)" in scaling_text.slope_sentences(sets[2], LABELS, "rows")[1]


def _speed_parts(sentence):
    """{short label: seconds, or None (not reached), or "settled"} and the closing comparison of a speed sentence."""
    head, _, tail = sentence.partition("): ")
    body, _, verdict = tail.partition(". ")
    body, _, settled = body.partition("settled short of the accuracy: ")
    body, _, missed = body.partition("not reached within ")
    times = {}
    for item in filter(None, (s.strip() for s in body.split(";"))):
        label, t = re.match(r"^(.+) (\d[\d.e+-]*) s$", item).groups()
        times[label] = float(t)
    if missed:
        for label in filter(None, (s.strip() for s in missed.split(": ", 1)[1].rstrip(".").split(";"))):
            times[label] = None
    for label in filter(None, (s.strip() for s in settled.rstrip(".").split(";"))):
        times[label] = "settled"
    return head, times, verdict


def test_speed_sentences_quote_the_records_times_and_ratio():
    short = {m: lab.split(" (")[0] for m, lab in LABELS.items()}
    for recs in (_recorded(True), _recorded(False)):
        big, small = scaling_text.speed_sentences(recs, LABELS)
        assert big.startswith("At N = 1,000,000 (one run per method, on one machine with one seed")
        assert small.startswith("At N = 100 (")
        for n, sentence in ((1_000_000, big), (100, small)):
            _, times, verdict = _speed_parts(sentence)
            at = {r.method: r for r in recs if r.n == n}
            want = {short[m]: (float(f"{r.time_to_accuracy_s:.3g}") if r.time_to_accuracy_s is not None else
                               "settled" if r.stopped == "settled" else None) for m, r in at.items()}  # fmt: skip
            assert times == want
            t = {m: r.time_to_accuracy_s for m, r in at.items()}
            vi = min((v, m) for m, v in t.items() if KIND[m] == "vi" and v is not None)
            mc = [(v, m) for m, v in t.items() if KIND[m] == "mcmc" and v is not None]
            if mc:
                ratio = min(mc)[0] / vi[0]
                if ratio > 1 and round(ratio, 1) > 1.0:
                    assert re.search(rf"{re.escape(short[vi[1]])}, got there {ratio:.1f}× sooner than the fastest "
                                     rf"MCMC method, {re.escape(short[min(mc)[1]])}\.$", verdict), verdict  # fmt: skip
            else:
                assert "faster" in verdict and short[vi[1]] in verdict
    # where each N was measured, when the page knows
    big, small = scaling_text.speed_sentences(_recorded(True), LABELS, {100: "live", 1_000_000: "recorded"})
    assert big.startswith("At N = 1,000,000 (recorded sweep; one run per method, on one machine with one seed")
    assert small.startswith("At N = 100 (measured live on this server; one run per method")


def test_a_method_that_settled_short_is_no_lower_bound():
    recs = [_record(1000, "minibatch-mf", 2.0), _record(1000, "sgld", None, kind="mcmc", stopped="settled")]
    (sentence,) = scaling_text.speed_sentences(recs, LABELS)
    assert "settled short of the accuracy: SGLD" in sentence and "not reached within" not in sentence
    assert sentence.endswith("No MCMC method reached it: each settled short of it (a bias more time does not remove).")
    recs.append(_record(1000, "nuts", None, kind="mcmc", stopped="budget", budget=40.0))
    (sentence,) = scaling_text.speed_sentences(recs, LABELS)
    assert "not reached within 40 s: NUTS; settled short of the accuracy: SGLD" in sentence
    assert "was more than 20.0× faster (the budget over its time)" in sentence


def test_versus_quotes_time_and_rows_of_the_best_of_each():
    recs = [_record(10**6, "minibatch-cv", 0.2)._replace(rows_to_accuracy=4_000_000),
            _record(10**6, "minibatch-fr", 0.3)._replace(rows_to_accuracy=30_000_000),
            _record(10**6, "nuts", 60.0, kind="mcmc")._replace(rows_to_accuracy=1_500_000_000),
            _record(10**6, "emcee", None, kind="mcmc", stopped="budget")._replace(rows_touched=4_000_000_000),
            _record(10**6, "sgld-cv", 0.1, kind="mcmc")._replace(rows_to_accuracy=1_000_000)]  # fmt: skip
    text = scaling_text.versus_sentence(recs, LABELS, 10**6)
    assert text.startswith(f"At N = 1,000,000, the best minibatch VI, {LABELS['minibatch-cv']}, reached the fair "
                           "accuracy in 0.2 s having touched 4 million rows; the best full-data MCMC, NUTS, in 60 s "
                           "and 1.5 billion rows: 300.0× the time and 375× the rows.")  # fmt: skip
    only_miss = [r for r in recs if r.method != "nuts"]
    text = scaling_text.versus_sentence(only_miss, LABELS, 10**6)
    assert "no full-data MCMC method got there within its budget (emcee touched 4 billion rows in 2 s" in text
    assert scaling_text.versus_sentence(recs[:2], LABELS, 10**6) is None  # no full-data MCMC at all


def test_the_reduction_sentence_quotes_the_measured_factors():
    recs = [_record(n, "minibatch-cv", 0.1)._replace(grad_var_reduction=f) for n, f in
            ((1_000, 1.4e3), (10_000, 1.2e4), (100_000, 1.1e5))]  # fmt: skip
    recs.append(_record(100_000, "sgld-cv", 0.1, kind="mcmc")._replace(grad_var_reduction=1.3e5))
    text = scaling_text.reduction_sentence(recs, LABELS)
    assert "12,000× at N = 10,000; 120,000× at N = 100,000." in text and "at N = 1,000;" not in text  # from 10^4
    assert scaling_text.reduction_sentence([_record(100, "minibatch-fr", 0.1)], LABELS) is None


def test_speed_with_several_seeds_quotes_a_median_and_range():
    recs = []
    for t_vi, t_mc in ((1.0, 9.0), (2.0, 12.0), (4.0, 30.0)):
        recs += [_record(1000, "minibatch-mf", t_vi), _record(1000, "nuts", t_mc, kind="mcmc")]
    (sentence,) = scaling_text.speed_sentences(recs, LABELS)
    assert "median of up to 3 runs per method" in sentence and "single measurement" not in sentence
    assert "Minibatch VI, mean-field 2 s (1 s to 4 s)" in sentence and "NUTS 12 s (9 s to 30 s)" in sentence
    assert "got there 6.0× sooner" in sentence  # 12 / 2: the ratio of the medians
    # MCMC faster, and about as fast
    slow = [_record(1000, "minibatch-mf", 5.0), _record(1000, "emcee", 1.0, kind="mcmc")]
    assert "The fastest MCMC method, emcee, got there 5.0× sooner" in scaling_text.speed_sentences(slow, LABELS)[0]
    same = [_record(1000, "minibatch-mf", 1.0), _record(1000, "emcee", 1.02, kind="mcmc")]
    assert "took about as long (ratio 1.0)" in scaling_text.speed_sentences(same, LABELS)[0]


def _bias_line(lines, start):
    return next(line for line in lines if line.startswith(start))


def test_bias_sentences_quote_the_ratios_and_say_where_the_bias_stays():
    centred, uncentred = _recorded(True), _recorded(False)
    mf = LABELS["minibatch-mf"]
    for here, other, setting in ((centred, uncentred, "centred"), (uncentred, centred, "uncentred")):
        lines = scaling_text.bias_sentences(here, LABELS, setting == "centred", other)
        line = _bias_line(lines, f"{mf}, {setting} covariate: ")
        pairs = scaling_text.variance_ratios(here, "minibatch-mf")
        assert len(pairs) == 5  # the mean-field runs all reached the accuracy
        assert ", ".join(f"{v:.2f}" for _, v in pairs) in line
        med = float(np.median([v for _, v in pairs]))
        m = re.search(rf"The median, {NUM}, means \|ρ\| ≈ {NUM}\. At N = 1,000,000 it is {NUM}, (in|out)side", line)
        assert m and float(m[1]) == round(med, 2) and float(m[2]) == round(math.sqrt(1 - round(med, 2)), 2)
        assert float(m[3]) == round(pairs[-1][1], 2)
        assert m[4] == ("out" if abs(round(pairs[-1][1], 2) - 1) > scaling_text.BIAS_TOL else "in")
        # every number on the uncentred side is below 0.9 (the bias that stays), the centred one inside 0.9-1.1 at 10^6
        unc = scaling_text.variance_ratios(uncentred, "minibatch-mf")
        assert (
            all(v < 0.9 for _, v in unc) and 0.9 <= scaling_text.variance_ratios(centred, "minibatch-mf")[-1][1] <= 1.1
        )
        last = lines[-1]
        assert last.startswith(f"In the recorded {'uncentred' if setting == 'centred' else 'centred'} sweep")
        assert "The bias that stays as N grows is the uncentred covariate's" in last
        lo, hi = (min(v for _, v in scaling_text.variance_ratios(other, "minibatch-mf")),
                  max(v for _, v in scaling_text.variance_ratios(other, "minibatch-mf")))  # fmt: skip
        assert f"has {lo:.2f} to {hi:.2f} over N = 100–1,000,000" in last
    centred_line = _bias_line(scaling_text.bias_sentences(centred, LABELS, True, uncentred), f"{mf}, centred")
    assert "inside 0.9–1.1: no visible bias" in centred_line
    uncentred_line = _bias_line(scaling_text.bias_sentences(uncentred, LABELS, False, centred), f"{mf}, uncentred")
    assert "outside 0.9–1.1 at every N" in uncentred_line and "more data did not remove the bias" in uncentred_line


def test_bias_words_follow_the_band():
    here = _power("minibatch-mf", 0.5, var=0.95) + _power("minibatch-fr", 0.5, var=1.0)
    other = _power("minibatch-mf", 0.5, var=0.5)
    lines = scaling_text.bias_sentences(here, LABELS, True, other)
    assert "0.95, 0.95, 0.95, 0.95, 0.95 at N = 100" in lines[1] and "inside 0.9–1.1 at every N" in lines[1]
    assert "|ρ| ≈ 0.22" in lines[1]  # sqrt(1 - 0.95)
    assert lines[2] == f"{LABELS['minibatch-fr']}: 1.00 to 1.00 over N = 100–1,000,000, inside 0.9–1.1 at every N."
    assert "0.50 to 0.50" in lines[-1] and "|ρ| ≈ 0.71" in lines[-1] and "stays as N grows" in lines[-1]
    # biased at every N in both settings: said so, and no claim that centring removes it
    both = scaling_text.bias_sentences(other, LABELS, True, other)
    assert both[-1].endswith("At the largest N both covariate settings leave it outside 0.9–1.1.")
    # mixed: outside at the small N only (0.89 is outside, 0.90 inside: the band is stated to two decimals)
    mixed = [_power("minibatch-mf", 0.5, ns=(100,), var=0.89)[0], *_power("minibatch-mf", 0.5, ns=NS[1:], var=0.9)]
    line = scaling_text.bias_sentences(mixed, LABELS, True)[1]
    assert "outside 0.9–1.1 at N = 100, inside at N = 1,000–1,000,000" in line and "no visible bias" in line
    # runs that did not reach the accuracy are left out, as in the chart
    assert scaling_text.variance_ratios([_record(100, "minibatch-mf", None, stopped="budget")], "minibatch-mf") == []


def test_recorded_caption_says_when_and_where():
    from ui.compute import precomputed_scaling

    for centred in (True, False):
        pre = precomputed_scaling(centred)
        text = scaling_text.recorded_caption(pre)
        assert pre["machine"] in text and pre["date"] in text and "recorded by" in text
        assert f"budget {pre['settings']['budget_s']:g} s per run" in text
        assert ("uncentred covariate" in text) is (not centred)
        assert text.startswith("N = 100, 1,000, 10,000, 100,000, 1,000,000: ")
    assert scaling_text.recorded_caption(pre, [100_000]).startswith("N = 100,000: ")
