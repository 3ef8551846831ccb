"""Three-arm scoring (pure): truncation apart from checks, exact intervals, incumbent vs logs, fix rates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainer.evaluation.run import (
    TRUNCATED,
    HeldOutExample,
    compare,
    fix_rates,
    generation_budget,
    incumbent_record,
    load_test_examples,
    score_variant,
    task_kind,
)

GOOD = "Lamp — quiet order.\n• Dimmable.\n• Oak base.\n• Cable cut-out.\nMade to last."


def checker(text: str) -> list[str]:
    fails = []
    if sum(1 for ln in text.splitlines() if ln.startswith("• ")) != 3:
        fails.append("check:bullets")
    if not text.rstrip().endswith("Made to last."):
        fails.append("check:signoff")
    return fails


def ex(i: int, *, ok: bool = True, ref: str | None = None, cluster: str | None = None) -> HeldOutExample:
    return HeldOutExample(id=str(i), short_messages=[], full_messages=[], incumbent_output=GOOD if ok else "bad",
                          reference=ref, cluster=cluster, incumbent_ok=ok)


def score(name, exs, outs, truncated=None, source="generated here (greedy)"):
    return score_variant(name, "m", None, "p", exs, outs, [100] * len(outs), [30] * len(outs), [10.0] * len(outs),
                         checker, False, ["check:bullets", "check:signoff"], truncated=truncated, source=source)


def test_output_cut_by_the_token_limit_is_reported_as_truncated_not_as_a_format_failure():
    exs = [ex(i) for i in range(4)]
    cut = GOOD.rsplit("\n", 2)[0]  # the limit stopped it before the last bullet and the sign-off
    v = score("base", exs, [GOOD, GOOD, cut, cut], truncated=[False, False, True, True])
    assert v.truncated == 2 and v.passes == 2 and v.pass_rate == 0.5
    cut_rows = [r for r in v.examples if r.truncated]
    assert all(r.failed_checks == [TRUNCATED] for r in cut_rows)
    # the checks are judged on the untruncated outputs only: the cut answers are not format failures
    assert v.check_pass_rates == {"check:bullets": 1.0, "check:signoff": 1.0}
    assert v.pass_rate_untruncated == 1.0


def test_pass_rate_interval_is_clopper_pearson_not_a_degenerate_bootstrap():
    exs = [ex(i) for i in range(40)]
    v = score("candidate", exs, [GOOD] * 40)
    assert v.pass_rate == 1.0 and round(100 * v.pass_rate_ci[0]) == 91 and v.pass_rate_ci[1] == 1.0


def test_reference_metrics_only_where_a_label_gives_the_answer_and_task_kind():
    exs = [ex(0, ref=GOOD), ex(1), ex(2, ref="Another answer.")]
    assert task_kind(exs, False) == "text" and task_kind(exs, True) == "json"
    v = score("candidate", exs, [GOOD, GOOD, GOOD])
    assert v.n_reference == 2 and v.exact_match == 0.5
    assert v.examples[1].chrf is None and v.examples[0].chrf == pytest.approx(1.0)
    labels = [ex(i, ref=r) for i, r in enumerate(["spam", "ham", "spam", "ham", "spam", "ham"])]
    assert task_kind(labels, False) == "labels"


def test_three_arms_wins_losses_and_fix_rates_against_the_incumbent():
    exs = [ex(i, ok=i >= 4, cluster="format" if i < 4 else None) for i in range(10)]
    inc = score("incumbent", exs, [e.incumbent_output for e in exs], source="logged production output")
    cand_out = [GOOD, GOOD, GOOD, "bad", GOOD, GOOD, GOOD, GOOD, GOOD, "bad"]
    cand = score("candidate", exs, cand_out)
    c = compare(inc, cand)
    assert (c.wins, c.losses, c.ties_pass, c.ties_fail) == (3, 1, 5, 1)
    assert c.p_value == pytest.approx(0.625)  # exact McNemar: 2·P[Bin(4, ½) ≤ 1] = 2·5/16
    fixes, broken = fix_rates(exs, inc, cand)
    assert fixes["format"].fixed == 3 and fixes["format"].incumbent_failed == 4 and fixes["format"].judged_by == "checks"
    assert (broken.k, broken.n) == (1, 6)


def test_label_only_failure_is_judged_against_the_reference():
    # the incumbent passed the checks but a reviewer found a wrong fact: fixed only if closer to the reference
    right = GOOD.replace("Oak", "Walnut")
    exs = [HeldOutExample(id="0", short_messages=[], full_messages=[], incumbent_output=GOOD, reference=right,
                          cluster="factual", incumbent_ok=False)] * 2
    inc = score("incumbent", exs, [GOOD, GOOD], source="logged production output")
    cand = score("candidate", exs, [right, GOOD])
    fixes, _ = fix_rates(exs, inc, cand)
    assert fixes["factual"].fixed == 1 and fixes["factual"].incumbent_failed == 2
    assert fixes["factual"].judged_by == "reference"


def test_incumbent_rate_on_test_split_vs_logs():
    exs = [ex(i, ok=i % 10 >= 3) for i in range(40)]  # 12/40 failed
    rec = incumbent_record(exs, logs_failures=620, logs_requests=2000)
    assert (rec.test.k, rec.test.n) == (12, 40) and rec.test.ci[0] < 0.31 < rec.test.ci[1]
    assert rec.logs is not None and rec.logs.rate == pytest.approx(0.31)
    assert rec.logs_within_test_ci is True and rec.test_within_logs_ci is True  # 620/2000: 0.290–0.331 ∋ 0.30
    rec = incumbent_record(exs, logs_failures=700, logs_requests=2000)  # 0.35, interval ≈ 0.329–0.371
    assert rec.test_within_logs_ci is False and rec.logs_within_test_ci is True


def test_generation_budget_is_production_p99_plus_margin():
    lengths = list(range(1, 101))  # p99 = 99
    assert generation_budget(lengths) == (99 + 25, 99)
    assert generation_budget([10] * 50) == (26, 10)  # margin at least 16 tokens


def test_load_test_examples_reads_the_incumbent_block(tmp_path):
    row = {"messages": [{"role": "system", "content": "short"}, {"role": "user", "content": "u"},
                        {"role": "assistant", "content": "logged"}],
           "original_messages": [{"role": "system", "content": "full"}, {"role": "user", "content": "u"},
                                 {"role": "assistant", "content": "logged"}],
           "metadata": {"id": "r1", "cluster": "format", "incumbent": {
               "model": "gpt-4o", "ok": False, "reason": "failed_check", "finish_reason": "length",
               "reference": None, "reference_source": None}}}
    p = tmp_path / "test.jsonl"
    p.write_text(json.dumps(row) + "\n")
    (e,) = load_test_examples(p)
    assert e.incumbent_output == "logged" and e.reference is None and not e.incumbent_ok
    assert e.incumbent_truncated and e.incumbent_model == "gpt-4o" and e.full_messages[0]["content"] == "full"


def tiny_run(tmp_path: Path, **config) -> Path:
    """A tiny local base saved to disk and trained into tmp_path/run on toy rows; returns the data directory."""
    from tests.test_train import small_config, tiny_loaded, toy_rows, write_jsonl
    from trainer.training.train import train

    data = tmp_path / "data"
    data.mkdir()
    write_jsonl(data / "train.jsonl", toy_rows(24, 1))
    model, tok, _ = tiny_loaded()
    model.save_pretrained(tmp_path / "tiny-base")
    tok.save_pretrained(tmp_path / "tiny-base")
    train(small_config(eval_every=100, save_every=100, **config), data / "train.jsonl", None,
          base=str(tmp_path / "tiny-base"), out_dir=tmp_path / "run", progress=False)
    return data


def test_run_evaluation_three_arms_on_a_tiny_model_reports_truncation(tmp_path):
    """End to end on a tiny local model: three arms, the incumbent scored from the log for free, a base model
    that rambles to the token limit counted as truncated (not as a check failure)."""
    from tests.test_train import toy_rows, write_jsonl
    from trainer.evaluation.run import run_evaluation

    data = tiny_run(tmp_path, max_steps=2)
    rows = []
    for i, r in enumerate(toy_rows(6, 3)):
        target = r["messages"][-1]["content"]
        ok = i % 3 != 0
        r["messages"][-1]["content"] = target if ok else "wrong"
        r["original_messages"] = r["messages"]
        r["metadata"] = {"id": f"t{i}", "cluster": None if ok else "format", "incumbent": {
            "model": "gpt-4o", "ok": ok, "reason": None if ok else "failed_check", "finish_reason": "stop",
            "reference": target, "reference_source": "label.expected"}}
        rows.append(r)
    write_jsonl(data / "test.jsonl", rows)
    toml = tmp_path / "advise.toml"
    toml.write_text('[[failures.checks]]\nname = "answer"\nfull_match = "the answer is \\\\w+"\n')
    ev = run_evaluation(tmp_path / "run", data / "test.jsonl", checks=toml, max_new_tokens=2, probe=False,
                        quiet=True, logs_failures=30, logs_requests=100)
    assert ev.incumbent.source == "logged production output" and ev.incumbent.passes == 4
    assert ev.incumbent_logged.test.k == 2 and ev.incumbent_logged.logs is not None
    assert ev.decoding["max_new_tokens"] == 2
    for arm in (ev.baseline, ev.finetuned):
        cut = [r for r in arm.examples if r.truncated]
        assert arm.truncated == len(cut)
        assert all(r.failed_checks == [TRUNCATED] and not r.passed for r in cut)
    # two new tokens cannot hold "the answer is <n>" (4 words) unless the model stops: all cut or stopped short
    assert ev.baseline.truncated + sum(1 for r in ev.baseline.examples if not r.truncated) == 6
    assert ev.baseline.truncated >= 1
    assert ev.significance.against == "incumbent" and ev.vs_base.against == "base"
    assert ev.finetuned.n_reference == 6 and ev.finetuned.chrf is not None
    assert json.loads(ev.model_dump_json())["schema_version"] == 3


def test_measured_overrides_from_an_evaluation_name_the_model_and_flag_a_proxy():
    from tests.test_report import toy_evaluation
    from trainer.evaluation.measured import overrides_from_evaluation

    ev = toy_evaluation()  # incumbent fails 6/20 (cluster "format"); candidate passes 18/20 (fails the last two)
    ov = overrides_from_evaluation(ev, production_failure_rate=0.3, target="gpt-4o-2024-08-06")
    # the candidate fixes all 6 of the incumbent's failures and breaks 2 of its 14 passes
    assert ov.fix_share == 1.0 and ov.fix_rates == {"format": 1.0}
    assert ov.broken_share == pytest.approx(2 / 14)
    assert ov.failure_rate_after == pytest.approx(0.3 * 0 + 0.7 * 2 / 14)  # = 0.1
    assert ov.model_measured == "base" and ov.proxy is True
    assert overrides_from_evaluation(ev, 0.3, target="base").proxy is False
    assert ov.prompt_token_reduction == pytest.approx(1 - 60 / 500)


@pytest.fixture(scope="module")
def ecommerce_analysis():
    from advisor.analyze import analyze_logs
    from tests.conftest import ROOT

    return analyze_logs([ROOT / "examples" / "ecommerce"])


def test_measured_roi_labels_a_proxy_on_the_bundled_example(ecommerce_analysis):
    from tests.test_report import toy_evaluation
    from trainer.evaluation.measured import measured_roi, recommended_target, trainable_target

    analysis = ecommerce_analysis
    target, open_weight = recommended_target(analysis)
    # the decision names an open-weight base served per token (an adapter billed at the base model's price),
    # which is not on this machine: the embedded model is measured and labelled a proxy for it
    winner = next(s for s in analysis.strategies if s.key == analysis.recommendation.winner)
    assert open_weight and winner.target == f"{target} + LoRA adapter"
    assert trainable_target(analysis) is None
    roi = measured_roi(analysis, toy_evaluation())
    assert roi.proxy is True and roi.model_measured == "base" and roi.label.startswith("proxy:")
    # the toy measured only "format" failures: the decision keeps the prior (0 fixed) for the scattered ones, which
    # the evaluation's pooled formula counts as fixed at the same rate
    scattered = roi.production_failure_rate * analysis.failures.shares.other
    assert roi.measured.failure_rate_after == pytest.approx(roi.overrides.failure_rate_after + scattered, abs=1e-3)
    assert "proxy" in roi.summary


def test_an_open_weight_target_that_is_here_is_the_model_trained_and_measured(tmp_path, ecommerce_analysis):
    """`advise run` trains the recommended open-weight target when it is a local HF directory (or cached)."""
    from advisor.cli.pipeline import RunOptions, _base_to_measure
    from tests.test_train import tiny_loaded
    from trainer.evaluation.measured import recommended_target, trainable_target

    model, tok, _ = tiny_loaded()
    model.save_pretrained(tmp_path / "tiny")
    tok.save_pretrained(tmp_path / "tiny")
    a = ecommerce_analysis
    def target(name: str) -> list:  # the decision names an open-weight target "<base> + LoRA adapter"
        return [s.model_copy(update={"target": f"{name} + LoRA adapter"}) if s.key == "fine-tune-serverless" else s
                for s in a.strategies]

    strategies = target(str(tmp_path / "tiny"))
    rec = a.recommendation.model_copy(update={"winner": "fine-tune-serverless"})
    open_a = a.model_copy(update={"strategies": strategies, "recommendation": rec})
    assert recommended_target(open_a) == (str(tmp_path / "tiny"), True)
    assert trainable_target(open_a) == str(tmp_path / "tiny")
    said: list[str] = []
    assert _base_to_measure(RunOptions(paths=[], out=tmp_path), open_a, said.append) == str(tmp_path / "tiny")
    # not here (an uncached hub id): the embedded model is measured, and the run says it is a proxy
    gone = target("nobody/not-cached-7b")
    missing = a.model_copy(update={"strategies": gone, "recommendation": rec})
    assert trainable_target(missing) is None
    assert _base_to_measure(RunOptions(paths=[], out=tmp_path), missing, said.append) is None
    assert "proxy" in said[-1]
    # an explicit --base always wins
    assert _base_to_measure(RunOptions(paths=[], out=tmp_path, base="x/y"), missing, said.append) == "x/y"


def test_a_full_fine_tune_is_evaluated_against_its_separately_loaded_base(tmp_path):
    """`--method full` writes a whole model (model/, no adapter): evaluate loads it, loads the base beside it
    for the base arm and the forgetting probe, and the two differ because every weight was trained."""
    from tests.test_train import toy_rows, write_jsonl
    from trainer.evaluation.generate import load_adapter
    from trainer.evaluation.run import run_evaluation

    data = tiny_run(tmp_path, method="full", max_steps=3, lr=1e-3)
    loaded, _, run = load_adapter(tmp_path / "run")
    assert run.method == "full" and not hasattr(loaded, "disable_adapter")
    rows = []
    for i, r in enumerate(toy_rows(4, 3)):
        r["original_messages"] = r["messages"]
        r["metadata"] = {"id": f"t{i}", "cluster": None, "incumbent": {
            "model": "gpt-4o", "ok": True, "reason": None, "finish_reason": "stop",
            "reference": r["messages"][-1]["content"], "reference_source": "label.expected"}}
        rows.append(r)
    write_jsonl(data / "test.jsonl", rows)
    ev = run_evaluation(tmp_path / "run", data / "test.jsonl", max_new_tokens=4, quiet=True)
    assert ev.finetuned.n == ev.baseline.n == 4
    fg = ev.forgetting
    assert fg is not None and fg.general_loss_base != fg.general_loss_adapter  # two different sets of weights


def test_eval_json_with_rates_over_no_examples_reads_back(tmp_path):
    """Every candidate answer cut by the token limit leaves per-check rates over 0 examples (NaN). JSON has no
    NaN and pydantic writes null by default, which `advise run`'s rerun then refused; they must read back."""
    import math

    from tests.test_report import toy_evaluation
    from trainer.evaluation.run import Rate, load_evaluation

    ev = toy_evaluation()
    ev.finetuned.check_pass_rates = {"check:bullets": math.nan}
    ev.incumbent_logged.test = Rate(k=0, n=0, rate=math.nan, ci=(math.nan, math.nan))
    path = tmp_path / "eval.json"
    path.write_text(ev.model_dump_json(indent=2))
    json.loads(path.read_text())  # standard JSON (no bare NaN)
    back = load_evaluation(path)
    assert math.isnan(back.finetuned.check_pass_rates["check:bullets"]) and math.isnan(back.incumbent_logged.test.rate)


