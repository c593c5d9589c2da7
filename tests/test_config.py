import json

import pytest
import yaml

from schemas.config import CONFIG_SCHEMA_PATH, ConfigError, config_json_schema, load_config, parse_config
from tests.conftest import REPO


def demo_dict() -> dict:
    return yaml.safe_load((REPO / "listening.yaml").read_text(encoding="utf-8"))


def test_demo_config_is_valid():
    config = load_config(REPO / "listening.yaml")
    assert config.own_brand.id == "korvo"
    assert {b.id for b in config.brands} == {"korvo", "kvik", "mercato", "zesta"}
    assert set(config.languages) >= {"en", "pl", "ru", "sl", "he", "is", "de", "fr", "es"}
    # Aliases in several scripts.
    assert {"Korvo", "Корво", "קורבו"} <= set(config.brand("korvo").aliases)


def _error(data: dict) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(data, "test.yaml")
    return str(info.value)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d["brands"][1].update(hashtags=["kvik"]),
            "brands[1].hashtags: hashtag 'kvik' must look like '#word'",
        ),
        (lambda d: d["brands"][0].update(own=False), "exactly one brand must have own: true"),
        (lambda d: d.update(timezone="Mars/Olympus"), "timezone: unknown timezone 'Mars/Olympus'"),
        (lambda d: d.update(languages=["en", "xx"]), "languages: unsupported language code(s) ['xx']"),
        (lambda d: d["brands"][2].pop("name"), "brands[2].name: Field required"),
        (lambda d: d["sources"][0]["mapping"].pop("text"), "sources[0].mapping: must map ['text']"),
        (lambda d: d["brands"][0].update(colour="#fff"), "brands[0].colour: Extra inputs are not permitted"),
        (lambda d: d["brands"][3].update(id="Zesta!"), "brands[3].id: String should match pattern"),
        (lambda d: d["brands"].append(dict(d["brands"][1])), "brands: duplicate id(s) ['kvik']"),
    ],
)
def test_invalid_config_names_key_and_problem(mutate, expected):
    data = demo_dict()
    mutate(data)
    message = _error(data)
    assert message.startswith("invalid config test.yaml:")
    assert expected in message


def test_yaml_syntax_error_is_reported(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("brands: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_config(path)


def test_exported_json_schema_is_current():
    committed = json.loads(CONFIG_SCHEMA_PATH.read_text(encoding="utf-8"))
    assert committed == config_json_schema(), "run `listening schemas export` and commit schemas/"


def test_json_schema_accepts_demo_config():
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(demo_dict(), config_json_schema())
