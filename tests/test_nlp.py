"""NLP components: pure pieces with hand-made inputs, then the real encoder and heads on edge cases."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nlp.credibility import credibility
from nlp.e5_rebuild import _dequantise_q4
from nlp.heads import load_heads, task_labels
from nlp.insights import Analyzer, Item, Mention, _closest_cue, clauses, evidence_span, has_symbols, has_words
from nlp.models import ModelUnavailable
from schemas.config import load_config, parse_config
from tests.conftest import REPO


# -- pure pieces ----------------------------------------------------------------------------------
def test_q4_blocks_dequantise_low_nibbles_first():
    scale = np.array([0.5], dtype="<f2").tobytes()
    nibbles = bytes((j % 16) | (((15 - j) % 16) << 4) for j in range(16))  # low j, high 15-j
    weights = _dequantise_q4(scale + nibbles, 1, 32)[0]
    assert weights[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert weights[16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]


def test_clauses_split_at_punctuation_and_contrast_words():
    text = "Kvik was fast, but the courier was rude. Korvo is fine"
    spans = [text[a:b].strip() for a, b in clauses(text, "en")]
    assert spans == ["Kvik was fast,", "but the courier was rude.", "Korvo is fine"]
    pl = "Kvik szybki, ale kurier niemiły"
    assert [pl[a:b].strip() for a, b in clauses(pl, "pl")] == ["Kvik szybki,", "ale kurier niemiły"]


def test_evidence_is_the_best_clause_trimmed_to_the_words_that_carry_it():
    text = "Lovely weather today. The parcel arrived two days late again"
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    offsets = np.array(words, dtype=np.int32)
    contributions = np.zeros(len(words))
    contributions[[6, 7, 8]] = [1.0, 2.0, 1.5]  # "two days late"
    start, end = evidence_span(text, "en", offsets, contributions)
    assert text[start:end] == "two days late"


def test_evidence_ignores_links_and_mentions():
    text = "@kvik late again https://kvik.eu/status"
    words = [(0, 5), (6, 10), (11, 16), (17, 39)]
    contributions = np.array([5.0, 1.0, 0.5, 9.0])
    start, end = evidence_span(text, "en", np.array(words), contributions, [(0, 5), (17, 39)])
    assert text[start:end] == "late"


@pytest.mark.parametrize(
    ("text", "words", "symbols"),
    [("", False, False), ("🤬🤬", False, True), ("https://x.y/z @kvik", False, False), ("ok 👍", True, True),
     ("שירות גרוע", True, False)],
)  # fmt: skip
def test_content_checks(text, words, symbols):
    assert has_words(text) is words
    assert has_symbols(text) is symbols


@pytest.mark.parametrize(
    "text",
    ["a  b", " lead", "trail ", "x\n\ny", "", "   ", "a \n b", "שלום 😀 עולם!", "one", "a b c", "a\tb c"],
)
def test_the_tokenizer_keeps_the_text_exactly(text):
    import spacy

    from nlp.pipeline import WhitespaceTokenizer, doc_text

    doc = WhitespaceTokenizer(spacy.blank("xx").vocab)(text)
    assert doc.text == text and doc_text(doc) == text
    assert [t.text for t in doc if not t.is_space] == text.split()


def test_encoder_batches_keep_the_order_and_the_token_budget():
    from nlp.encoder import MAX_BATCH_TOKENS, _batches

    assert MAX_BATCH_TOKENS == 4096  # the figures below assume it
    lengths = [5, 300, 40, 40, 200, 200, 200, 3, 8192, 1200, 1200, 1200, 1200, 1500, 1500, 1500]
    order = np.argsort(lengths, kind="stable")
    batches = _batches(order, lengths, 3)
    assert np.concatenate(batches).tolist() == order.tolist()  # every post once, shortest first
    assert [[lengths[i] for i in b] for b in batches] == [
        [3, 5, 40],
        [40, 200, 200],
        [200, 300, 1200],
        [1200, 1200, 1200],
        [1500, 1500],
        [1500],
        [8192],
    ]  # at most 3 rows and 4,096 padded tokens; a longer post alone
    assert [len(b) for b in _batches(np.arange(100), [34] * 100, 32)] == [32, 32, 32, 4]


def test_fold_maps_every_folded_character_back_to_the_original():
    from nlp.text import fold

    assert fold("Zażółć GĘŚLĄ") == ("zazolc gesla", list(range(12)))
    folded, offsets = fold("Straße Ёлка")
    assert folded == "strasse елка" and offsets[4:6] == [4, 4] and offsets[-1] == 10
    assert fold("e\u0301t") == ("et", [0, 2])
    assert fold("Plain ASCII") == ("plain ascii", list(range(11)))


def test_switch_cues_take_the_closest_cue_before_the_brand():
    to, frm = {"switched to", "to"}, {"from", "leaving"}
    assert _closest_cue("i switched to", to, frm) == "to"
    assert _closest_cue("leaving", to, frm) == "from"
    assert _closest_cue("switched from kvik to", to, frm) == "to"
    assert _closest_cue("nothing here", to, frm) is None


def _credibility_table(rows: list[dict]) -> pa.Table:
    now = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    base = {"author_id": "a_0000000000000001",
            "created_at": now, "author_created_at": now - dt.timedelta(days=900), "author_post_count": 1000,
            "author_followers": 120, "author_following": 200, "author_bio_length": 40}  # fmt: skip
    return pa.Table.from_pylist([base | {"text": f"post number {i} about my weekly groceries"} | r
                                 for i, r in enumerate(rows)])  # fmt: skip


def test_credibility_flags_each_signal_and_marks_likely_bots():
    now = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    spam = "Best deals today only at this link, don't miss it"
    table = _credibility_table([
        {},
        {"author_created_at": now - dt.timedelta(days=2), "author_post_count": 20, "author_id": "a_0000000000000002"},
        {"author_post_count": 500_000, "author_id": "a_0000000000000003"},
        {"author_following": 4000, "author_followers": 3, "author_id": "a_0000000000000004"},
        {"text": spam, "author_id": "a_0000000000000005", "author_created_at": now - dt.timedelta(days=1),
         "author_post_count": 5},
        {"text": spam, "author_id": "a_0000000000000006"},
        {"text": spam + " https://spam.example", "author_id": "a_0000000000000007"},
        {"author_created_at": None, "author_post_count": None, "author_followers": None, "author_following": None,
         "author_bio_length": None, "author_id": "a_0000000000000008"},
    ])  # fmt: skip
    flags, bots = credibility(table)
    assert flags[0] == [] and not bots[0]
    assert flags[1] == ["new_account"] and not bots[1]
    assert flags[2] == ["high_post_rate"]
    assert flags[3] == ["follow_ratio"]
    assert flags[4] == ["new_account", "duplicate_text"] and bots[4]
    assert flags[5] == ["duplicate_text"] and flags[6] == ["duplicate_text"]
    assert flags[7] == [] and not bots[7]  # no author metadata: nothing to judge, nothing flagged


def test_committed_heads_cover_every_task_and_label():
    for mode in ("default", "fast"):
        heads = load_heads(mode)
        for task, (kind, labels) in task_labels().items():
            head = heads[task]
            assert head.kind == kind and head.labels == labels
            assert head.weights.shape == (len(labels), 384)
            if kind == "multi":
                assert ((head.thresholds > 0) & (head.thresholds < 1)).all()


# -- the real models --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_config():
    return load_config(REPO / "listening.yaml")


@pytest.fixture(scope="module", params=["default", "fast"])
def analyzer(request, demo_config):
    return Analyzer(demo_config, REPO, request.param)


EDGE_CASES = [
    "",
    "🤬🤬🤬",
    "https://kvik.eu/status @kvik",
    "השליח של קוויק איחר בשעתיים והאוכל הגיע קר לגמרי",
    "Kvik late again, опять опоздание, znowu spóźnienie 😡",
    "Waited " + "and waited " * 400 + "for my order",
]


def test_every_post_gets_every_column_with_valid_values(analyzer):
    rows = analyzer.analyze([Item(t, "und") for t in EDGE_CASES])
    for text, row in zip(EDGE_CASES, rows, strict=True):
        assert row["sentiment_label"] in ("negative", "neutral", "positive")
        assert -1 <= row["sentiment_score"] <= 1 and 0 <= row["sentiment_confidence"] <= 1
        assert row["emotion"] in (
            "anger",
            "disappointment",
            "anxiety",
            "joy",
            "gratitude",
            "surprise",
            "none",
        )
        assert row["formality"] in ("casual", "neutral", "formal")
        assert isinstance(row["sarcasm"], bool) and 0 <= row["sarcasm_confidence"] <= 1
        for label in row["pain_points"] + row["motives"] + row["label_evidence"]:
            if label["start"] is not None:
                assert text[label["start"] : label["end"]] == label["evidence"]
    empty, emoji, links, _, _, long = rows
    assert empty["sentiment_label"] == "neutral" and empty["label_evidence"][0]["evidence"] == "empty text"
    assert links["pain_points"] == [] and links["label_evidence"][0]["evidence"] == "only links or mentions"
    assert emoji["pain_points"] == [] and emoji["intents"] == []
    assert long["text_truncated"] and not rows[3]["text_truncated"]


@pytest.mark.parametrize(
    ("language", "text"),
    [("en", "My order is two hours late and support is not answering. Worst service ever."),
     ("pl", "Zamówienie spóźnione o dwie godziny, a obsługa nie odpowiada. Tragedia."),
     ("ru", "Заказ опаздывает уже на два часа, поддержка не отвечает. Ужас."),
     pytest.param("sl", "Naročilo zamuja že dve uri, podpora pa se ne oglasi. Grozno.", marks=pytest.mark.xfail(
         reason="Slovene delay/support complaints score at the pain-point thresholds (customer_service "
                "0.73-0.75 against 0.75, moving with the CPU's int8 kernels and the batch the post is encoded "
                "in); see the sl rows in docs/nlp-eval.md",
         strict=False)),
     ("he", "ההזמנה מאחרת כבר שעתיים והשירות לא עונה. נורא."),
     ("is", "Pöntunin er tveimur tímum of sein og þjónustan svarar ekki. Hræðilegt."),
     ("de", "Die Bestellung ist zwei Stunden zu spät und der Support antwortet nicht. Furchtbar."),
     ("fr", "Commande en retard de deux heures et le service client ne répond pas. Honteux."),
     ("es", "El pedido lleva dos horas de retraso y atención al cliente no contesta. Fatal.")],
)  # fmt: skip
def test_a_plain_complaint_is_understood_in_every_language(demo_config, language, text):
    row = Analyzer(demo_config, REPO, "default").analyze([Item(text, language)])[0]
    assert row["sentiment_label"] == "negative"
    assert "complaint" in row["intents"]
    assert {"delays", "customer_service"} & {p["id"] for p in row["pain_points"]}


def test_comparisons_get_an_opinion_per_brand_and_switching_direction(demo_config):
    text = "Kvik was late every single time, so I am leaving Kvik. Switched to Korvo and it has been great."
    kvik, korvo = text.index("Kvik"), text.index("Korvo")
    mentions = [Mention("kvik", kvik, kvik + 4, "alias"), Mention("korvo", korvo, korvo + 5, "alias")]
    row = Analyzer(demo_config, REPO, "default").analyze([Item(text, "en", mentions)])[0]
    opinion = {b["brand_id"]: b["sentiment_label"] for b in row["brand_sentiments"]}
    assert opinion == {"kvik": "negative", "korvo": "positive"}
    assert "churn_intent" in row["intents"]
    assert row["switch_from"] == ["kvik"] and row["switch_to"] == ["korvo"]


def test_user_categories_and_plugged_models_from_config(demo_config):
    raw = demo_config.model_dump()
    raw["nlp"]["extra_pain_points"] = [{
        "id": "packaging_waste", "description": "Too much plastic or packaging waste",
        "examples": ["So much plastic for three apples", "Każdy produkt w osobnej foliówce, po co?",
                     "Зачем столько пластика в доставке", "Zu viel Verpackungsmüll bei jeder Lieferung"],
    }]  # fmt: skip
    analyzer = Analyzer(parse_config(raw), REPO, "default")
    row = analyzer.analyze([Item("Why is every banana wrapped in plastic? So much packaging waste.", "en")])[
        0
    ]
    assert "packaging_waste" in {p["id"] for p in row["pain_points"]}
    raw["nlp"]["extra_pain_points"][0]["id"] = "delays"
    with pytest.raises(ValueError, match="already exist"):
        Analyzer(parse_config(raw), REPO, "default")
    raw["nlp"]["extra_pain_points"] = []
    raw["nlp"]["tasks"] = {"sentiment": {"model": str(REPO / "var" / "no-such-model")}}
    with pytest.raises(ModelUnavailable, match="no-such-model"):
        Analyzer(parse_config(raw), REPO, "default")


def test_analyze_command_labels_a_csv_and_names_a_missing_column(tmp_path):
    source = tmp_path / "export.csv"
    source.write_text("id,body\n1,\"Kvik late again, 90 minutes\"\n2,\"Dziękuję Korvo, super szybko!\"\n3,\n",
                      encoding="utf-8")  # fmt: skip
    out = tmp_path / "labelled.parquet"
    command = [sys.executable, "-m", "pipelines.cli", "--config", str(REPO / "listening.yaml"), "analyze",
               str(source), "--text-column", "body", "--id-column", "id", "--output", str(out)]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    table = pq.read_table(out)
    assert table.column("id").to_pylist() == ["1", "2", "3"]
    assert table.column("brands").to_pylist()[:2] == [["kvik"], ["korvo"]]
    assert table.column("sentiment_label").to_pylist()[:2] == ["negative", "positive"]
    bad = subprocess.run(command[:7] + ["--text-column", "text", "--output", str(out)], cwd=REPO,
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2 and "--text-column 'text' is not in export.csv" in bad.stderr


def test_worker_processes_label_exactly_like_one_process(demo_config):
    from nlp.enrich import label_texts

    config = demo_config.model_copy(update={"nlp": demo_config.nlp.model_copy(update={"mode": "fast"})})
    texts = ["Kvik is late again, support ignores me", "Zesta ma super promocje 🎉", "", "https://x.y @a",
             "Заказ Korvo пришёл разбитым", "ההזמנה מKvik הגיעה בזמן, תודה!", "😡😡"] * 80  # fmt: skip
    none = [None] * len(texts)
    serial = label_texts(config, REPO, texts, none, none, workers=1)
    parallel = label_texts(config, REPO, texts, none, none, workers=2)
    assert set(parallel) == set(serial)
    for name in ("language", "brands", "sentiment_label", "emotion", "intents", "switch_to"):
        assert parallel[name] == serial[name], name
    assert [[p["id"] for p in row] for row in parallel["pain_points"]] == [
        [p["id"] for p in row] for row in serial["pain_points"]
    ]
    assert np.allclose(parallel["sentiment_score"], serial["sentiment_score"], atol=1e-5)


def test_encoding_in_a_thread_keeps_order_and_labels(demo_config):
    """Default mode encodes one batch in a thread while the previous one is labelled: same rows, in order."""
    from nlp.enrich import nlp_columns, process
    from nlp.pipeline import build_pipeline

    nlp = build_pipeline(demo_config, REPO, "default")
    component = nlp.get_pipe("listening_insights")
    assert component.overlap  # the transformer encoder runs outside the GIL
    # Comparisons make the main thread encode brand clauses while the thread encodes the next batch.
    texts = [f"{i}: " + t for i, t in enumerate(["Kvik is late again", "Zesta ma super promocje 🎉", "",
                                                  "Kvik was late, but Zesta came early and hot", "😡"] * 5)]  # fmt: skip
    none = [None] * len(texts)
    overlapped = nlp_columns(process(texts, none, none, nlp, batch_size=4), none)
    component.overlap = False
    serial = nlp_columns(process(texts, none, none, nlp, batch_size=4), none)
    assert [e[0]["evidence"] if e else None for e in overlapped["label_evidence"]] == [
        e[0]["evidence"] if e else None for e in serial["label_evidence"]
    ]
    for name in ("language", "brands", "sentiment_label", "emotion", "intents", "pain_points",
                 "brand_sentiments"):  # fmt: skip
        assert overlapped[name] == serial[name], name
    assert all(len(row) == 2 for row in overlapped["brand_sentiments"][3::5])