def test_measured_roi_decides_on_the_offers_the_analysis_used(tmp_path):
    """A user's --offers file changes the serverless price; the measured ROI's prior must be the analysis' own
    figure for the fine-tune, not one recomputed at the bundled price."""
    from advisor.analyze import analyze_logs
    from tests.conftest import ROOT
    from tests.test_report import toy_evaluation
    from trainer.evaluation.measured import measured_roi

    mine = tmp_path / "mine.toml"
    mine.write_text('[[open_weight]]\nkind = "serverless_lora"\nprovider = "wandb"\n'
                    'name = "OpenPipe/Qwen3-14B-Instruct"\nbase_model = "OpenPipe/Qwen3-14B-Instruct"\n'
                    'params_b = 14.8\nlora_upload = true\ninput_mtok = 0.5\noutput_mtok = 2.2\n'
                    'source = "https://contract.example/wandb"\nas_of = 2026-11-29\n')
    analysis = analyze_logs([ROOT / "examples" / "ecommerce"], overrides={"offers_file": str(mine)})
    assert analysis.recommendation.market.offers_files[1] == str(mine)
    roi = measured_roi(analysis, toy_evaluation())
    strategy = next(s for s in analysis.strategies if s.key == roi.strategy)
    assert roi.prior.cost_per_request_after == pytest.approx(strategy.cost_per_request_after, rel=1e-9)
