"""The Bedrock settings: defaults and where they come from, validation messages, derived values.

``%config Bedrock.x = v`` is ``update_config`` on the Configurable, and IPython's profile config is
the ``config=`` it is created with; both are exercised here without IPython.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from traitlets import TraitError
from traitlets.config import Config

from bedrock_magics.config import DEFAULT_MODELS
from bedrock_magics.core import Bedrock

_ENV = ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE", "BEDROCK_MAGICS_LOCAL",
        "BEDROCK_MAGICS_LEDGER")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    # No ~/.aws/config of the machine running the tests may leak into the defaults.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))


def _aws_config(tmp_path, monkeypatch, text: str) -> None:
    path = tmp_path / "aws-config"
    path.write_text(text)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(path))


def _config(**values) -> Config:
    cfg = Config()
    for name, value in values.items():
        setattr(cfg.Bedrock, name, value)
    return cfg


# -- defaults and their sources ---------------------------------------------------------------------


def test_defaults_are_cheap_models_and_sensible_settings():
    bm = Bedrock()
    assert bm.region == "us-east-1"
    assert (bm.endpoint, bm.api, bm.model) == ("runtime", "converse", DEFAULT_MODELS["runtime"])
    assert bm.streaming is True and bm.format == "markdown" and bm.max_tokens is None
    sources = bm.sources()
    assert sources["region"] == {"value": "us-east-1", "source": "default"}
    assert sources["model"]["source"] == "default"


def test_region_from_environment_and_from_the_aws_profile(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert Bedrock().sources()["region"] == {"value": "eu-west-1", "source": "environment ($AWS_DEFAULT_REGION)"}
    monkeypatch.setenv("AWS_REGION", "eu-central-1")  # AWS_REGION wins, as in the AWS SDKs
    assert Bedrock().region == "eu-central-1"

    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    _aws_config(tmp_path, monkeypatch, "[default]\nregion = us-west-2\n[profile teach]\nregion = ap-northeast-1\n")
    bm = Bedrock()
    assert bm.sources()["region"] == {"value": "us-west-2", "source": "AWS config (profile default)"}
    bm.profile = "teach"  # a region nobody chose follows the profile
    assert bm.sources()["region"] == {"value": "ap-northeast-1", "source": "AWS config (profile teach)"}
    bm.region = "us-east-2"
    bm.profile = None  # an explicit region stays
    assert bm.region == "us-east-2" and bm.sources()["region"]["source"] == "set in Python"


def test_environment_switches_local_and_ledger(monkeypatch, tmp_path):
    monkeypatch.setenv("BEDROCK_MAGICS_LOCAL", "1")
    monkeypatch.setenv("BEDROCK_MAGICS_LEDGER", str(tmp_path / "l.sqlite"))
    bm = Bedrock()
    assert bm.local is True and bm.ledger_path == str(tmp_path / "l.sqlite")
    assert bm.sources()["local"]["source"] == "environment ($BEDROCK_MAGICS_LOCAL)"
    assert bm.sources()["ledger_path"]["source"] == "environment ($BEDROCK_MAGICS_LEDGER)"
    monkeypatch.setenv("BEDROCK_MAGICS_LOCAL", "0")
    assert Bedrock().local is False


def test_config_section_is_named_bedrock_and_sources_are_labelled():
    # IPython's profile config (ipython_config.py: c.Bedrock.region = ...) arrives as config=.
    bm = Bedrock(config=_config(region="us-west-2", max_tokens=300), temperature=0.2)
    assert bm.region == "us-west-2" and bm.max_tokens == 300
    # %config Bedrock.model = ... is update_config on the live object.
    bm.update_config(_config(model="us.anthropic.claude-haiku-4-5-20251001-v1:0"))
    bm.streaming = False
    sources = {name: s["source"] for name, s in bm.sources().items()}
    assert sources["region"] == "IPython config"
    assert sources["max_tokens"] == "IPython config"  # update_config reloads old values: label kept
    assert sources["model"] == "%config"
    assert sources["temperature"] == "argument"
    assert sources["streaming"] == "set in Python"
    assert sources["format"] == "default"
    line = bm.sources({"model": "us.amazon.nova-micro-v1:0", "region": None})
    assert line["model"] == {"value": "us.amazon.nova-micro-v1:0", "source": "line option"}
    assert line["region"]["source"] == "IPython config"  # not given on the line


# -- validation messages ------------------------------------------------------------------------------


@pytest.mark.parametrize("name, value, expected", [
    ("endpoint", "mantel", "Bedrock.endpoint must be one of runtime, mantle, not 'mantel'. Did you mean 'mantle'?"),
    ("format", "markdwn", "Did you mean 'markdown'?"),
    ("api", "convers", "must be one of converse, invoke, chat, responses"),
    ("retry_mode", "fast", "must be one of standard, adaptive, legacy"),
    ("max_tokens", 0, "Bedrock.max_tokens must be a whole number >= 1 (or None), not 0"),
    ("max_tokens", "lots", "Bedrock.max_tokens must be a whole number >= 1"),
    ("temperature", 1.5, "Bedrock.temperature must be a number from 0 to 1"),
    ("top_p", -0.1, "Bedrock.top_p must be a number from 0 to 1"),
    ("concurrency", 0, "Bedrock.concurrency must be a whole number >= 1, not 0"),
    ("region", "us-esat-1", "Bedrock does not run in region 'us-esat-1'. Did you mean"),
    ("region", "", "Bedrock.region must be an AWS region such as us-east-1"),
    ("model", "nova lite", "Bedrock.model must be a model id, inference-profile id or ARN"),
    ("prices", {"m": {"input_per_1k": 1}}, "Bedrock.prices['m'] must be a dict with 'input_per_1k' and 'output_per_1k'"),
    ("prices", {"m": {"input_per_1k": -1, "output_per_1k": 0}}, "must be a number >= 0"),
])
def test_bad_values_get_one_clear_line(name, value, expected):
    bm = Bedrock()
    with pytest.raises(TraitError) as info:
        setattr(bm, name, value)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


def test_choices_ignore_case_and_numbers_are_normalised():
    bm = Bedrock(endpoint="Mantle", format="JSON", max_tokens=200.0)
    assert (bm.endpoint, bm.format, bm.max_tokens) == ("mantle", "json", 200)
    assert isinstance(bm.max_tokens, int)


def test_api_follows_the_endpoint_unless_chosen():
    bm = Bedrock()
    bm.endpoint = "mantle"
    assert bm.api == "responses"  # not chosen: follows the endpoint
    bm.endpoint = "runtime"
    assert bm.api == "converse"
    bm.api = "invoke"
    with pytest.raises(TraitError, match="does not serve Bedrock.api 'invoke'; on mantle set Bedrock.api to one of "
                                         "responses, chat"):
        bm.endpoint = "mantle"
    assert bm.endpoint == "runtime"
    with pytest.raises(TraitError, match="not served by the mantle endpoint"):
        Bedrock(endpoint="mantle", api="converse")
    # Set together (one %config cell, or profile config), the pair is checked as a whole.
    bm.update_config(_config(endpoint="mantle", api="chat"))
    assert (bm.endpoint, bm.api) == ("mantle", "chat")


def test_mantle_uses_its_own_default_model_until_one_is_chosen():
    bm = Bedrock()
    assert bm.default_model("mantle") == DEFAULT_MODELS["mantle"]
    assert bm.request("hi", endpoint="mantle").model == DEFAULT_MODELS["mantle"]
    bm.mantle_model = "openai.gpt-oss-20b"
    assert bm.request("hi", endpoint="mantle").model == "openai.gpt-oss-20b"
    bm.model = "qwen.qwen3-32b"
    assert bm.request("hi", endpoint="mantle").model == "qwen.qwen3-32b"


def test_ledger_path_rejects_a_directory(tmp_path):
    with pytest.raises(TraitError, match="is a directory; give a file path"):
        Bedrock(ledger_path=str(tmp_path))


def test_importing_config_stays_light():
    code = ("import sys, bedrock_magics.config, bedrock_magics.core; "
            "print(sorted(m for m in ('boto3', 'botocore', 'pandas', 'openai', 'IPython') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
