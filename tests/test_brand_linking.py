"""Brand linking across languages and scripts: inflection, prefixes, hashtags, handles, exclusions."""

import pytest
import yaml

from nlp.brands import BrandLinker
from schemas.config import load_config
from tests.conftest import REPO


@pytest.fixture(scope="module")
def linker() -> BrandLinker:
    return BrandLinker(load_config(REPO / "listening.yaml").brands)


@pytest.mark.parametrize(
    ("text", "brands"),
    [
        # Polish case endings (instrumental, genitive, locative) and dropped final vowel.
        ("Zamówiłam z Kvikiem i czekałam 2h", ["kvik"]),
        ("nie ma już Kvika w moim mieście", ["kvik"]),
        ("w Kviku znowu braki", ["kvik"]),
        ("Przesiadłam się na Zestę, a w Zeście mają lepsze przepisy", ["zesta"]),
        ("zamawiam tylko z zestą", ["zesta"]),
        # Russian: Cyrillic, declined, mixed with Latin.
        ("Заказал Квиком, ждал полтора часа", ["kvik"]),
        ("в Квике опять нет молока, ухожу в Зесту", ["kvik", "zesta"]),
        ("коробки Зесты пришли мятые", ["zesta"]),
        ("korvo норм, быстрее чем Меркато", ["korvo", "mercato"]),
        # Slovene.
        ("S Kvikom imam same težave, pri Kviku nikoli ne dobim odgovora", ["kvik"]),
        ("Zestini recepti so top", ["zesta"]),
        # Hebrew: prefixes on Hebrew and Latin names, right-to-left text.
        ("הזמנתי בקוויק וזה הגיע אחרי שעתיים", ["kvik"]),
        ("עברתי מקורבו לזסטה", ["korvo", "zesta"]),
        ("כמה עולה הKorvo Pass?", ["korvo"]),
        # Icelandic genitive.
        ("Pöntunin frá Kviks kom aldrei", ["kvik"]),
        # German compounds and genitive.
        ("Die Korvo-App stürzt ab, Kviks Lieferung kam kalt", ["korvo", "kvik"]),
        # French/Spanish elision and casing.
        ("l'appli KORVO plante encore, j'passe chez kvik", ["korvo", "kvik"]),
        ("la app de Mercato con el código MERCATO30 va genial", ["mercato"]),
        # Handles, hashtags (also CamelCase), domains.
        ("@kvikcare any update on my order?", ["kvik"]),
        ("mercatohelp answered in 4 days lol", ["mercato"]),
        ("#KvikFail again", ["kvik"]),
        ("status page https://kvik.eu/status says all good 🙃", ["kvik"]),
        ("just tried #korvopass", ["korvo"]),
    ],
)
def test_links_inflected_and_scripted_mentions(linker, text, brands):
    assert linker.link(text)[0] == brands


@pytest.mark.parametrize(
    "text",
    [
        "Mercatone Uno has a sale",  # a different word that starts with a brand name
        "korvoapparatus",  # no word boundary
        "kvikly done",  # not an inflection
        "Mercato d'été: le PSG a recruté trois joueurs ⚽",  # football transfer window (exclusion terms)
        "Último día de mercato y el Madrid sin fichajes",
        "Zesta saltines with peanut butter, 2am snack",  # the US crackers
        "Litla frænka mín er svo kvik og skemmtileg",  # Icelandic adjective
        "email me at someone@korvo",  # not a handle: part of an address
    ],
)
def test_does_not_link_false_hits(linker, text):
    assert linker.link(text)[0] == []


def test_evidence_spans_point_into_the_original_text(linker):
    text = "Żałuję, że zamówiłam w KVIKU 😤 a nie w Zeście"
    _, mentions = linker.link(text)
    assert [(m.brand_id, text[m.start : m.end]) for m in mentions] == [("kvik", "KVIKU"), ("zesta", "Zeście")]
    assert all(m.matched == text[m.start : m.end] for m in mentions)


def test_demo_gold_labels_are_recovered(linker):
    """Every hand-written demo post carries gold brand labels; linking must agree (F1 >= 0.98)."""
    tp = fp = fn = 0
    for path in sorted((REPO / "pipelines/demo/texts").glob("*.yaml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["audience"]:
            got, gold = set(linker.link(item["text"])[0]), set(item["brands"])
            tp, fp, fn = tp + len(got & gold), fp + len(got - gold), fn + len(gold - got)
    f1 = 2 * tp / (2 * tp + fp + fn)
    assert f1 >= 0.98, f"brand linking F1 {f1:.3f} (tp={tp} fp={fp} fn={fn})"


@pytest.mark.parametrize(
    ("text", "kind"),
    [("@WidgetCare fixed it", "handle"), ("#GadgetDay was fun", "hashtag"), ("see shopwidgets.io/faq", "domain"),
     ("Acmes are late", "alias"), ("nothing about any brand here", None)],
)  # fmt: skip
def test_every_kind_of_rule_passes_the_shortcut_for_posts_naming_no_brand(text, kind):
    from schemas.config import Brand

    # Handle, hashtag and domain do not contain the alias, so each must pass the shortcut on its own.
    linker = BrandLinker([Brand(id="acme", name="Acme", aliases=["Acme"], handles=["@widgetcare"],
                                hashtags=["#gadgetday"], domains=["shopwidgets.io"])])  # fmt: skip
    assert [m.kind for m in linker.mentions(text)] == ([kind] if kind else [])
