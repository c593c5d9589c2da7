"""The project file (``listening.yaml``): one definition, validated on load.

Everything that configures the product lives in one YAML file: the brand and its competitors,
the sources and their queries, the languages of interest, the timezone and the storage root.
``load_config`` validates it and fails with a message that names the key and the problem.
The JSON Schema exported from these models lives in ``schemas/config.schema.json``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

CONFIG_SCHEMA_PATH = Path(__file__).with_name("config.schema.json")

# ISO 639-1 codes the language identifier can tell apart (languages of interest must be among them).
SUPPORTED_LANGUAGES = (
    "en", "pl", "ru", "sl", "he", "is", "de", "fr", "es", "it", "pt", "nl", "sv", "da", "nb",
    "fi", "cs", "sk", "uk", "hr", "sr", "bg", "ro", "hu", "lt", "lv", "et", "el", "tr", "ar",
)  # fmt: skip

IDENTIFIER = r"^[a-z][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Brand(_Strict):
    """A brand we listen for: ours or a competitor."""

    id: Annotated[str, Field(pattern=IDENTIFIER, description="Stable id used in every table.")]
    name: str = Field(description="Display name.")
    own: bool = Field(False, description="True for our brand (exactly one brand).")
    aliases: list[str] = Field(
        default_factory=list,
        description="Names people use, in any language and script (irregular inflected forms too).",
    )
    handles: list[str] = Field(
        default_factory=list,
        description="Social handles of the brand's own accounts, e.g. '@korvo' or 'korvo.app'.",
    )
    hashtags: list[str] = Field(default_factory=list, description="Hashtags that mean this brand.")
    domains: list[str] = Field(default_factory=list, description="Web domains of the brand.")
    exclude: list[str] = Field(
        default_factory=list,
        description="Terms that mark a false hit: a post containing one is not about this brand.",
    )
    color: str | None = Field(None, pattern=r"^#[0-9a-fA-F]{6}$", description="Chart colour.")

    @field_validator("hashtags")
    @classmethod
    def _hashtags_start_with_hash(cls, value: list[str]) -> list[str]:
        for tag in value:
            if not re.fullmatch(r"#\w+", tag):
                raise ValueError(f"hashtag {tag!r} must look like '#word'")
        return value

    @field_validator("domains")
    @classmethod
    def _domains_are_hosts(cls, value: list[str]) -> list[str]:
        for domain in value:
            if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", domain):
                raise ValueError(f"domain {domain!r} must be a lowercase host name like 'korvo.app'")
        return value

    @model_validator(mode="after")
    def _has_a_name_to_find(self) -> Brand:
        if not (self.aliases or self.handles or self.hashtags or self.domains):
            raise ValueError("needs at least one of aliases, handles, hashtags or domains")
        return self


FIELD_TARGETS = (
    "native_id", "text", "created_at", "author", "author_name", "url", "reply_to", "language",
    "title", "rating", "likes", "reposts", "replies", "views", "author_followers",
    "author_following", "author_post_count", "author_created_at", "author_verified", "author_bio",
    "source", "edited_at", "is_deleted",
)  # fmt: skip


class FileSource(_Strict):
    """Posts exported by another tool (CSV, JSONL or Parquet) and imported from files."""

    name: Annotated[str, Field(pattern=IDENTIFIER, description="Source id written to posts.source.")]
    kind: Literal["file"] = "file"
    enabled: bool = True
    path: str = Field(description="File or glob, relative to the config file unless absolute.")
    format: Literal["auto", "csv", "jsonl", "parquet"] = "auto"
    mapping: dict[str, str] = Field(
        description="Post field -> column in the file. 'text' and 'created_at' are required."
    )
    timezone: str | None = Field(
        None, description="Timezone of timestamps without an offset (default: the project timezone)."
    )
    encoding: str | None = Field(None, description="Force an encoding instead of detecting it.")

    @field_validator("mapping")
    @classmethod
    def _mapping_targets_known(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(FIELD_TARGETS))
        if unknown:
            raise ValueError(f"unknown field(s) {unknown}; known: {list(FIELD_TARGETS)}")
        missing = [k for k in ("text", "created_at") if k not in value]
        if missing:
            raise ValueError(f"must map {missing}")
        return value


class LiveSource(_Strict):
    """What every live connector shares (docs/connectors.md). Credentials are never written here: only the
    names of the environment variables (or the Airflow Connection) that hold them."""

    name: Annotated[str, Field(pattern=IDENTIFIER, description="Source id written to posts.source.")]
    enabled: bool = True
    queries: list[str] | None = Field(
        None,
        description="Search terms; default: every brand's name and aliases (hashtags where the source has them).",
    )
    base_url: str | None = Field(
        None, pattern=r"^https?://", description="API root, to use a mirror or a local test server."
    )
    conn_id: str | None = Field(
        None,
        description="Airflow Connection holding the credentials (login/password/extra), if not env vars.",
    )
    backfill_days: int = Field(3, ge=0, le=365, description="How far back the first run of a query reaches.")
    max_pages: int = Field(10, ge=1, le=1000, description="Pages fetched per query and run at most.")
    rate_per_minute: float = Field(30, gt=0, le=6000, description="Request budget of this source.")
    timeout_s: float = Field(20, gt=0, le=300, description="Timeout of one request.")
    max_retries: int = Field(4, ge=0, le=10, description="Retries of a 429, 5xx or timed-out request.")


class MastodonSource(LiveSource):
    """Mastodon hashtag timelines and public search across instances."""

    kind: Literal["mastodon"]
    instances: list[str] = Field(
        default_factory=lambda: ["mastodon.social"], description="Instance host names to query."
    )
    hashtags: list[str] | None = Field(None, description="Tags without '#'; default: the brands' hashtags.")
    search: bool = Field(True, description="Also use /api/v2/search for the queries (a token may be needed).")
    token_env: str | None = Field("MASTODON_TOKEN", description="Env var with an access token (optional).")


class BlueskySource(LiveSource):
    """Bluesky searchPosts with an app-password session, plus a bounded Jetstream firehose read."""

    kind: Literal["bluesky"]
    handle_env: str = Field("BLUESKY_HANDLE", description="Env var with the account handle.")
    app_password_env: str = Field("BLUESKY_APP_PASSWORD", description="Env var with an app password.")
    jetstream_url: str | None = Field(
        "wss://jetstream2.us-east.bsky.network/subscribe",
        description="Jetstream endpoint; null: no firehose.",
    )
    jetstream_max_events: int = Field(5000, ge=1, description="Events read from Jetstream per run at most.")
    jetstream_max_seconds: float = Field(60, gt=0, description="Seconds Jetstream is read per run at most.")


class HackerNewsSource(LiveSource):
    """Hacker News stories and comments through the Algolia search API (no credentials)."""

    kind: Literal["hackernews"]
    tags: str = Field("(story,comment)", description="Algolia tags filter.")


class RedditSource(LiveSource):
    """Reddit search and subreddit listings through the official OAuth API."""

    kind: Literal["reddit"]
    subreddits: list[str] = Field(
        default_factory=list, description="Subreddits whose new posts are read too."
    )
    client_id_env: str = Field("REDDIT_CLIENT_ID", description="Env var with the app's client id.")
    client_secret_env: str = Field("REDDIT_CLIENT_SECRET", description="Env var with the app's secret.")
    user_agent: str = Field("listening/0.1 (competitor listening)", description="User-Agent Reddit requires.")


class RssSource(LiveSource):
    """Any RSS or Atom feed (news search feeds, blogs, brand newsrooms)."""

    kind: Literal["rss"]
    feeds: list[Annotated[str, Field(pattern=r"^https?://")]] = Field(min_length=1, description="Feed URLs.")


class AppStoreApp(_Strict):
    id: str = Field(pattern=r"^[0-9]+$", description="Apple app id (the number in the App Store URL).")
    countries: list[str] = Field(
        default_factory=lambda: ["us"], description="Store countries (ISO 3166 alpha-2)."
    )


class AppStoreSource(LiveSource):
    """Apple App Store customer reviews (the public JSON review RSS), per app and country."""

    kind: Literal["appstore"]
    apps: list[AppStoreApp] = Field(min_length=1)


class YouTubeSource(LiveSource):
    """YouTube comment threads of configured videos or channels (Data API v3, API key)."""

    kind: Literal["youtube"]
    videos: list[str] = Field(default_factory=list, description="Video ids.")
    channels: list[str] = Field(
        default_factory=list, description="Channel ids (comments on all their videos)."
    )
    api_key_env: str = Field("YOUTUBE_API_KEY", description="Env var with the API key.")


LIVE_SOURCES = (
    MastodonSource,
    BlueskySource,
    HackerNewsSource,
    RedditSource,
    RssSource,
    AppStoreSource,
    YouTubeSource,
)
Source = Annotated[
    FileSource
    | MastodonSource
    | BlueskySource
    | HackerNewsSource
    | RedditSource
    | RssSource
    | AppStoreSource
    | YouTubeSource,
    Field(discriminator="kind"),
]


class Storage(_Strict):
    root: str = Field(
        "var/data",
        description="Storage root: a local path (relative to the config file) or a URI such as file:///data.",
    )


class ExtraCategory(_Strict):
    """A category the user adds to the pain-point or motive taxonomy (scored by its examples)."""

    id: str = Field(pattern=IDENTIFIER, description="Category id, e.g. 'sustainability'.")
    label: str | None = Field(None, description="Readable name; defaults to the id.")
    description: str = Field(description="What the category covers, in plain words.")
    examples: list[str] = Field(
        min_length=2, description="Example posts or phrases (any language); the more languages the better."
    )


class TaskModel(_Strict):
    """A fine-tuned text-classification model (hub id or local folder) that replaces a built-in head."""

    model: str = Field(description="Hugging Face model id or local folder of a text-classification model.")
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Map from the model's labels to ours, e.g. {LABEL_0: negative}; identical names map "
        "themselves.",
    )


class Encoder(_Strict):
    model: str = Field(
        "intfloat/multilingual-e5-small",
        description="Hugging Face id of the sentence encoder the heads run on.",
    )
    path: str | None = Field(
        None,
        description="Local folder holding the encoder (used first when set; relative to the config file).",
    )


class NLP(_Strict):
    mode: Literal["default", "fast"] = Field(
        "default",
        description="'default': transformer encoder; 'fast': static (distilled) embeddings, same columns.",
    )
    encoder: Encoder = Field(default_factory=Encoder)
    models_dir: str | None = Field(
        None,
        description="Where prepared models live (relative to the config file); default "
        "$LISTENING_MODELS_DIR or var/models.",
    )
    max_tokens: int = Field(256, ge=16, le=512, description="Longer texts are truncated and flagged.")
    batch_size: int = Field(32, ge=1, le=1024, description="Texts per encoder batch (sorted by length).")
    workers: int = Field(
        0,
        ge=0,
        le=64,
        description="Processes that label posts in parallel: 0 = in fast mode one per CPU core for "
        "inputs of 5,000 posts or more, in default mode one (the encoder already uses every core); "
        "1 = in the calling process; N = N processes, each with its own copy of the models.",
    )
    tasks: dict[Literal["sentiment", "emotion", "formality"], TaskModel] = Field(
        default_factory=dict,
        description="Optional fine-tuned models that replace the built-in heads for these tasks.",
    )
    extra_pain_points: list[ExtraCategory] = Field(default_factory=list)
    extra_motives: list[ExtraCategory] = Field(default_factory=list)


class Marts(_Strict):
    """How the comparisons are computed (docs/metrics.md)."""

    include_likely_bots: bool = Field(
        False, description="Count posts by authors flagged as likely bots/spam (excluded by default)."
    )
    response_window_days: int = Field(
        14, ge=1, le=90, description="A brand reply later than this does not count as answering."
    )
    spike_baseline_days: int = Field(
        28, ge=7, le=90, description="Trailing days a spike is measured against."
    )
    spike_min_mentions: int = Field(10, ge=1, description="Days with fewer mentions are never spikes.")
    spike_threshold: float = Field(3.5, gt=0, description="Robust z-score a day must reach to be a spike.")
    top_voices: int = Field(10, ge=1, le=100, description="Advocates and critics kept per brand and week.")


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
EMAIL = r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class DigestEmail(_Strict):
    """Email delivery of the digest; credentials come from an Airflow Connection, never from here."""

    to: list[Annotated[str, Field(pattern=EMAIL)]] = Field(
        min_length=1, description="Recipients (plain addresses)."
    )
    sender: str = Field(alias="from", pattern=EMAIL, description="From address (plain address).")
    conn_id: str = Field(
        "listening_smtp",
        pattern=ENV_NAME,
        description="Airflow Connection (type smtp) with host, port, login and password; outside Airflow "
        "the same URI in $AIRFLOW_CONN_<CONN_ID> works.",
    )
    subject_prefix: str = Field("", max_length=80, description="Put before the subject, e.g. '[Listening]'.")


class DigestSlack(_Strict):
    """Slack delivery through an incoming webhook; the URL is a secret and never lives here."""

    webhook_env: str = Field(
        "LISTENING_SLACK_WEBHOOK",
        pattern=ENV_NAME,
        description="Name of the environment variable, or else the Airflow Connection id, that holds the "
        "incoming-webhook URL.",
    )


class Digest(_Strict):
    """The weekly insight digest (docs/digest.md): schedule, content limits and delivery."""

    weekday: Literal[WEEKDAYS] = Field(  # type: ignore[valid-type]
        "monday", description="Day the digest of the week that just ended is built (project timezone)."
    )
    hour: int = Field(8, ge=0, le=23, description="Hour of that day (project timezone).")
    max_movements: int = Field(
        5, ge=1, le=10, description="At most this many significant movements (only significant ones)."
    )
    quotes_per_item: int = Field(2, ge=0, le=2, description="Representative quotes per movement.")
    items_per_list: int = Field(
        3, ge=1, le=10, description="Rows per brand in the rising/falling and other lists."
    )
    unanswered_examples: int = Field(3, ge=0, le=10, description="Unanswered posts of ours quoted.")
    email: DigestEmail | None = Field(None, description="Email delivery; off when absent.")
    slack: DigestSlack | None = Field(None, description="Slack delivery; off when absent.")


class ProjectConfig(_Strict):
    """The whole project file."""

    project: str = Field(description="Project name shown in the dashboard and digests.")
    market: str | None = Field(None, description="The market the brands compete in.")
    brands: list[Brand]
    sources: list[Source] = Field(default_factory=list)
    languages: list[str] = Field(description="Languages of interest (ISO 639-1).")
    timezone: str = Field("UTC", description="IANA timezone for days, weeks and hours.")
    storage: Storage = Field(default_factory=Storage)
    nlp: NLP = Field(default_factory=NLP)
    marts: Marts = Field(default_factory=Marts)
    digest: Digest = Field(default_factory=Digest)

    @field_validator("languages")
    @classmethod
    def _languages_supported(cls, value: list[str]) -> list[str]:
        bad = [code for code in value if code not in SUPPORTED_LANGUAGES]
        if bad:
            raise ValueError(f"unsupported language code(s) {bad}; supported: {list(SUPPORTED_LANGUAGES)}")
        if not value:
            raise ValueError("list at least one language")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r} (use an IANA name like 'Europe/Warsaw')") from exc
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ProjectConfig:
        ids = [b.id for b in self.brands]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"brands: duplicate id(s) {dupes}")
        own = [b.id for b in self.brands if b.own]
        if len(own) != 1:
            raise ValueError(f"brands: exactly one brand must have own: true (found {own or 'none'})")
        names = [s.name for s in self.sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"sources: duplicate name(s) {dupes}")
        return self

    @property
    def own_brand(self) -> Brand:
        return next(b for b in self.brands if b.own)

    def brand(self, brand_id: str) -> Brand:
        return next(b for b in self.brands if b.id == brand_id)

    def source(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(f"no source named {name!r} in the config (have: {[s.name for s in self.sources]})")


class ConfigError(ValueError):
    """The project file is missing, unreadable or invalid; the message says where and why."""


def _location(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("file",):  # discriminator tag pydantic inserts into union locations
            continue
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def format_validation_error(error: ValidationError, path: str | Path) -> str:
    lines = [f"invalid config {path}:"]
    for item in error.errors():
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"  {_location(item['loc'])}: {message}")
    return "\n".join(lines)


def parse_config(data: object, path: str | Path = "<config>") -> ProjectConfig:
    if not isinstance(data, dict):
        raise ConfigError(
            f"invalid config {path}: the file must hold a mapping of keys, not {type(data).__name__}"
        )
    try:
        return ProjectConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, path)) from None


def load_config(path: str | Path) -> ProjectConfig:
    """Read and validate a project file; raise ConfigError naming the key and the problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config {path} is not valid YAML: {exc}") from None
    return parse_config(data, path)


def config_json_schema() -> dict:
    schema = ProjectConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://github.com/listening/listening/schemas/config.schema.json"
    return schema


def write_config_json_schema(path: Path = CONFIG_SCHEMA_PATH) -> Path:
    path.write_text(json.dumps(config_json_schema(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
