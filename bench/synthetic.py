"""Synthetic enriched posts at any scale, for the marts benchmark (no NLP, no Airflow).

    python bench/synthetic.py --rows 1000000 --out /tmp/listening-1m     # a project folder + its data

``write_enriched`` writes rows that meet the ``enriched_posts`` contract exactly into the enriched layer
(``enriched/date=YYYY-MM-DD/enriched.parquet``, one file per UTC day), as if ingestion and enrichment
had run over a year of the demo market. Everything is generated column-wise with numpy and pyarrow
(1,000,000 rows in seconds) and is deterministic for a seed.

What the data looks like:

* brands: the configured brands, one per post (about 12 % name two), with popularity drifting over the
  year and a few days on which one brand spikes;
* time: ``days`` days ending 2026-11-01 (UTC), weekly rhythm (quieter weekends), a daily rhythm in the
  project's evening (peak 19-22h), a gentle upward trend;
* authors: about 15 % as many distinct authors as audience posts (150,000 for 1,000,000), posting on a
  Zipf-like curve; each writes in one language on one source; followers are heavy tailed; about 3 % of
  posts come from likely bots (new accounts with credibility flags);
* NLP: intents (0-2) drive sentiment, emotion follows sentiment; pain points and motives (0-2 each) come
  from the taxonomies with brand-specific profiles, and the first of each carries its evidence span in
  the text; churn posts name the brands left and chosen; posts about two brands carry an opinion per
  brand;
* brand accounts: 5 % of posts, most of them replies to earlier questions or complaints about their
  brand, 5 minutes to 2 days later (each brand answers at its own typical speed);
* 0.5 % of posts are marked deleted.

Texts are short templates in each of the nine demo languages (pain-point and motive phrases in English)
with the post's native id appended, 100-200 characters.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pipelines.storage import Storage  # noqa: E402
from schemas.config import load_config  # noqa: E402
from schemas.tables import EMOTIONS, ENRICHED_POSTS, INTENTS  # noqa: E402

DEMO_CONFIG = ROOT / "listening.yaml"
TAXONOMY = ROOT / "nlp" / "taxonomy"
END = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
ENRICHED_AT = dt.datetime(2026, 11, 1, 3, 0, tzinfo=dt.UTC)
NLP_VERSION = "synthetic"

US_PER_S = 1_000_000
US_PER_DAY = 86_400 * US_PER_S
LOCAL_UTC_OFFSET_H = 1  # the demo project's timezone (Europe/Warsaw), near enough for a daily rhythm

AUTHORS_PER_POST = 0.15
BRAND_ACCOUNT_SHARE = 0.05
BRAND_REPLY_SHARE = 0.7
TWO_BRANDS_SHARE = 0.12
DELETED_SHARE = 0.005
BOT_POST_SHARE = 0.03

# source: (weight, url prefix or None, has social counters, declares language, gives author profile)
SOURCES: dict[str, tuple[float, str | None, bool, bool, bool]] = {
    "mastodon": (0.13, "https://mastodon.social/@user/", True, True, True),
    "bluesky": (0.17, "https://bsky.app/profile/user/post/", True, True, True),
    "hackernews": (0.04, "https://news.ycombinator.com/item?id=", True, False, False),
    "reddit": (0.20, "https://www.reddit.com/comments/", True, False, True),
    "rss": (0.07, "https://news.example.com/articles/", False, False, False),
    "youtube": (0.12, "https://www.youtube.com/watch?v=", True, True, True),
    "appstore": (0.17, "https://apps.example.com/reviews/", False, False, True),
    "file": (0.10, None, False, False, True),
}
TITLED_SOURCES = ("hackernews", "reddit", "rss", "youtube", "appstore")
LANGUAGE_WEIGHTS = {"en": 0.33, "pl": 0.15, "de": 0.10, "fr": 0.08, "es": 0.08, "ru": 0.09, "he": 0.06,
                    "sl": 0.06, "is": 0.05}  # fmt: skip
# Local hour of day (project timezone) -> relative volume: quiet nights, lunch bump, evening peak.
HOURLY = np.array([3, 2, 1.2, 1, 1, 1.3, 2.5, 4, 5, 5.5, 6, 6.5, 7.5, 7, 6.5, 6.5, 7, 8, 9.5, 11, 11.5, 10.5,
                   8, 5])  # fmt: skip
WEEKLY = np.array([1.05, 1.0, 1.0, 1.0, 0.95, 0.78, 0.88])  # Monday .. Sunday

# Per language: openers (3), fillers (3), closings (negative, neutral, positive), brand reply, announcement.
TEMPLATES: dict[str, dict[str, list[str]]] = {
    "en": {
        "open": ["Ordered again from ", "Quick thoughts on ", "Has anyone else tried "],
        "fill": ["been using it for a few months now. ", "this week's delivery was the test. ",
                 "comparing prices before the weekend shop. "],
        "close": ["Really not impressed.", "We will see how it goes.", "Honestly, love it!"],
        "reply": ["Hi! Sorry about this, please DM us your order number and we will sort it out today."],
        "announce": ["New this week: free delivery on your first three orders. All the details are in the app."],
    },
    "pl": {
        "open": ["Znowu zamówiłem z ", "Kilka słów o ", "Czy ktoś jeszcze korzysta z "],
        "fill": ["używam od kilku miesięcy. ", "w tym tygodniu był test dostawy. ",
                 "porównuję ceny przed weekendowymi zakupami. "],
        "close": ["Naprawdę słabo.", "Zobaczymy, jak dalej.", "Szczerze, polecam!"],
        "reply": ["Cześć! Przepraszamy, napisz do nas prywatnie z numerem zamówienia, dziś to wyjaśnimy."],
        "announce": ["Nowość: darmowa dostawa przy pierwszych trzech zamówieniach. Szczegóły w aplikacji."],
    },
    "ru": {
        "open": ["Снова заказал в ", "Пара слов о ", "Кто-нибудь ещё пользуется "],
        "fill": ["пользуюсь уже несколько месяцев. ", "на этой неделе проверял доставку. ",
                 "сравниваю цены перед выходными. "],
        "close": ["Совсем не впечатлён.", "Посмотрим, что дальше.", "Честно, очень нравится!"],
        "reply": ["Здравствуйте! Простите, напишите нам в личные сообщения номер заказа, и мы всё решим сегодня."],
        "announce": ["Новинка недели: бесплатная доставка первых трёх заказов. Подробности в приложении."],
    },
    "sl": {
        "open": ["Spet sem naročil pri ", "Nekaj misli o ", "Ali še kdo uporablja "],
        "fill": ["uporabljam že nekaj mesecev. ", "ta teden je bila dostava preizkus. ",
                 "primerjam cene pred vikendom. "],
        "close": ["Res nisem navdušen.", "Bomo videli, kako naprej.", "Iskreno, super!"],
        "reply": ["Pozdravljeni! Oprostite, pošljite nam številko naročila v zasebnem sporočilu, uredimo še danes."],
        "announce": ["Novo ta teden: brezplačna dostava prvih treh naročil. Vse podrobnosti so v aplikaciji."],
    },
    "he": {
        "open": ["הזמנתי שוב דרך ", "כמה מילים על ", "מישהו עוד מזמין דרך "],
        "fill": ["אני משתמש כבר כמה חודשים. ", "השבוע בדקתי את המשלוח. ", "משווה מחירים לפני סוף השבוע. "],
        "close": ["ממש לא מרוצה.", "נראה איך יתקדם.", "בכנות, אוהב את זה!"],
        "reply": ["היי! מצטערים על זה, שלחו לנו בהודעה פרטית את מספר ההזמנה ונטפל בזה עוד היום."],
        "announce": ["חדש השבוע: משלוח חינם בשלוש ההזמנות הראשונות. כל הפרטים באפליקציה."],
    },
    "is": {
        "open": ["Pantaði aftur hjá ", "Nokkur orð um ", "Notar einhver annar "],
        "fill": ["hef notað það í nokkra mánuði. ", "sendingin í þessari viku var prófið. ",
                 "ber saman verð fyrir helgina. "],
        "close": ["Alls ekki ánægður.", "Sjáum hvernig þetta fer.", "Í alvöru, frábært!"],
        "reply": ["Hæ! Afsakið þetta, sendu okkur pöntunarnúmerið í einkaskilaboðum og við leysum þetta í dag."],
        "announce": ["Nýtt í vikunni: frí heimsending á fyrstu þremur pöntununum. Nánar í appinu."],
    },
    "de": {
        "open": ["Wieder bestellt bei ", "Kurz zu ", "Nutzt noch jemand "],
        "fill": ["nutze es seit ein paar Monaten. ", "diese Woche war die Lieferung der Test. ",
                 "vergleiche Preise vor dem Wochenendeinkauf. "],
        "close": ["Echt nicht überzeugt.", "Mal sehen, wie es weitergeht.", "Ehrlich, ich liebe es!"],
        "reply": ["Hallo! Das tut uns leid, schick uns bitte deine Bestellnummer per DM, wir klären das heute."],
        "announce": ["Neu diese Woche: kostenlose Lieferung für deine ersten drei Bestellungen. Details in der App."],
    },
    "fr": {
        "open": ["Encore commandé chez ", "Quelques mots sur ", "Quelqu'un d'autre utilise "],
        "fill": ["je l'utilise depuis quelques mois. ", "la livraison de cette semaine était le test. ",
                 "je compare les prix avant les courses du week-end. "],
        "close": ["Vraiment pas convaincu.", "On verra bien.", "Franchement, j'adore !"],
        "reply": ["Bonjour ! Désolés, envoyez-nous votre numéro de commande en privé, on règle ça aujourd'hui."],
        "announce": ["Nouveau cette semaine : livraison offerte sur vos trois premières commandes. Détails dans l'app."],
    },
    "es": {
        "open": ["Pedí otra vez en ", "Unas palabras sobre ", "¿Alguien más usa "],
        "fill": ["lo uso desde hace unos meses. ", "la entrega de esta semana fue la prueba. ",
                 "comparo precios antes de la compra del finde. "],
        "close": ["La verdad, nada convencido.", "Veremos qué tal.", "¡Sinceramente, me encanta!"],
        "reply": ["¡Hola! Lo sentimos, envíanos tu número de pedido por mensaje privado y lo resolvemos hoy."],
        "announce": ["Novedad: envío gratis en tus tres primeros pedidos. Todos los detalles en la app."],
    },
}  # fmt: skip

PAIN_PHRASES = {
    "customer_service": "Support never answered my ticket", "delays": "The courier came two hours late",
    "cancellations": "They cancelled my order without warning", "lost_items": "Half of the bags were missing",
    "damaged_items": "The eggs arrived smashed", "product_quality": "The vegetables were already going off",
    "price_value": "Prices went up again this month", "billing_refunds": "Still waiting for my refund",
    "booking_ordering": "Checkout kept failing in the app", "outages_bugs": "The app crashed twice at payment",
    "staff_behavior": "The driver was really rude", "queues_waiting": "Forty minutes on hold with the hotline",
    "policies": "The new return policy is unfair", "communication": "No update on where my order is",
    "privacy_safety": "Someone logged into my account",
}  # fmt: skip
MOTIVE_PHRASES = {
    "discounts": "The weekend discount code worked", "purchases": "Planning a big order for the party",
    "reviews_rankings": "It topped the comparison ranking", "general_info": "Curious how the delivery zones work",
    "exclusive_info": "Early access to the new menu", "new_products": "The new meal kits look great",
    "customer_service": "Support sorted it out in minutes", "events": "Their stand at the summer food festival",
    "feel_connected": "It feels like a local shop", "submit_ideas": "They should add a pet food aisle",
    "community": "Our neighbourhood group loves it",
}  # fmt: skip
TITLES = ("{} review", "Anyone tried {}?", "{}: my experience")
# Intent -> (probability on an audience post, contribution to the sentiment score).
INTENT_MODEL = {"question": (0.16, -0.05), "complaint": (0.26, -0.6), "praise": (0.15, 0.65),
                "suggestion": (0.06, 0.0), "purchase_intent": (0.07, 0.3), "churn_intent": (0.04, -0.65)}  # fmt: skip
TONES = ["negative", "neutral", "positive"]  # sentiment labels, by the class numbers used below
REGISTERS = ["casual", "neutral", "formal"]  # formality labels, likewise
# P(emotion | sentiment label), one row per tone.
EMOTION_GIVEN_TONE = [
    {"anger": 0.30, "disappointment": 0.40, "anxiety": 0.15, "surprise": 0.05, "none": 0.10},
    {"disappointment": 0.05, "anxiety": 0.05, "joy": 0.05, "surprise": 0.10, "none": 0.75},
    {"joy": 0.50, "gratitude": 0.30, "surprise": 0.10, "none": 0.10},
]
# Credibility flag sets: 0-3 for ordinary authors, 4-7 for likely bots (two or more flags).
FLAG_SETS = [[], ["follow_ratio"], ["no_profile"], ["duplicate_text"],
             ["new_account", "high_post_rate"], ["new_account", "duplicate_text"],
             ["new_account", "high_post_rate", "follow_ratio"], ["new_account", "no_profile", "duplicate_text"]]  # fmt: skip

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_SCHEMA = ENRICHED_POSTS.with_metadata()


# -- vectorised building blocks ------------------------------------------------------------------------


def _mix64(values: np.ndarray, salt: int) -> np.ndarray:
    """splitmix64 of ``values + salt``: a bijection on uint64, so distinct inputs give distinct ids."""
    x = values.astype(np.uint64) + np.uint64(salt)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def _hex_digits(values: np.ndarray, digits: int) -> np.ndarray:
    shifts = np.arange(digits - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
    return _HEX[(values[:, None] >> shifts) & np.uint64(0xF)]


def _dec_digits(values: np.ndarray, digits: int) -> np.ndarray:
    powers = 10 ** np.arange(digits - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers) % 10 + ord("0")).astype(np.uint8)


def _fixed_strings(prefix: str, chars: np.ndarray) -> pa.Array:
    """A string array whose rows are ``prefix`` + one row of ASCII ``chars`` (built from buffers)."""
    n, width = chars.shape
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    body = np.empty((n, len(head) + width), dtype=np.uint8)
    body[:, : len(head)] = head
    body[:, len(head) :] = chars
    offsets = np.arange(n + 1, dtype=np.int32) * body.shape[1]
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(body))


def _pick(options: list[str], index: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """``options[index]`` per row (null where ``null``), as a string array."""
    return pa.array(options, pa.string()).take(pa.array(index, mask=null))


def _lengths(options: list[str], index: np.ndarray) -> np.ndarray:
    """Length in characters (Python string offsets) of ``options[index]`` per row."""
    return np.array([len(s) for s in options], dtype=np.int64)[index]


def _join(*parts: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _choose(rng: np.random.Generator, probabilities: np.ndarray, rows: np.ndarray | None = None,
            size: int | None = None) -> np.ndarray:  # fmt: skip
    """Sample a category per row; ``probabilities`` is one distribution, or one per class in ``rows``."""
    cdf = np.cumsum(probabilities, axis=-1)
    cdf = cdf / cdf[..., -1:]
    if rows is None:
        return np.searchsorted(cdf, rng.random(size), side="right").clip(0, len(cdf) - 1)
    u = rng.random(len(rows))
    return (u[:, None] >= cdf[rows][:, :-1]).sum(axis=1)


def _arr(values: np.ndarray, type_: pa.DataType, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(values, type=type_, mask=null)


def _ts(us: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(us.astype(np.int64), type=pa.int64(), mask=null).cast(_SCHEMA.field("created_at").type)


def _list_of_structs(counts: np.ndarray, name: str, children: dict[str, pa.Array]) -> pa.Array:
    """A list<struct> column of the contract from flat child arrays (``counts[i]`` items in row i)."""
    list_type = _SCHEMA.field(name).type
    struct_type = list_type.value_type
    values = pa.StructArray.from_arrays(
        [children[f.name].cast(f.type) for f in struct_type], fields=list(struct_type)
    )
    offsets = np.zeros(len(counts) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), values, type=list_type)


def _flatten(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For list items: the row each belongs to and its position in the row's list."""
    rows = np.repeat(np.arange(len(counts)), counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return rows, np.arange(len(rows)) - starts[rows]


def _lookup_lists(lists: list[list[str]], index: np.ndarray) -> pa.Array:
    return pa.array(lists, type=pa.list_(pa.string())).take(pa.array(index))


def _taxonomy_ids(name: str) -> list[str]:
    data = yaml.safe_load((TAXONOMY / f"{name}.yaml").read_text(encoding="utf-8"))
    return [c["id"] for c in data["categories"]]


# -- the generator --------------------------------------------------------------------------------------


class _Generator:
    """Holds the shared draws (time, authors, brands) and builds the two kinds of rows."""

    def __init__(self, config_path: Path, n_posts: int, days: int, seed: int):
        config = load_config(config_path)
        self.brand_ids = [b.id for b in config.brands]
        self.brand_names = [b.name for b in config.brands]
        self.languages = [code for code in LANGUAGE_WEIGHTS if code in TEMPLATES]
        self.sources = list(SOURCES)
        self.pains = _taxonomy_ids("pain_points")
        self.motives = _taxonomy_ids("motives")
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.days = days
        self.n = n_posts
        self.n_brand = round(n_posts * BRAND_ACCOUNT_SHARE) if n_posts >= 20 else 0
        self.n_audience = n_posts - self.n_brand
        self.n_authors = 0
        self.start_us = int((END - dt.timedelta(days=days)).timestamp() * US_PER_S)
        self.end_us = int(END.timestamp() * US_PER_S)
        self._calendar()

    # -- shared ------------------------------------------------------------------------------------------
    def _calendar(self) -> None:
        """Volume per day (weekly rhythm, trend, spikes) and brand popularity per day (drift, spikes)."""
        rng, days, k = self.rng, self.days, len(self.brand_ids)
        d = np.arange(days)
        first_weekday = (END - dt.timedelta(days=days)).weekday()
        volume = WEEKLY[(first_weekday + d) % 7] * (0.85 + 0.3 * d / max(days - 1, 1))
        volume *= rng.lognormal(0.0, 0.08, days)
        base = 1.0 / (1.0 + np.arange(k)) ** 0.6
        phase = rng.uniform(0, 2 * np.pi, k)
        period = rng.uniform(60, 200, k)
        popularity = base * np.exp(0.3 * np.sin(2 * np.pi * d[:, None] / period + phase))
        for day in rng.choice(days, size=max(1, days // 30), replace=False):
            brand = rng.integers(k)
            boost = rng.uniform(1.5, 3.0)
            volume[day] *= 1 + (boost - 1) * popularity[day, brand] / popularity[day].sum()
            popularity[day, brand] *= boost * 2
        self.day_volume = volume / volume.sum()
        self.popularity = popularity / popularity.sum(axis=1, keepdims=True)

    def times(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        """Creation times (µs since epoch, UTC) and their day index in the period."""
        rng = self.rng
        day = _choose(rng, self.day_volume, size=size)
        hour = _choose(rng, HOURLY, size=size)
        seconds = (hour - LOCAL_UTC_OFFSET_H) * 3600 + rng.integers(0, 3600, size)
        us = self.start_us + day * US_PER_DAY + seconds * US_PER_S + rng.integers(0, US_PER_S, size)
        span = self.end_us - self.start_us
        us = self.start_us + (us - self.start_us) % span  # the first hour's wrap lands at the end
        return us, (us - self.start_us) // US_PER_DAY

    def post_ids(self, index: np.ndarray) -> pa.Array:
        head = _hex_digits(_mix64(index, self.seed * 0x9E3779B97F4A7C15 % 2**63), 16)
        tail = _hex_digits(_mix64(index, self.seed + 17) & np.uint64(0xFFFF), 4)
        return _fixed_strings("p_", np.hstack([head, tail]))

    def author_ids(self, index: np.ndarray) -> pa.Array:
        return _fixed_strings("a_", _hex_digits(_mix64(index, self.seed * 31 + 5), 16))

    def native_ids(self, index: np.ndarray) -> pa.Array:
        return _fixed_strings("", _dec_digits(110_000_000_000 + index * 13, 12))

    def templates(self, part: str) -> list[str]:
        """One template part for every language, language by language (index: language * 3 + choice)."""
        return [s for code in self.languages for s in TEMPLATES[code][part]]

    # -- audience posts ---------------------------------------------------------------------------------
    def audience(self) -> tuple[dict[str, pa.Array], dict[str, np.ndarray]]:
        rng, n, k = self.rng, self.n_audience, len(self.brand_ids)
        index = np.arange(n, dtype=np.int64)
        created, day = self.times(n)

        # Authors: every one posts at least once, the rest on a Zipf-like curve; one source and language each.
        n_authors = max(1, min(n, round(n * AUTHORS_PER_POST)))
        zipf = (np.arange(n_authors) + 100.0) ** -1.2
        author = np.concatenate([np.arange(n_authors), _choose(rng, zipf, size=n - n_authors)])
        author = rng.permutation(author)
        a_source = _choose(rng, np.array([v[0] for v in SOURCES.values()]), size=n_authors)
        a_language = _choose(rng, np.array(list(LANGUAGE_WEIGHTS.values())), size=n_authors)
        a_followers = np.floor(rng.pareto(1.1, n_authors) * 60).astype(np.int64)
        a_following = np.floor(rng.lognormal(5.0, 1.2, n_authors)).astype(np.int64)
        # Likely bots: authors drawn by activity until they make ~3 % of the posts.
        counts = np.bincount(author, minlength=n_authors)
        order = np.argsort(-(rng.random(n_authors) ** (1.0 / counts.clip(1))))
        a_bot = np.zeros(n_authors, dtype=bool)
        a_bot[order[np.cumsum(counts[order]) <= BOT_POST_SHARE * n]] = True
        first_post = np.full(n_authors, np.iinfo(np.int64).max)
        np.minimum.at(first_post, author, created)
        age_days = np.where(a_bot, rng.uniform(1, 25, n_authors), rng.lognormal(np.log(1100), 0.7, n_authors))
        a_created = first_post - (age_days.clip(1, 6000) * US_PER_DAY).astype(np.int64)
        a_posts = np.where(a_bot, rng.integers(2000, 20000, n_authors),
                           np.floor(rng.lognormal(6.0, 1.5, n_authors))).astype(np.int64)  # fmt: skip
        a_bio = np.where(a_bot & (rng.random(n_authors) < 0.5), 0, rng.integers(0, 160, n_authors))
        a_verified = rng.random(n_authors) < np.minimum(0.002 + a_followers / 2e6, 0.6)
        a_flags = np.where(a_bot, rng.integers(4, 8, n_authors),
                           np.where(rng.random(n_authors) < 0.06, rng.integers(1, 4, n_authors), 0))  # fmt: skip

        source = a_source[author]
        language = a_language[author]
        src = {name: i for i, name in enumerate(self.sources)}
        profile = np.array([v[4] for v in SOURCES.values()])[source]

        # Brands: one per post by the day's popularity, sometimes a second one.
        b1 = _choose(rng, self.popularity, rows=day)
        two = (rng.random(n) < TWO_BRANDS_SHARE) & (k > 1)
        b2 = np.where(two, (b1 + rng.integers(1, max(k, 2), n)) % max(k, 1), -1)

        # Intents (0-2) and the tone they imply.
        names = list(INTENTS)
        has = rng.random((n, len(names))) < np.array([INTENT_MODEL.get(i, (0.03, 0.0))[0] for i in names])
        keys = np.where(has, rng.random(has.shape), -1.0)
        keep = np.argsort(-keys, axis=1)[:, :2]
        capped = np.zeros_like(has)
        np.put_along_axis(capped, keep, np.take_along_axis(has, keep, axis=1), axis=1)
        bits = (capped * (1 << np.arange(len(names)))).sum(axis=1)
        intent_lists = [[names[j] for j in range(len(names)) if m >> j & 1] for m in range(1 << len(names))]
        weight = np.array([INTENT_MODEL.get(i, (0.03, 0.0))[1] for i in names])
        n_intents = capped.sum(axis=1)
        brand_bias = rng.uniform(-0.12, 0.12, k)
        score = (capped @ weight) / np.maximum(n_intents, 1) + 0.05 * (n_intents == 0) + brand_bias[b1]
        score = (score + rng.normal(0, 0.25, n)).clip(-1, 1)
        label = np.digitize(score, [-0.2, 0.2])  # 0 negative, 1 neutral, 2 positive
        complaint, churn = capped[:, names.index("complaint")], capped[:, names.index("churn_intent")]
        praise = capped[:, names.index("praise")] | capped[:, names.index("purchase_intent")]

        # Pain points and motives (0-2 each), brand-specific profiles; the first carries evidence.
        pain_profile = rng.dirichlet(np.full(len(self.pains), 0.7), k)
        motive_profile = rng.dirichlet(np.full(len(self.motives), 0.9), k)
        u = rng.random(n)
        pain_count = np.where(
            complaint, (u > 0.05).astype(int) + (u > 0.68), (churn | (label == 0)) & (u < 0.4)
        )
        u = rng.random(n)
        motive_count = np.where(praise | capped[:, names.index("question")], (u < 0.5).astype(int) + (u < 0.1),
                                (u < 0.1).astype(int))  # fmt: skip
        pain1 = _choose(rng, pain_profile, rows=b1)
        pain2 = (pain1 + rng.integers(1, len(self.pains), n)) % len(self.pains)
        motive1 = _choose(rng, motive_profile, rows=b1)
        motive2 = (motive1 + rng.integers(1, len(self.motives), n)) % len(self.motives)

        # Text: opener, brand(s), filler, pain phrase, motive phrase, closing, native id.
        lang_codes = self.languages
        opener = rng.integers(0, 3, n)
        filler = rng.integers(0, 3, n)
        flat = self.templates
        open_i, fill_i, close_i = language * 3 + opener, language * 3 + filler, language * 3 + label
        fill2_i = language * 3 + (filler + rng.integers(1, 3, n)) % 3
        fill2 = [s[:1].upper() + s[1:] for s in flat("fill")]  # a second, different sentence
        names_b = self.brand_names
        pain_texts = [PAIN_PHRASES.get(p, p.replace("_", " ") + " is a problem") + ". " for p in self.pains]
        motive_texts = [MOTIVE_PHRASES.get(m, m.replace("_", " ") + " matters") + ". " for m in self.motives]
        native = self.native_ids(index)
        parts = [
            _pick(flat("open"), open_i),
            _pick(names_b, b1),
            _pick(["", " vs "], two.astype(int)),
            _pick(["", *names_b], b2 + 1),
            _pick([": "], np.zeros(n, dtype=int)),
            _pick(flat("fill"), fill_i),
            _pick(fill2, fill2_i),
            _pick(["", *pain_texts], np.where(pain_count > 0, pain1 + 1, 0)),
            _pick(["", *motive_texts], np.where(motive_count > 0, motive1 + 1, 0)),
            _pick(flat("close"), close_i),
            _pick([" ["], np.zeros(n, dtype=int)),
            native,
            _pick(["]"], np.zeros(n, dtype=int)),
        ]
        text = _join(*parts)
        at_brand1 = _lengths(flat("open"), open_i)
        at_brand2 = at_brand1 + _lengths(names_b, b1) + 4
        end_brands = at_brand1 + _lengths(names_b, b1) + np.where(two, 4 + _lengths(names_b, b2), 0)
        at_pain = end_brands + 2 + _lengths(flat("fill"), fill_i) + _lengths(fill2, fill2_i)
        at_motive = at_pain + np.where(pain_count > 0, _lengths(pain_texts, pain1), 0)
        at_close = at_motive + np.where(motive_count > 0, _lengths(motive_texts, motive1), 0)

        columns: dict[str, pa.Array] = {}
        columns["brands"] = _lookup_lists(
            [
                [self.brand_ids[a]] + ([self.brand_ids[b]] if b >= 0 else [])
                for a in range(k)
                for b in range(-1, k)
            ],
            b1 * (k + 1) + b2 + 1,
        )
        rows, pos = _flatten(1 + two.astype(int))
        mb = np.where(pos == 0, b1[rows], b2[rows])
        m_start = np.where(pos == 0, at_brand1[rows], at_brand2[rows])
        columns["brand_mentions"] = _list_of_structs(1 + two.astype(int), "brand_mentions", {
            "brand_id": _pick(self.brand_ids, mb), "matched": _pick(names_b, mb),
            "start": pa.array(m_start), "end": pa.array(m_start + _lengths(names_b, mb)),
            "kind": _pick(["alias"], np.zeros(len(mb), dtype=int)),
        })  # fmt: skip
        columns |= self._labels(rng, pain_count, pain1, pain2, at_pain, pain_texts, "pain_points", self.pains)
        columns |= self._labels(rng, motive_count, motive1, motive2, at_motive, motive_texts, "motives",
                                self.motives)  # fmt: skip

        # Opinion per brand on comparisons; switching on churn posts.
        rows, pos = _flatten(np.where(two, 2, 0))
        other = (score[rows] * np.where(pos == 0, 1, -0.6) + rng.normal(0, 0.3, len(rows))).clip(-1, 1)
        columns["brand_sentiments"] = _list_of_structs(np.where(two, 2, 0), "brand_sentiments", {
            "brand_id": _pick(self.brand_ids, np.where(pos == 0, b1[rows], b2[rows])),
            "sentiment_label": _pick(TONES, np.digitize(other, [-0.2, 0.2])),
            "sentiment_score": pa.array(other.astype(np.float32)),
        })  # fmt: skip
        switch_to = np.where(two, b2, (b1 + rng.integers(1, max(k, 2), n)) % max(k, 1))
        moving = churn & (rng.random(n) < 0.6) & (k > 1)
        brand_lists = [[], *([b] for b in self.brand_ids)]
        columns["switch_from"] = _lookup_lists(brand_lists, np.where(churn, b1 + 1, 0))
        columns["switch_to"] = _lookup_lists(brand_lists, np.where(moving, switch_to + 1, 0))

        close_len = _lengths(flat("close"), close_i)
        columns["label_evidence"] = _list_of_structs(np.ones(n, dtype=int), "label_evidence", {
            "task": _pick(["sentiment"], np.zeros(n, dtype=int)),
            "label": _pick(TONES, label),
            "score": pa.array((0.55 + 0.4 * np.abs(score)).astype(np.float32)),
            "evidence": _pick(flat("close"), close_i), "start": pa.array(at_close),
            "end": pa.array(at_close + close_len),
        })  # fmt: skip

        sarcasm = rng.random(n) < np.where(label == 0, 0.07, 0.015)
        social = np.array([v[2] for v in SOURCES.values()])[source]
        formal_p = np.where(np.isin(source, [src["rss"], src["appstore"]]), 0.45, 0.08)
        u = rng.random(n)
        formality = np.where(u < formal_p, 2, np.where(u < formal_p + 0.35, 1, 0))
        followers = a_followers[author]
        likes = np.floor(rng.lognormal(0.45 * np.log1p(followers) - 0.5, 1.1)).astype(np.int64)
        edited = rng.random(n) < 0.02
        is_appstore = source == src["appstore"]
        titled = np.isin(source, [src[s] for s in TITLED_SOURCES if s in src])
        url_prefix = [v[1] or "" for v in SOURCES.values()]
        declares = np.array([v[3] for v in SOURCES.values()])[source]
        queries = [
            f"file:exports/{s}.parquet" if s == "file" else " OR ".join(self.brand_ids) for s in self.sources
        ]
        title_i = rng.integers(0, len(TITLES), n) * k + b1
        title_options = [t.format(name) for t in TITLES for name in names_b]

        columns |= {
            "post_id": self.post_ids(index),
            "source": _pick(self.sources, source),
            "native_id": native,
            "url": pc.if_else(
                pa.array(source == src["file"]),
                pa.nulls(n, pa.string()),
                _join(_pick(url_prefix, source), native),
            ),
            "created_at": _ts(created),
            "author_id": self.author_ids(author),
            "author_followers": _arr(followers, pa.int64(), ~profile),
            "author_following": _arr(a_following[author], pa.int64(), ~profile),
            "author_post_count": _arr(a_posts[author], pa.int64(), ~profile),
            "author_created_at": _ts(a_created[author], ~profile),
            "author_bio_length": _arr(a_bio[author], pa.int32(), ~profile),
            "author_verified": _arr(a_verified[author], pa.bool_(), ~profile),
            "title": _pick(title_options, title_i, ~titled),
            "text": text,
            "source_language": _pick(lang_codes, language, ~declares),
            "reply_to": pa.nulls(n, pa.string()),
            "is_brand_account": pa.array(np.zeros(n, dtype=bool)),
            "brand_account_of": pa.nulls(n, pa.string()),
            "rating": _arr(
                np.clip(np.round(3 + 2.2 * score + rng.normal(0, 0.6, n)), 1, 5), pa.float64(), ~is_appstore
            ),
            "likes": _arr(likes, pa.int64(), ~social & ~is_appstore),
            "reposts": _arr(np.floor(likes * rng.uniform(0, 0.3, n)).astype(np.int64), pa.int64(), ~social),
            "replies": _arr(rng.poisson(0.3 + likes * 0.08), pa.int64(), ~social),
            "views": _arr(likes * rng.integers(20, 80, n), pa.int64(), source != src["youtube"]),
            "edited_at": _ts(created + rng.integers(60, 3600, n) * US_PER_S, ~edited),
            "is_deleted": pa.array(rng.random(n) < DELETED_SHARE),
            "query": _pick(queries, source),
            "fetched_at": _ts(created + rng.integers(60, 6 * 3600, n) * US_PER_S),
            "raw_ref": _join(_pick([f"synthetic/{s}#" for s in self.sources], source), native),
            "language": _pick(lang_codes, language),
            "language_confidence": pa.array((1 - 0.3 * rng.random(n) ** 3).astype(np.float32)),
            "sentiment_label": _pick(TONES, label),
            "sentiment_score": pa.array(score.astype(np.float32)),
            "sentiment_confidence": pa.array((0.5 + 0.49 * rng.random(n) ** 0.5).astype(np.float32)),
            "emotion": _pick(list(EMOTIONS), _choose(rng, _emotion_matrix(), rows=label)),
            "formality": _pick(REGISTERS, formality),
            "sarcasm": pa.array(sarcasm),
            "sarcasm_confidence": pa.array(rng.uniform(0.55, 0.98, n).astype(np.float32)),
            "intents": _lookup_lists(intent_lists, bits),
            "credibility_flags": _lookup_lists(FLAG_SETS, a_flags[author]),
            "is_likely_bot": pa.array(a_bot[author]),
        }
        answered = [
            src[s] for s in ("mastodon", "bluesky", "reddit", "youtube", "appstore", "file") if s in src
        ]
        state = {"created": created, "source": source, "language": language, "b1": b1,
                 "answerable": (capped[:, names.index("question")] | complaint) & np.isin(source, answered)}  # fmt: skip
        self.n_authors = n_authors
        return columns, state

    def _labels(self, rng: np.random.Generator, count: np.ndarray, first: np.ndarray, second: np.ndarray,
                at: np.ndarray, phrases: list[str], name: str, ids: list[str]) -> dict[str, pa.Array]:  # fmt: skip
        """A pain_points/motives column: the first label's evidence is its phrase in the text."""
        rows, pos = _flatten(count)
        primary = pos == 0
        label = np.where(primary, first[rows], second[rows])
        length = _lengths(phrases, label) - 2  # the phrase without its ". "
        start = at[rows]
        return {name: _list_of_structs(count, name, {
            "id": _pick(ids, label),
            "score": pa.array(np.where(primary, rng.uniform(0.6, 0.98, len(rows)),
                                       rng.uniform(0.35, 0.6, len(rows))).astype(np.float32)),
            "evidence": pc.utf8_slice_codeunits(_pick(phrases, label, ~primary), 0, -2),
            "start": _arr(start, pa.int32(), ~primary),
            "end": _arr(start + length, pa.int32(), ~primary),
        })}  # fmt: skip

    # -- brand accounts ---------------------------------------------------------------------------------
    def brand_accounts(self, audience_ids: pa.Array, state: dict[str, np.ndarray]) -> dict[str, pa.Array]:
        """Replies to earlier questions and complaints about the brand, and announcements."""
        rng, n, k = self.rng, self.n_brand, len(self.brand_ids)
        created_a = state["created"]
        answerable = state["answerable"] & (created_a < self.end_us - 2 * US_PER_DAY)
        candidates = np.flatnonzero(answerable)
        n_reply = min(round(n * BRAND_REPLY_SHARE), len(candidates))
        target = np.sort(rng.choice(candidates, n_reply, replace=False))
        n_announce = n - n_reply
        # Each brand answers at its own typical speed (median 30 minutes to 8 hours).
        median_s = np.geomspace(1800, 8 * 3600, max(k, 1))[rng.permutation(max(k, 1))]
        brand_r = state["b1"][target]
        delay_s = rng.lognormal(np.log(median_s[brand_r]), 1.0).clip(300, 2 * 86400)
        created_r = created_a[target] + (delay_s * US_PER_S).astype(np.int64)
        created_n, day_n = self.times(n_announce)
        social = [i for i, v in enumerate(SOURCES.values()) if v[2]]

        brand = np.concatenate([brand_r, _choose(self.rng, self.popularity, rows=day_n)])
        source = np.concatenate([state["source"][target], rng.choice(social, n_announce)])
        language = np.concatenate(
            [state["language"][target], rng.integers(0, len(self.languages), n_announce)]
        )
        created = np.concatenate([created_r, created_n])
        reply = np.arange(n) < n_reply
        index = np.arange(self.n_audience, self.n_audience + n, dtype=np.int64)
        native = self.native_ids(index)
        n_sources = len(self.sources)
        text_i = language * 2 + (~reply).astype(int)
        texts = [
            s
            for code in self.languages
            for s in (TEMPLATES[code]["reply"][0], TEMPLATES[code]["announce"][0])
        ]
        url_prefix = [v[1] or "" for v in SOURCES.values()]
        likes = np.floor(rng.lognormal(np.where(reply, 0.5, 3.5), 1.0)).astype(np.int64)
        zeros = np.zeros(n, dtype=int)
        empty = _lookup_lists([[]], zeros)
        score = rng.uniform(0.1, 0.7, n)
        one = np.ones(n, dtype=int)
        return {
            "post_id": self.post_ids(index),
            "source": _pick(self.sources, source),
            "native_id": native,
            "url": _join(_pick(url_prefix, source, source == self.sources.index("file")), native),
            "created_at": _ts(created),
            # One account per brand and source, numbered after the audience authors.
            "author_id": self.author_ids(self.n_authors + brand * n_sources + source),
            "author_followers": _arr(rng.integers(20_000, 400_000, k)[brand], pa.int64()),
            "author_following": _arr(rng.integers(10, 300, k)[brand], pa.int64()),
            "author_post_count": _arr(rng.integers(2_000, 40_000, k)[brand], pa.int64()),
            "author_created_at": _ts(np.full(n, self.start_us - 4 * 365 * US_PER_DAY)),
            "author_bio_length": _arr(np.full(n, 120), pa.int32()),
            "author_verified": pa.array(np.ones(n, dtype=bool)),
            "title": pa.nulls(n, pa.string()),
            "text": _join(_pick(texts, text_i), _pick([" ["], zeros), native, _pick(["]"], zeros)),
            "source_language": pa.nulls(n, pa.string()),
            "reply_to": pc.if_else(
                pa.array(reply),
                audience_ids.take(pa.array(np.concatenate([target, np.zeros(n_announce, dtype=np.int64)]))),
                pa.nulls(n, pa.string()),
            ),
            "is_brand_account": pa.array(np.ones(n, dtype=bool)),
            "brand_account_of": _pick(self.brand_ids, brand),
            "rating": pa.nulls(n, pa.float64()),
            "likes": _arr(likes, pa.int64()),
            "reposts": _arr(likes // 10, pa.int64()),
            "replies": _arr(rng.poisson(np.where(reply, 0.5, 4.0)), pa.int64()),
            "views": _arr(likes * 40, pa.int64(), ~np.isin(source, [self.sources.index("youtube")])),
            "edited_at": pa.nulls(n, _SCHEMA.field("edited_at").type),
            "is_deleted": pa.array(rng.random(n) < DELETED_SHARE),
            "query": _pick([" OR ".join(self.brand_ids)], zeros),
            "fetched_at": _ts(created + rng.integers(60, 6 * 3600, n) * US_PER_S),
            "raw_ref": _join(_pick([f"synthetic/{s}#" for s in self.sources], source), native),
            "language": _pick(self.languages, language),
            "language_confidence": pa.array(rng.uniform(0.9, 1.0, n).astype(np.float32)),
            "brands": _lookup_lists([[b] for b in self.brand_ids], brand),
            "brand_mentions": _list_of_structs(
                one,
                "brand_mentions",
                {
                    "brand_id": _pick(self.brand_ids, brand),
                    "matched": pa.nulls(n, pa.string()),
                    "start": pa.nulls(n, pa.int32()),
                    "end": pa.nulls(n, pa.int32()),
                    "kind": _pick(["author"], zeros),
                },
            ),  # fmt: skip
            "brand_sentiments": _list_of_structs(
                zeros,
                "brand_sentiments",
                {
                    "brand_id": pa.array([], pa.string()),
                    "sentiment_label": pa.array([], pa.string()),
                    "sentiment_score": pa.array([], pa.float32()),
                },
            ),  # fmt: skip
            "sentiment_label": _pick(TONES, np.where(score > 0.2, 2, 1)),
            "sentiment_score": pa.array(score.astype(np.float32)),
            "sentiment_confidence": pa.array(rng.uniform(0.6, 0.95, n).astype(np.float32)),
            "emotion": _pick(
                list(EMOTIONS), np.where(reply, EMOTIONS.index("gratitude"), EMOTIONS.index("joy"))
            ),
            "formality": _pick(REGISTERS, np.where(reply, 2, 1)),
            "sarcasm": pa.array(np.zeros(n, dtype=bool)),
            "sarcasm_confidence": pa.array(rng.uniform(0.85, 0.99, n).astype(np.float32)),
            "intents": empty,
            "switch_from": empty,
            "switch_to": empty,
            "pain_points": _list_of_structs(zeros, "pain_points", _empty_label_children()),
            "motives": _list_of_structs(zeros, "motives", _empty_label_children()),
            "label_evidence": _list_of_structs(
                zeros,
                "label_evidence",
                {
                    "task": pa.array([], pa.string()),
                    "label": pa.array([], pa.string()),
                    "score": pa.array([], pa.float32()),
                    "evidence": pa.array([], pa.string()),
                    "start": pa.array([], pa.int32()),
                    "end": pa.array([], pa.int32()),
                },
            ),  # fmt: skip
            "credibility_flags": empty,
            "is_likely_bot": pa.array(np.zeros(n, dtype=bool)),
        }


def _emotion_matrix() -> np.ndarray:
    return np.array([[row.get(e, 0.0) for e in EMOTIONS] for row in EMOTION_GIVEN_TONE])


def _empty_label_children() -> dict[str, pa.Array]:
    return {"id": pa.array([], pa.string()), "score": pa.array([], pa.float32()),
            "evidence": pa.array([], pa.string()), "start": pa.array([], pa.int32()),
            "end": pa.array([], pa.int32())}  # fmt: skip


def _table(columns: dict[str, pa.Array]) -> pa.Table:
    n = len(columns["post_id"])
    columns = columns | {
        "text_truncated": pa.array(np.zeros(n, dtype=bool)),
        "nlp_version": pa.array([NLP_VERSION], pa.string()).take(pa.array(np.zeros(n, dtype=int))),
        "enriched_at": pa.array([ENRICHED_AT], _SCHEMA.field("enriched_at").type).take(
            pa.array(np.zeros(n, dtype=int))
        ),
    }
    return pa.Table.from_arrays([columns[f.name].cast(f.type) for f in _SCHEMA], schema=_SCHEMA)


def generate(config_path: Path, n_posts: int, days: int = 365, seed: int = 7) -> pa.Table:
    """``n_posts`` synthetic enriched rows (the whole period), sorted by creation time."""
    if n_posts < 1 or days < 1:
        raise ValueError("n_posts and days must be at least 1")
    gen = _Generator(config_path, n_posts, days, seed)
    audience_columns, state = gen.audience()
    tables = [_table(audience_columns)]
    if gen.n_brand:
        tables.append(_table(gen.brand_accounts(audience_columns["post_id"], state)))
    table = pa.concat_tables(tables)
    return table.take(pc.sort_indices(table, [("created_at", "ascending"), ("post_id", "ascending")]))


def write_enriched(storage_root: Path, config_path: Path, n_posts: int, days: int = 365,
                   seed: int = 7) -> dict:  # fmt: skip
    """Write ``n_posts`` synthetic rows into ``<root>/enriched/date=YYYY-MM-DD/enriched.parquet``.

    One file per UTC day (overwriting any file of that day); the brands are those of ``config_path``.
    Returns a summary: rows, days, files, seconds (and the generation and write split).
    """
    started = time.perf_counter()
    table = generate(config_path, n_posts, days, seed)
    generated = time.perf_counter()
    storage = Storage(storage_root)
    created = pc.cast(table.column("created_at"), pa.int64()).to_numpy()
    day_index = created // US_PER_DAY
    bounds = np.flatnonzero(np.diff(day_index)) + 1
    starts = np.concatenate([[0], bounds])
    stops = np.concatenate([bounds, [len(day_index)]])
    for start, stop in zip(starts, stops, strict=True):
        day = dt.datetime.fromtimestamp(int(day_index[start]) * 86_400, dt.UTC).date().isoformat()
        storage.write_parquet(storage.enriched_partition(day), table.slice(start, stop - start))
    finished = time.perf_counter()
    return {
        "rows": table.num_rows,
        "days": days,
        "files": len(starts),
        "authors": pc.count_distinct(table.column("author_id")).as_py(),
        "brand_account_posts": pc.sum(table.column("is_brand_account")).as_py() or 0,
        "seconds": round(finished - started, 2),
        "generate_seconds": round(generated - started, 2),
        "write_seconds": round(finished - generated, 2),
    }


def write_project(folder: Path, n_posts: int, days: int = 365, seed: int = 7,
                  config_path: Path = DEMO_CONFIG) -> dict:  # fmt: skip
    """A project folder: ``listening.yaml`` (the demo config, storage under ``folder/data``, no sources)
    and its enriched layer. Any previous data under ``folder/data`` is removed first."""
    folder = folder.resolve()
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["storage"] = {"root": str(folder / "data")}
    config["sources"] = []
    folder.mkdir(parents=True, exist_ok=True)
    project_file = folder / "listening.yaml"
    project_file.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    load_config(project_file)  # fail early if the copy does not validate
    shutil.rmtree(folder / "data", ignore_errors=True)
    summary = write_enriched(folder / "data", project_file, n_posts, days, seed)
    return summary | {"config": str(project_file)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--out", type=Path, required=True, help="project folder to write (data under out/data)"
    )
    args = parser.parse_args()
    summary = write_project(args.out, args.rows, args.days, args.seed)
    print(f"{summary['rows']:,} rows in {summary['files']} daily partitions ({summary['days']} days), "
          f"{summary['authors']:,} authors, {summary['brand_account_posts']:,} brand-account posts: "
          f"{summary['seconds']} s (generate {summary['generate_seconds']} s, write {summary['write_seconds']} s)")  # fmt: skip
    print(f"project: {summary['config']}")


if __name__ == "__main__":
    main()
