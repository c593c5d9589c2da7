"""Language identification on the hand-written demo posts of all nine languages."""

from collections import Counter

import yaml

from nlp.langid import _LETTER_RE as LETTER_RE
from nlp.langid import QUICK_MIN_LETTERS, UNDETERMINED, LanguageIdentifier
from schemas.config import load_config
from tests.conftest import REPO


def test_identifies_each_demo_language():
    config = load_config(REPO / "listening.yaml")
    ignore = [a for b in config.brands for a in b.aliases]
    identifier = LanguageIdentifier(config.languages, ignore)
    right, total = Counter(), Counter()
    for path in sorted((REPO / "pipelines/demo/texts").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for item in data["audience"] + data["brand_posts"]:
            total[data["language"]] += 1
            right[data["language"]] += identifier.identify(item["text"]).language == data["language"]
    accuracy = {lang: right[lang] / total[lang] for lang in total}
    assert set(accuracy) == {"en", "pl", "ru", "sl", "he", "is", "de", "fr", "es"}
    assert min(accuracy.values()) >= 0.85, accuracy


def test_too_little_text_falls_back_to_declared_or_und():
    identifier = LanguageIdentifier(["en", "pl"])
    assert identifier.identify("🤬🤬 https://kvik.eu @kvik").language == UNDETERMINED
    assert identifier.identify("👍", declared="pl").language == "pl"
    assert identifier.identify("").language == UNDETERMINED


def test_off_list_language_is_not_forced_into_a_configured_one():
    identifier = LanguageIdentifier(["en", "pl"])
    assert identifier.identify("Ho ordinato la spesa ieri sera ed è arrivata tutta rovinata").language == "it"


def test_a_batch_gets_the_same_languages_as_one_text_at_a_time():
    identifier = LanguageIdentifier(["en", "pl", "sl"])
    texts = ["Paczka nie dotarła, a obsługa milczy od tygodnia", "👍", "The app keeps crashing on login",
             "", "Naročil sem v ponedeljek in paket še vedno ni prišel", "Ho ordinato la spesa ieri sera"]  # fmt: skip
    declared = [None, "pl", None, None, "en", None]
    one_by_one = [identifier.identify(t, d) for t, d in zip(texts, declared, strict=True)]
    assert identifier.identify_many(texts, declared) == one_by_one
    assert [g.language for g in one_by_one] == ["pl", "pl", "en", UNDETERMINED, "sl", "it"]


class _Counting:
    """Wraps a lingua detector and records which texts it scored."""

    def __init__(self, detector):
        self.detector, self.seen = detector, []

    def compute_language_confidence_values_in_parallel(self, texts):
        self.seen += texts
        return self.detector.compute_language_confidence_values_in_parallel(texts)

    def compute_language_confidence_values(self, text):
        self.seen.append(text)
        return self.detector.compute_language_confidence_values(text)


def test_long_clear_posts_skip_the_full_models_and_get_the_same_language():
    config = load_config(REPO / "listening.yaml")
    identifier = LanguageIdentifier(config.languages, [a for b in config.brands for a in b.aliases])
    texts = []
    for path in sorted((REPO / "pipelines/demo/texts").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        texts += [item["text"] for item in data["audience"] + data["brand_posts"]]
    declared = [None] * len(texts)
    full = identifier._detector = _Counting(identifier._detector)
    quick = identifier._quick = _Counting(identifier._quick)
    routed = identifier.identify_many(texts, declared)
    # Only long posts are tried on trigrams; the ones they were unsure of went on to the full models.
    assert quick.seen and all(len(LETTER_RE.findall(t)) >= QUICK_MIN_LETTERS for t in quick.seen)
    skipped = len(texts) - len(full.seen)
    assert 0 < skipped <= len(quick.seen) < len(texts)
    short = "Paczka nie dotarła, a obsługa milczy od tygodnia"  # clear, but short: full models only
    quick.seen, full.seen = [], []
    assert identifier.identify(short).language == "pl" and quick.seen == [] and len(full.seen) == 1
    identifier._quick = None
    assert [g.language for g in identifier.identify_many(texts, declared)] == [g.language for g in routed]
