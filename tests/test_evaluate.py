"""The evaluation engine without models or ../shared/data: gold mapping, metric helpers, skipped sets."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from nlp.evaluate import (
    DEMO_TEXTS,
    JUDGED_INTENTS,
    TOPIC_LABELS,
    binary,
    classification,
    confusion,
    eval_customer_support,
    eval_hebrew,
    eval_rusentiment,
    eval_semeval,
    eval_umsab,
    format_report,
    gold_labels,
    hit_rate,
    load_gold,
    multilabel,
    semeval_pain_point,
    set_linking,
    support_config,
)
from nlp.taxonomy import load_taxonomy


def _no_analyzer():
    pytest.fail("a skipped dataset must not load the models")


def test_every_demo_topic_is_mapped():
    topics = Counter(
        item["topic"]
        for path in sorted(DEMO_TEXTS.glob("*.yaml"))
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["audience"]
    )
    assert topics, "no demo texts found"
    assert set(topics) <= set(TOPIC_LABELS), sorted(set(topics) - set(TOPIC_LABELS))


def test_topic_labels_use_taxonomy_ids():
    pains, motives = set(load_taxonomy("pain_points").ids), set(load_taxonomy("motives").ids)
    for labels in TOPIC_LABELS.values():
        assert set(labels.pain_points) <= pains
        assert set(labels.motives) <= motives
        assert set(labels.intents) <= set(JUDGED_INTENTS)


def test_gold_labels_follow_topic_and_tone():
    delay = gold_labels("delivery_delay", "negative")
    assert delay.pain_points == ("delays",) and "complaint" in delay.intents
    praised = gold_labels("courier", "positive")
    assert praised.pain_points == () and praised.intents == ("praise",)
    assert gold_labels("pass_question", "neutral").motives == ("general_info",)
    assert gold_labels("false_hit", "negative").pain_points == ()
    with pytest.raises(KeyError, match="no_such_topic"):
        gold_labels("no_such_topic", "neutral")


def test_load_gold_reads_every_language_and_normalises_switching():
    posts = load_gold(limit=200)
    assert {p.language for p in posts} == {p.stem for p in DEMO_TEXTS.glob("*.yaml")}
    switchers = [p for p in posts if p.switch_from]
    assert switchers and all(isinstance(p.switch_from, frozenset) for p in switchers)
    sample = load_gold(limit=3)
    assert len(sample) == 3 * len(list(DEMO_TEXTS.glob("*.yaml")))
    assert [p.id for p in sample] == [p.id for p in load_gold(limit=3)]  # deterministic
    assert len({p.topic for p in load_gold(limit=20)}) > 3  # sampled across topics, not the first ones


def test_classification_on_a_hand_computed_example():
    gold = ["negative", "negative", "neutral", "positive"]
    pred = ["negative", "neutral", "neutral", "negative"]
    result = classification(gold, pred)
    # negative: P 1/2 R 1/2 F 1/2; neutral: P 1/2 R 1 F 2/3; positive: F 0.
    assert result["metrics"]["accuracy"] == 0.5
    assert result["metrics"]["macro_f1"] == pytest.approx((0.5 + 2 / 3 + 0) / 3, abs=1e-4)
    assert result["confusion"] == {
        "labels": ["negative", "neutral", "positive"],
        "matrix": [[1, 1, 0], [0, 1, 0], [1, 0, 0]],
    }
    assert result["per_label"]["neutral"] == {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "support": 1}


def test_classification_two_gold_classes_three_way_predictions():
    gold = ["positive", "positive", "negative", "negative"]
    pred = ["positive", "neutral", "negative", "positive"]
    result = classification(gold, pred, ("negative", "positive"), ("negative", "neutral", "positive"))
    # negative: P 1 R 1/2 F 2/3; positive: P 1/2 R 1/2 F 1/2; the neutral counts wrong.
    assert result["metrics"]["accuracy"] == 0.5
    assert result["metrics"]["macro_f1"] == pytest.approx((2 / 3 + 1 / 2) / 2, abs=1e-4)
    assert result["confusion"]["matrix"] == [[1, 0, 1], [0, 0, 0], [0, 1, 1]]


def test_confusion_keeps_label_order():
    assert confusion(["b", "a"], ["a", "a"], ["b", "a"])["matrix"] == [[0, 1], [0, 1]]


def test_multilabel_micro_and_macro():
    gold = [{"a"}, {"a", "b"}, set()]
    pred = [{"a"}, {"b", "c"}, {"c"}]
    result = multilabel(gold, pred, ["a", "b", "c"])
    # pairs: tp = a, b -> 2; fp = c, c -> 2; fn = a -> 1. micro P 1/2, R 2/3, F 4/7.
    assert result["metrics"]["micro_precision"] == 0.5
    assert result["metrics"]["micro_recall"] == pytest.approx(2 / 3, abs=1e-4)
    assert result["metrics"]["micro_f1"] == pytest.approx(4 / 7, abs=1e-4)
    # macro over supported labels a (P 1, R 1/2, F 2/3) and b (F 1); c has no gold support.
    assert result["metrics"]["macro_f1"] == pytest.approx((2 / 3 + 1) / 2, abs=1e-4)
    assert result["per_label"]["c"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 0,
        "predicted": 2,
    }


def test_multilabel_ignores_ids_outside_the_labels():
    result = multilabel([{"a"}], [{"a", "z"}], ["a"])
    assert result["metrics"]["micro_precision"] == 1.0


def test_binary_and_hit_rate_and_linking():
    assert binary([True, True, False, False], [True, False, True, False]) == {
        "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2, "predicted": 2,
    }  # fmt: skip
    gold, pred = [{"a"}, {"a", "b"}, set()], [{"a", "x"}, {"b"}, {"c"}]
    assert hit_rate(gold, pred) == 0.5
    assert hit_rate(gold, pred, require_all=False) == 1.0
    assert hit_rate([set()], [{"a"}]) is None
    # tp a, b = 2; fp x, c = 2; fn a = 1.
    assert set_linking(gold, pred) == {"precision": 0.5, "recall": 0.6667, "f1": 0.5714, "exact_match": 0.0}


def test_semeval_category_mapping():
    assert semeval_pain_point("FOOD", "PRICES") == "price_value"
    assert semeval_pain_point("LAPTOP", "PRICE") == "price_value"
    assert semeval_pain_point("SUPPORT", "PRICE") == "customer_service"
    assert semeval_pain_point("SERVICE", "GENERAL") == "staff_behavior"
    assert semeval_pain_point("BATTERY", "OPERATION_PERFORMANCE") == "product_quality"
    assert semeval_pain_point("AMBIENCE", "GENERAL") is None
    assert semeval_pain_point("LAPTOP", "DESIGN_FEATURES") is None


def test_support_config_has_one_own_brand_and_handles():
    config = support_config(["AppleSupport", "Tesco", "SomeNewCare"])
    assert [b.id for b in config.brands if b.own] == ["apple"]
    assert config.brand("apple").handles == ["@AppleSupport"]
    assert config.brand("b_somenewcare").handles == ["@SomeNewCare"]


@pytest.mark.parametrize("evaluate", [eval_umsab, eval_rusentiment, eval_hebrew, eval_semeval])
def test_missing_shared_folder_is_skipped(tmp_path: Path, evaluate):
    result = evaluate(tmp_path / "absent", _no_analyzer, 5)
    assert set(result) == {"skipped"} and "not found" in result["skipped"]


def test_missing_customer_support_folder_is_skipped(tmp_path: Path):
    result = eval_customer_support(tmp_path / "absent", tmp_path, 5)
    assert "not found" in result["skipped"]


def test_report_lists_skipped_sets_and_tables():
    results = {
        "mode": "fast",
        "limit": 5,
        "gold": {
            "dataset": "gold",
            "n": 4,
            "tasks": {"sentiment": {"split": "all", **classification(["negative"] * 4, ["negative"] * 4)}},
        },
        "umsab": {"skipped": "/nowhere/umsab not found"},
    }
    report = format_report(results)
    assert "| sentiment | gold | all | 4 | accuracy | 1.000 |" in report
    assert "/nowhere/umsab not found" in report
    assert "Confusion (rows gold, columns predicted)" in report
