"""Deterministic demo data: hand-written texts -> exports of a fictional listening tool.

Reads ``pipelines/demo/texts/<lang>.yaml`` (hand-written posts with gold labels) and schedules them
over nine weeks with the planted patterns documented in ``docs/demo-data.md``: the Kvik delivery-delay
surge (2026-W40), the Mercato MERCATO30 campaign (2026-W38), the rising Korvo Pass questions
(2026-W40..W44), the Korvo app outage (2026-10-21), brand replies with brand-specific response
behaviour, a few spam accounts, and a handful of broken rows as real exports have.

Writes three exports in three formats (JSONL, CSV, Parquet), as another tool would deliver them,
plus ``manifest.json`` with the gold labels of every generated post (for tests and evaluation).
The same seed always gives byte-identical files.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

TEXTS_DIR = Path(__file__).with_name("texts")
SEED = 20260831
START = dt.date(2026, 8, 31)  # Monday of 2026-W36
WEEKS = 9
END = START + dt.timedelta(days=7 * WEEKS)  # exclusive: 2026-11-02
LOCAL = ZoneInfo("Europe/Warsaw")

# Planted patterns (docs/demo-data.md).
KVIK_SURGE_WEEK = 40
MERCATO_CAMPAIGN_WEEK = 38
PASS_LAUNCH_WEEK = 40
OUTAGE_DAY = dt.date(2026, 10, 21)

PLATFORMS = ("mastodon", "bluesky", "reddit", "hackernews", "youtube", "appstore")
PLATFORM_WEIGHTS = {"mastodon": 0.2, "bluesky": 0.25, "reddit": 0.2, "hackernews": 0.03, "youtube": 0.17,
                    "appstore": 0.15}  # fmt: skip
EXPORT_OF = {"mastodon": "social.jsonl", "bluesky": "social.jsonl", "reddit": "forums.csv",
             "hackernews": "forums.csv", "youtube": "reviews_video.parquet", "appstore": "reviews_video.parquet"}  # fmt: skip

# How each brand's support account answers questions and complaints: reply probability and
# lognormal delay (median minutes, spread). Kvik is overwhelmed during its delay surge.
RESPONSE = {
    "korvo": (0.78, 35, 0.8),
    "kvik": (0.40, 300, 0.9),
    "mercato": (0.55, 120, 0.9),
    "zesta": (0.65, 90, 0.8),
}
KVIK_SURGE_RESPONSE = (0.15, 720, 0.7)
SUPPORT_HANDLE = {
    "korvo": "korvo_help",
    "kvik": "kvikcare",
    "mercato": "mercatohelp",
    "zesta": "zesta_support",
}
MAIN_HANDLE = {"korvo": "korvo", "kvik": "kvik", "mercato": "mercato_shop", "zesta": "zesta"}
BLUESKY_HANDLE = {"korvo": "korvo.app", "kvik": "kvik.eu", "mercato": "mercato.shop", "zesta": "zesta.com"}
ANNOUNCEMENT_USES = {"korvo": 2, "kvik": 1, "mercato": 2, "zesta": 1}

QUESTION_TOPICS = {"pass_question", "general_question"}
COMPLAINT_TOPICS = {"delivery_delay", "missing_items", "damaged_items", "quality", "price", "billing", "app_bug",
                    "support", "courier"}  # fmt: skip

_FIRST_NAMES = {
    "en": "sam jo alex chris kate liam emma noah mia jack", "pl": "ania kasia tomek marta piotr ola kuba ewa bartek zosia",
    "ru": "masha dima sasha olya vanya katya lena igor nastya pasha", "sl": "jan nina luka ana miha eva rok tina ziga maja",
    "he": "noa itai yael omer tamar dani shira yoni maya eli", "is": "sigga jon gunna bjarki helga arni kata siggi disa orri",
    "de": "lena jonas mia felix anna paul lea max sophie tim", "fr": "lea hugo chloe lucas manon theo camille louis jade nico",
    "es": "lucia pablo sofia diego maria javi elena carlos ines alvaro",
}  # fmt: skip


_BIOS = [
    "",
    "",
    "coffee, cats & code",
    "mum of two, always hungry",
    "🌱 plant-based | 📍 Ljubljana",
    "food lover. opinions my own.",
    "Kraków ↔ Berlin",
    "runner 🏃 baker 🍞",
    "he/him · football · tacos",
    "עושה קניות אונליין כי אין זבל",
    "Люблю готовить и путешествовать",
    "Reykjavík | tónlist | kaffi",
    "étudiante, fauchée, gourmande",
    "comiendo por Madrid 🍕",
]


@dataclass
class Author:
    handle: str
    language: str
    weight: float
    followers: int
    following: int
    posts: int
    created: dt.datetime
    verified: bool
    bio: str
    is_spam: bool = False


@dataclass
class Post:
    platform: str
    id: str
    text: str
    created: dt.datetime
    author: str
    author_meta: Author | None
    language: str
    url: str
    in_reply_to: str | None = None
    title: str | None = None
    rating: int | None = None
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    gold: dict = field(default_factory=dict)


def load_texts(directory: Path = TEXTS_DIR) -> dict[str, dict]:
    out = {}
    for path in sorted(directory.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        out[data["language"]] = data
    return out


def iso_week(day: dt.date) -> int:
    return day.isocalendar().week


def _days_of_week(week: int) -> list[dt.date]:
    monday = dt.date.fromisocalendar(2026, week, 1)
    return [monday + dt.timedelta(days=i) for i in range(7)]


ALL_DAYS = [START + dt.timedelta(days=i) for i in range(7 * WEEKS)]
ALL_WEEKS = sorted({iso_week(d) for d in ALL_DAYS})


class Generator:
    def __init__(self, texts: dict[str, dict], seed: int = SEED):
        self.texts = texts
        self.rng = random.Random(seed)
        self.posts: list[Post] = []
        self._ids: set[str] = set()
        self.authors = {lang: self._make_authors(lang) for lang in sorted(texts)}
        self.spam = self._make_spam_accounts()

    # -- people ----------------------------------------------------------------------------------
    def _make_authors(self, lang: str) -> list[Author]:
        rng = self.rng
        names = _FIRST_NAMES[lang].split()
        authors = []
        for n in range(110):
            handle = f"{rng.choice(names)}{rng.choice(['', '_', '.'])}{rng.randint(1, 9999)}"
            followers = int(math.exp(rng.gauss(4.5, 1.6)))
            authors.append(Author(
                handle=handle, language=lang, weight=1 / (n + 1) ** 0.9, followers=followers,
                following=int(math.exp(rng.gauss(5.0, 1.0))), posts=int(math.exp(rng.gauss(6.5, 1.4))),
                created=dt.datetime(2010, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=rng.randint(0, 5600)),
                verified=rng.random() < 0.02, bio=rng.choice(_BIOS),
            ))  # fmt: skip
        return authors

    def _make_spam_accounts(self) -> list[Author]:
        rng = self.rng
        return [
            Author(handle=f"deals_{rng.randint(10000, 99999)}", language="en", weight=1.0, followers=rng.randint(0, 12),
                   following=rng.randint(1500, 4000), posts=rng.randint(20000, 90000),
                   created=dt.datetime(2026, 9, 1, tzinfo=dt.UTC) + dt.timedelta(days=rng.randint(0, 10)),
                   verified=False, bio="", is_spam=True)
            for _ in range(4)
        ]  # fmt: skip

    def _author(self, lang: str) -> Author:
        pool = self.authors[lang]
        return self.rng.choices(pool, weights=[a.weight for a in pool])[0]

    # -- time ------------------------------------------------------------------------------------
    def _moment(self, day: dt.date) -> dt.datetime:
        """A local time of day when people post (lunch and evening peaks), as UTC."""
        rng = self.rng
        hour = rng.choices(range(24), weights=[1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 3, 3, 3, 4,
                                               5, 4, 3, 3, 4, 5, 7, 8, 8, 7, 5, 2])[0]  # fmt: skip
        local = dt.datetime(
            day.year, day.month, day.day, hour, rng.randint(0, 59), rng.randint(0, 59), tzinfo=LOCAL
        )
        return local.astimezone(dt.UTC)

    def _day(self, days: list[dt.date]) -> dt.date:
        # Grocery chatter is a little higher on Sunday and Monday.
        weights = [1.25 if d.weekday() in (0, 6) else 1.0 for d in days]
        return self.rng.choices(days, weights=weights)[0]

    # -- ids and urls ----------------------------------------------------------------------------
    def _native_id(self, platform: str) -> str:
        rng = self.rng
        while True:
            if platform == "mastodon":
                value = str(rng.randint(113_000_000_000_000_000, 113_999_999_999_999_999))
            elif platform == "bluesky":
                value = "3l" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(11))
            elif platform == "reddit":
                value = "t1_" + "".join(rng.choice("0123456789abcdefghijklmnopqrstuvwxyz") for _ in range(7))
            elif platform == "hackernews":
                value = str(rng.randint(45_000_000, 46_999_999))
            elif platform == "youtube":
                value = "Ugx" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
                                        for _ in range(20))  # fmt: skip
            else:
                value = str(rng.randint(10_000_000_000, 13_999_999_999))
            if (platform, value) not in self._ids:
                self._ids.add((platform, value))
                return value

    @staticmethod
    def _url(platform: str, native: str, author: str) -> str:
        return {
            "mastodon": f"https://mastodon.social/@{author.split('@')[0]}/{native}",
            "bluesky": f"https://bsky.app/profile/{author}/post/{native}",
            "reddit": f"https://www.reddit.com/r/groceries/comments/{native[3:]}/",
            "hackernews": f"https://news.ycombinator.com/item?id={native}",
            "youtube": f"https://www.youtube.com/watch?v=dQw4w9WgXcQ&lc={native}",
            "appstore": f"https://apps.apple.com/app/id6470000000?see-all=reviews#{native}",
        }[platform]

    @staticmethod
    def _platform_handle(platform: str, handle: str, lang: str) -> str:
        if platform == "mastodon":
            instance = {"de": "chaos.social", "fr": "mastodon.online", "is": "mastodon.is"}.get(
                lang, "mastodon.social"
            )
            return f"{handle}@{instance}"
        if platform == "bluesky":
            return f"{handle.replace('_', '-').replace('.', '-')}.bsky.social"
        return handle

    # -- posts -----------------------------------------------------------------------------------
    def _platform(self, lang: str, topic: str) -> str:
        weights = dict(PLATFORM_WEIGHTS)
        if lang not in ("en", "de"):
            weights["hackernews"] = 0.0
        if topic in ("event", "community", "neutral_news", "false_hit"):
            weights["appstore"] = 0.0
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def _vary(self, text: str, use: int) -> str:
        """Later uses of a text differ a little, as people phrase the same gripe differently."""
        if use == 0:
            return text
        rng = self.rng
        choice = rng.randrange(6)
        if choice == 0:
            return text + " " + rng.choice(["😤", "🙄", "😂", "🤷", "👀", "😅", "!!", "...", "🛒", "🙏"])
        if choice == 1:
            return text.lower()
        if choice == 2:
            return rng.choice(["Again: ", "+1 ", "Same here. ", "^ this. ", "FYI ", "update: "]) + text
        if choice == 3:
            return text.rstrip(".!") + rng.choice([" #fail", " #groceries", " #delivery", " #food", ""])
        if choice == 4:
            return text.replace(" ", "  ", 1)
        return text + " " + rng.choice(["#help", "#why", "#seriously", "#today", "#mood"])

    def _audience_post(
        self, lang: str, item: dict, day: dt.date, use: int, author: Author | None = None
    ) -> Post:
        topic = item["topic"]
        platform = self._platform(lang, topic)
        author = author or self._author(lang)
        handle = self._platform_handle(platform, author.handle, lang)
        native = self._native_id(platform)
        created = self._moment(day)
        sentiment = item["sentiment"]
        text = self._vary(item["text"], use)
        post = Post(
            platform=platform, id=native, text=text, created=created, author=handle, author_meta=author,
            language=lang, url=self._url(platform, native, handle),
            likes=int(math.exp(self.rng.gauss(1.0, 1.2)) * (1 + author.followers / 2000)),
            reposts=int(math.exp(self.rng.gauss(-0.5, 1.2))),
            gold={"text_id": item["id"], "topic": topic, "brands": item["brands"], "sentiment": sentiment,
                  "sarcasm": bool(item.get("sarcasm", False)), "switch_from": item.get("switch_from"),
                  "switch_to": item.get("switch_to"), "kind": "audience", "spam": author.is_spam},
        )  # fmt: skip
        if platform == "appstore":
            post.rating = {
                "negative": self.rng.choice([1, 1, 2]),
                "neutral": 3,
                "positive": self.rng.choice([4, 5, 5]),
            }[sentiment]
            post.title = " ".join(item["text"].split()[:4])
        if platform == "reddit" and self.rng.random() < 0.3:
            post.title = " ".join(item["text"].split()[:6])
        self.posts.append(post)
        return post

    def _reply(self, parent: Post, brand: str, lang: str, kind: str, delay_minutes: float) -> Post:
        options = [b for b in self.texts[lang]["brand_posts"] if b["brand"] == brand and b["kind"] == kind]
        item = self.rng.choice(options)
        handle = (
            BLUESKY_HANDLE[brand]
            if parent.platform == "bluesky"
            else self._platform_handle(parent.platform, SUPPORT_HANDLE[brand], lang)
        )
        native = self._native_id(parent.platform)
        created = parent.created + dt.timedelta(minutes=delay_minutes)
        reply = Post(
            platform=parent.platform, id=native, text=item["text"], created=created.replace(microsecond=0),
            author=handle, author_meta=None, language=lang, url=self._url(parent.platform, native, handle),
            in_reply_to=parent.id,
            gold={"text_id": item["id"], "topic": kind, "brands": [brand], "kind": "brand_reply", "brand": brand,
                  "reply_minutes": round(delay_minutes, 1)},
        )  # fmt: skip
        parent.replies += 1
        self.posts.append(reply)
        return reply

    def _announcement(self, lang: str, item: dict, day: dt.date) -> Post:
        brand = item["brand"]
        platform = self.rng.choice(["mastodon", "bluesky", "youtube"])
        handle = (
            BLUESKY_HANDLE[brand]
            if platform == "bluesky"
            else self._platform_handle(platform, MAIN_HANDLE[brand], lang)
        )
        native = self._native_id(platform)
        post = Post(
            platform=platform, id=native, text=item["text"], created=self._moment(day), author=handle,
            author_meta=None, language=lang, url=self._url(platform, native, handle),
            likes=int(math.exp(self.rng.gauss(3.0, 0.8))), reposts=int(math.exp(self.rng.gauss(1.5, 0.8))),
            gold={"text_id": item["id"], "topic": "announcement", "brands": [brand], "kind": "brand_post", "brand": brand},
        )  # fmt: skip
        self.posts.append(post)
        return post

    # -- schedule ----------------------------------------------------------------------------------
    def _schedule(self, item: dict) -> list[dt.date]:
        """The days on which one hand-written audience text is posted (planted patterns live here)."""
        rng = self.rng
        topic, brands = item["topic"], item["brands"]
        if topic == "delivery_delay" and "kvik" in brands:
            days = [self._day(ALL_DAYS) for _ in range(2)]
            return days + [self._day(_days_of_week(KVIK_SURGE_WEEK)) for _ in range(2)]
        if topic == "switching" and item.get("switch_from") == "kvik":
            return [self._day(_days_of_week(KVIK_SURGE_WEEK)) for _ in range(2)] + [
                self._day(_days_of_week(KVIK_SURGE_WEEK + 1))
            ]
        if topic == "discount" and "mercato" in brands:
            return [self._day(_days_of_week(MERCATO_CAMPAIGN_WEEK)) for _ in range(2)] + [self._day(ALL_DAYS)]
        if topic == "pass_question":
            # Growing week over week from the launch: weights 1, 2, 3, 4, 5.
            weeks = list(range(PASS_LAUNCH_WEEK, ALL_WEEKS[-1] + 1))
            picks = rng.choices(weeks, weights=[w - PASS_LAUNCH_WEEK + 1 for w in weeks], k=3)
            return [self._day(_days_of_week(w)) for w in picks]
        if topic == "app_bug" and "korvo" in brands:
            return [OUTAGE_DAY, OUTAGE_DAY, self._day(ALL_DAYS)]
        if topic == "false_hit":
            return [self._day(ALL_DAYS)]
        return [self._day(ALL_DAYS) for _ in range(2)]

    def _maybe_reply(self, post: Post, item: dict) -> None:
        topic = item["topic"]
        if (
            topic not in QUESTION_TOPICS | COMPLAINT_TOPICS
            or not item["brands"]
            or post.platform == "appstore"
        ):
            return
        brand = item["brands"][0]
        probability, median, spread = RESPONSE[brand]
        if brand == "kvik" and iso_week(post.created.date()) == KVIK_SURGE_WEEK:
            probability, median, spread = KVIK_SURGE_RESPONSE
        if self.rng.random() >= probability:
            return
        delay = math.exp(self.rng.gauss(math.log(median), spread))
        kind = "reply_question" if topic in QUESTION_TOPICS else "reply_complaint"
        self._reply(post, brand, post.language, kind, max(delay, 1.0))

    def generate(self) -> list[Post]:
        for lang in sorted(self.texts):
            data = self.texts[lang]
            for item in data["audience"]:
                for use, day in enumerate(sorted(self._schedule(item))):
                    post = self._audience_post(lang, item, day, use)
                    self._maybe_reply(post, item)
            for item in data["brand_posts"]:
                if item["kind"] != "announcement":
                    continue
                self._announcement_days(lang, item)
        self._spam()
        self.posts = [p for p in self.posts if p.created.date() < END + dt.timedelta(days=2)]
        self.posts.sort(key=lambda p: (p.created, p.platform, p.id))
        return self.posts

    def _announcement_days(self, lang: str, item: dict) -> None:
        text = item["text"].lower()
        if "mercato30" in text:
            days = [
                self._day(_days_of_week(MERCATO_CAMPAIGN_WEEK - 1)),
                self._day(_days_of_week(MERCATO_CAMPAIGN_WEEK)),
            ]
        elif item["brand"] == "korvo" and "pass" in text:
            days = [self._day(_days_of_week(PASS_LAUNCH_WEEK))] + [
                self._day(_days_of_week(PASS_LAUNCH_WEEK + 2))
            ]
        else:
            days = [self._day(ALL_DAYS) for _ in range(ANNOUNCEMENT_USES[item["brand"]])]
        for day in days:
            self._announcement(lang, item, day)

    def _spam(self) -> None:
        """Four new, high-volume accounts pushing the Mercato code with the same words (credibility test)."""
        pushed = next(
            i for i in self.texts["en"]["audience"] if i["topic"] == "discount" and "mercato" in i["brands"]
        )
        for account in self.spam:
            for _ in range(6):
                day = self._day(
                    _days_of_week(MERCATO_CAMPAIGN_WEEK) + _days_of_week(MERCATO_CAMPAIGN_WEEK + 1)
                )
                self._audience_post("en", pushed, day, 0, author=account)


# -- exports ------------------------------------------------------------------------------------
EXPORT_COLUMNS = ["platform", "id", "created_at", "author", "text", "title", "rating", "url", "in_reply_to", "lang",
                  "likes", "reposts", "replies", "author_followers", "author_following", "author_posts",
                  "author_created_at", "author_verified", "author_bio"]  # fmt: skip

# Rows a real export carries now and then; each lands in quarantine with its reason (documented).
BROKEN_ROWS = [
    ("social.jsonl", {"text": "", "note": "deleted post: empty text"}),
    ("social.jsonl", {"text": "   ", "note": "whitespace-only text"}),
    ("social.jsonl", {"created_at": "yesterday", "note": "unparseable timestamp"}),
    ("forums.csv", {"created_at": "2026-13-45T25:61:00+02:00", "note": "impossible date"}),
    ("forums.csv", {"text": "", "note": "removed comment"}),
    ("reviews_video.parquet", {"created_at": None, "note": "missing timestamp"}),
]


def _row(post: Post, declared_lang: str | None) -> dict:
    meta = post.author_meta
    return {
        "platform": post.platform, "id": post.id, "created_at": post.created, "author": post.author,
        "text": post.text, "title": post.title, "rating": post.rating, "url": post.url,
        "in_reply_to": post.in_reply_to, "lang": declared_lang, "likes": post.likes, "reposts": post.reposts,
        "replies": post.replies,
        "author_followers": meta.followers if meta else None, "author_following": meta.following if meta else None,
        "author_posts": meta.posts if meta else None,
        "author_created_at": meta.created if meta else None,
        "author_verified": meta.verified if meta else None, "author_bio": meta.bio if meta else None,
    }  # fmt: skip


def _declared_language(rng: random.Random, post: Post) -> str | None:
    # Mastodon and Bluesky let authors declare a language; many leave the app default (English).
    if post.platform not in ("mastodon", "bluesky"):
        return None
    return post.language if rng.random() < 0.8 else "en"


def write_exports(posts: list[Post], out_dir: Path, seed: int = SEED) -> dict[str, Path]:
    rng = random.Random(seed + 1)
    out_dir.mkdir(parents=True, exist_ok=True)
    groups: dict[str, list[dict]] = {name: [] for name in sorted(set(EXPORT_OF.values()))}
    for post in posts:
        groups[EXPORT_OF[post.platform]].append(_row(post, _declared_language(rng, post)))
    for n, (name, change) in enumerate(BROKEN_ROWS):
        template = dict(groups[name][n * 7 + 3])
        template.update({k: v for k, v in change.items() if k != "note"})
        template["id"] = f"broken-{n}"
        groups[name].append(template)

    paths = {}
    # JSON lines with UTC timestamps ("Z").
    lines = []
    for row in groups["social.jsonl"]:
        row = dict(row)
        for key in ("created_at", "author_created_at"):
            if isinstance(row[key], dt.datetime):
                row[key] = row[key].strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(json.dumps(row, ensure_ascii=False, sort_keys=True))
    paths["social.jsonl"] = _write(out_dir / "social.jsonl", ("\n".join(lines) + "\n").encode("utf-8"))

    # CSV with local times and their offset, ';'-separated as many European exports are.
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, delimiter=";", lineterminator="\n")
    writer.writeheader()
    for row in groups["forums.csv"]:
        row = dict(row)
        for key in ("created_at", "author_created_at"):
            if isinstance(row[key], dt.datetime):
                row[key] = row[key].astimezone(LOCAL).isoformat()
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    paths["forums.csv"] = _write(out_dir / "forums.csv", buffer.getvalue().encode("utf-8"))

    # Parquet with epoch-millisecond timestamps.
    rows = []
    for row in groups["reviews_video.parquet"]:
        row = dict(row)
        for key in ("created_at", "author_created_at"):
            if isinstance(row[key], dt.datetime):
                row[key] = int(row[key].timestamp() * 1000)
        rows.append(row)
    table = pa.Table.from_pylist(rows, schema=pa.schema([
        ("platform", pa.string()), ("id", pa.string()), ("created_at", pa.int64()), ("author", pa.string()),
        ("text", pa.string()), ("title", pa.string()), ("rating", pa.int8()), ("url", pa.string()),
        ("in_reply_to", pa.string()), ("lang", pa.string()), ("likes", pa.int64()), ("reposts", pa.int64()),
        ("replies", pa.int64()), ("author_followers", pa.int64()), ("author_following", pa.int64()),
        ("author_posts", pa.int64()), ("author_created_at", pa.int64()), ("author_verified", pa.bool_()),
        ("author_bio", pa.string()),
    ]))  # fmt: skip
    buffer_pq = io.BytesIO()
    pq.write_table(table, buffer_pq, compression="zstd")
    paths["reviews_video.parquet"] = _write(out_dir / "reviews_video.parquet", buffer_pq.getvalue())
    return paths


def _write(path: Path, data: bytes) -> Path:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def manifest(posts: list[Post], texts: dict[str, dict], paths: dict[str, Path]) -> dict:
    distinct = {i["text"] for d in texts.values() for i in d["audience"] + d["brand_posts"]}
    return {
        "seed": SEED,
        "period": {"start": START.isoformat(), "end_exclusive": END.isoformat()},
        "hand_written_texts": len(distinct),
        "posts": len(posts),
        "broken_rows": [
            {"file": name, **{k: v for k, v in change.items() if k == "note"}} for name, change in BROKEN_ROWS
        ],
        "languages": dict(sorted(Counter(p.language for p in posts).items())),
        "platforms": dict(sorted(Counter(p.platform for p in posts).items())),
        "kinds": dict(sorted(Counter(p.gold["kind"] for p in posts).items())),
        "files": {
            name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in sorted(paths.items())
        },
        "gold": [{"platform": p.platform, "id": p.id, "language": p.language, **p.gold} for p in posts],
    }


def generate(out_dir: str | Path, texts_dir: Path = TEXTS_DIR, seed: int = SEED) -> dict:
    """Write the demo exports and their manifest into ``out_dir``; return the manifest summary."""
    out_dir = Path(out_dir)
    texts = load_texts(texts_dir)
    posts = Generator(texts, seed).generate()
    paths = write_exports(posts, out_dir, seed)
    info = manifest(posts, texts, paths)
    _write(
        out_dir / "manifest.json", json.dumps(info, ensure_ascii=False, indent=1, default=str).encode("utf-8")
    )
    return {k: v for k, v in info.items() if k != "gold"}
