"""The per-post spaCy pipeline: registered components, built once per process from the project config.

Components (``@Language.factory``):

* ``listening_language``: language identification (``doc._.language``, ``doc._.language_confidence``).
* ``listening_brands``: brand linking (``doc._.brands``, ``doc._.brand_mentions`` with spans).
* ``listening_clauses``: sentence and clause spans (``doc._.clauses``), split at sentence punctuation
  and at the contrast words of the post's language (``nlp/data/lexicon.yaml``).
* ``listening_insights``: tone, intents, pain points, motives, brand-level opinion and switching with
  evidence (``doc._.insights``); batched through the encoder in ``pipe``.

The text runs through ``spacy.blank("xx")`` (multilingual tokenizer). ``build_pipeline(config,
with_insights=False)`` gives the cheap linking-only pipeline (used where no model is needed).
"""

from __future__ import annotations

import gc
import re
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from nlp.brands import BrandLinker
from nlp.insights import Analyzer, Item, Mention, clauses
from nlp.langid import LanguageIdentifier
from schemas.config import Brand, ProjectConfig

for _name, _default in (("text", None), ("language", None), ("language_confidence", 0.0), ("declared_language", None),
                        ("brands", None), ("brand_mentions", None), ("author_brand", None),
                        ("clauses", None), ("insights", None)):  # fmt: skip
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=_default)


_TOKEN_RE = re.compile(r"\S+|\s+")
_ODD_SPACE_RE = re.compile(r"[^\S ]|  |^ | $")  # whitespace other than single spaces between words


class WhitespaceTokenizer:
    """Tokens split at whitespace, the text kept as given (``doc._.text``).

    The components work on character spans of the text (the encoder has its own sub-word tokenizer),
    so spaCy's rule-based tokenizer would only cost time: about two thirds of a millisecond a post.
    """

    def __init__(self, vocab):
        self.vocab = vocab

    def __call__(self, text: str) -> Doc:
        if text and not _ODD_SPACE_RE.search(text):  # words apart by single spaces: the common case
            words = text.split(" ")
            spaces = [True] * (len(words) - 1) + [False]
        else:
            words, spaces = _split_keeping_whitespace(text)
        doc = Doc(self.vocab, words=words, spaces=spaces)
        doc._.text = text
        return doc


def _split_keeping_whitespace(text: str) -> tuple[list[str], list[bool]]:
    """spaCy words and trailing-space flags for any text: runs of whitespace other than one space
    after a word become tokens of their own, so the doc's text is the input exactly."""
    words: list[str] = []
    spaces: list[bool] = []
    for match in _TOKEN_RE.finditer(text):
        token = match.group()
        if not token[0].isspace():
            words.append(token)
            spaces.append(False)
            continue
        if words and not spaces[-1] and not words[-1][0].isspace() and token[0] == " ":
            spaces[-1] = True
            token = token[1:]
        if token:
            words.append(token)
            spaces.append(False)
    return words, spaces


def doc_text(doc: Doc) -> str:
    """The text of a doc (kept by the tokenizer; ``doc.text`` would rebuild it from the tokens)."""
    text = doc._.text
    return text if text is not None else doc.text


class LanguageComponent:
    def __init__(self, identifier: LanguageIdentifier):
        self.identifier = identifier

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, stream, batch_size: int = 256):
        for docs in spacy.util.minibatch(stream, batch_size):
            guesses = self.identifier.identify_many([doc_text(d) for d in docs],
                                                    [d._.declared_language for d in docs])  # fmt: skip
            for doc, guess in zip(docs, guesses, strict=True):
                ext = doc._  # every ``doc._`` builds a new accessor object
                ext.language = guess.language
                ext.language_confidence = guess.confidence
                yield doc


class BrandComponent:
    def __init__(self, linker: BrandLinker):
        self.linker = linker

    def __call__(self, doc: Doc) -> Doc:
        brands, mentions = self.linker.link(doc_text(doc))
        ext = doc._
        ext.brands = brands
        ext.brand_mentions = [m.as_dict() for m in mentions]
        return doc


class ClauseComponent:
    def __call__(self, doc: Doc) -> Doc:
        ext = doc._
        ext.clauses = clauses(doc_text(doc), ext.language or "und")
        return doc


