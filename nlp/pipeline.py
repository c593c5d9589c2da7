"""The per-post spaCy pipeline: registered components, built once per process from the project config.

Components (``@Language.factory``):

* ``listening_language``: language identification (``doc._.language``, ``doc._.language_confidence``).
* ``listening_brands``: brand linking (``doc._.brands``, ``doc._.brand_mentions`` with spans).

The text runs through ``spacy.blank("xx")`` (multilingual tokenizer); later stages add their own
components after these two.
"""

from __future__ import annotations

from functools import cache

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from nlp.brands import BrandLinker
from nlp.langid import LanguageIdentifier
from schemas.config import Brand, ProjectConfig

for _name, _default in (("language", None), ("language_confidence", 0.0), ("declared_language", None),
                        ("brands", None), ("brand_mentions", None)):  # fmt: skip
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=_default)


class LanguageComponent:
    def __init__(self, identifier: LanguageIdentifier):
        self.identifier = identifier

    def __call__(self, doc: Doc) -> Doc:
        guess = self.identifier.identify(doc.text, doc._.declared_language)
        doc._.language = guess.language
        doc._.language_confidence = guess.confidence
        return doc


class BrandComponent:
    def __init__(self, linker: BrandLinker):
        self.linker = linker

    def __call__(self, doc: Doc) -> Doc:
        brands, mentions = self.linker.link(doc.text)
        doc._.brands = brands
        doc._.brand_mentions = [m.as_dict() for m in mentions]
        return doc


def _brands(raw: list[dict]) -> list[Brand]:
    return [Brand.model_validate(b) for b in raw]


@Language.factory("listening_language", default_config={"languages": [], "ignore_terms": []})
def make_language(
    nlp: Language, name: str, languages: list[str], ignore_terms: list[str]
) -> LanguageComponent:
    return LanguageComponent(LanguageIdentifier(languages, ignore_terms))


@Language.factory("listening_brands", default_config={"brands": []})
def make_brands(nlp: Language, name: str, brands: list[dict]) -> BrandComponent:
    return BrandComponent(BrandLinker(_brands(brands)))


def _ignore_terms(config: ProjectConfig) -> list[str]:
    terms = []
    for brand in config.brands:
        terms += (
            brand.aliases + [h.lstrip("@") for h in brand.handles] + [t.lstrip("#") for t in brand.hashtags]
        )
    return terms


def build_pipeline(config: ProjectConfig) -> Language:
    nlp = spacy.blank("xx")
    nlp.add_pipe(
        "listening_language",
        config={"languages": list(config.languages), "ignore_terms": _ignore_terms(config)},
    )
    nlp.add_pipe("listening_brands", config={"brands": [b.model_dump() for b in config.brands]})
    return nlp


@cache
def _pipeline_for(config_json: str) -> Language:
    return build_pipeline(ProjectConfig.model_validate_json(config_json))


def pipeline(config: ProjectConfig) -> Language:
    """The pipeline for ``config``, loaded once per process."""
    return _pipeline_for(config.model_dump_json())