class InsightsComponent:
    """Runs the :class:`~nlp.insights.Analyzer` over batches of docs."""

    def __init__(self, analyzer: Analyzer, batch_size: int):
        self.analyzer = analyzer
        self.batch_size = batch_size
        # The transformer spends its time in ONNX Runtime, outside the GIL: it encodes one batch in a
        # thread while this one labels the previous batch and language-identifies the next. The static
        # encoder is numpy under the GIL, where the overlap measured slower.
        self.overlap = analyzer.encoder.releases_gil
        self._pool = None

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, stream, batch_size: int | None = None):
        size = batch_size or self.batch_size
        if not self.overlap:
            for docs in spacy.util.minibatch(stream, size):
                items = self._items(docs)
                yield from self._finish(docs, items, self.analyzer.encode(items))
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="listening-encoder")
        pending = None  # (docs, items, future of their encoding)
        for docs in spacy.util.minibatch(stream, size):
            items = self._items(docs)
            running = (docs, items, self._pool.submit(self.analyzer.encode, items))
            if pending is not None:
                yield from self._finish(pending[0], pending[1], pending[2].result())
            pending = running
        if pending is not None:
            yield from self._finish(pending[0], pending[1], pending[2].result())

    @staticmethod
    def _items(docs: list[Doc]) -> list[Item]:
        items = []
        for doc in docs:
            ext = doc._
            mentions = [
                Mention(m["brand_id"], m["start"], m["end"], m["kind"]) for m in ext.brand_mentions or []
            ]
            author = ext.author_brand
            if author and author not in {m.brand_id for m in mentions}:
                mentions.insert(0, Mention(author, None, None, "author"))
            items.append(Item(doc_text(doc), ext.language or "und", mentions, ext.clauses))
        return items

    def _finish(self, docs, items, prepared):
        for doc, row in zip(docs, self.analyzer.finish(items, prepared), strict=True):
            doc._.insights = row
            yield doc


def _brands(raw: list[dict]) -> list[Brand]:
    return [Brand.model_validate(b) for b in raw]


@Language.factory("listening_language", default_config={"languages": [], "ignore_terms": [],
                                                        "low_accuracy": False})  # fmt: skip
def make_language(
    nlp: Language, name: str, languages: list[str], ignore_terms: list[str], low_accuracy: bool
) -> LanguageComponent:
    return LanguageComponent(LanguageIdentifier(languages, ignore_terms, low_accuracy))


@Language.factory("listening_brands", default_config={"brands": []})
def make_brands(nlp: Language, name: str, brands: list[dict]) -> BrandComponent:
    return BrandComponent(BrandLinker(_brands(brands)))


@Language.factory("listening_clauses")
def make_clauses(nlp: Language, name: str) -> ClauseComponent:
    return ClauseComponent()


@Language.factory("listening_insights", default_config={"config_json": "", "base": ".", "mode": "default",
                                                         "batch_size": 512})  # fmt: skip
def make_insights(nlp: Language, name: str, config_json: str, base: str, mode: str, batch_size: int):
    config = ProjectConfig.model_validate_json(config_json)
    return InsightsComponent(Analyzer(config, Path(base), mode), batch_size)


def _ignore_terms(config: ProjectConfig) -> list[str]:
    terms = []
    for brand in config.brands:
        terms += (
            brand.aliases + [h.lstrip("@") for h in brand.handles] + [t.lstrip("#") for t in brand.hashtags]
        )
    return terms


def build_pipeline(config: ProjectConfig, base: Path | None = None, mode: str | None = None,
                   with_insights: bool = True) -> Language:  # fmt: skip
    nlp = spacy.blank("xx")
    nlp.tokenizer = WhitespaceTokenizer(nlp.vocab)
    nlp.vocab.lex_attr_getters = {}  # no lexical attributes are read; computing them costs ~0.1 ms a post
    mode = mode or config.nlp.mode
    nlp.add_pipe(
        "listening_language",
        config={"languages": list(config.languages), "ignore_terms": _ignore_terms(config),
                "low_accuracy": mode == "fast"},
    )  # fmt: skip
    nlp.add_pipe("listening_brands", config={"brands": [b.model_dump() for b in config.brands]})
    nlp.add_pipe("listening_clauses")
    if with_insights:
        nlp.add_pipe("listening_insights", config={"config_json": config.model_dump_json(),
                                                   "base": str(base or Path.cwd()),
                                                   "mode": mode})  # fmt: skip
    return nlp


@cache
def _pipeline_for(config_json: str, base: str, mode: str, with_insights: bool) -> Language:
    nlp = build_pipeline(ProjectConfig.model_validate_json(config_json), Path(base), mode, with_insights)
    _settle_after_load()
    return nlp


def _settle_after_load() -> None:
    """Hand the heap's free pages back to the system (glibc only): loading lingua's models leaves
    about 70 MB of parse buffers freed but still held by the process.

    What the pipeline holds lives as long as the process, so the cyclic garbage collector stops
    walking it (``gc.freeze``): every full collection would otherwise re-scan the ~280,000 objects
    the models and configs leave, and posts make several collections a second."""
    gc.collect()
    gc.freeze()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def pipeline(config: ProjectConfig, base: Path | None = None, mode: str | None = None,
             with_insights: bool = True) -> Language:  # fmt: skip
    """The pipeline for ``config``, loaded once per process (per base folder and mode)."""
    return _pipeline_for(
        config.model_dump_json(), str(base or Path.cwd()), mode or config.nlp.mode, with_insights
    )
