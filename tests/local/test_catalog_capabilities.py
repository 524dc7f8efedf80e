"""Capabilities per model: family defaults, the catalog's overrides and their sources, as data."""

from __future__ import annotations

import json

import pytest

from bedrock_magics.local.capabilities import FAMILY_DEFAULTS, ROUTES, TOOL_CHOICES, Capabilities, capabilities, table
from bedrock_magics.local.catalog import Catalog

CATALOG = Catalog.load()
BY_ID = {e["modelId"]: e for e in CATALOG.models}


def caps(model_id: str) -> Capabilities:
    return CATALOG.capabilities(BY_ID[model_id])


def test_every_entry_has_capabilities_with_a_source():
    for entry in CATALOG.models:
        c = capabilities(entry)
        assert c.model_id == entry["modelId"]
        assert c.sources, entry["modelId"]
        assert "text" in c.inputs and c.inputs <= {"text", "image", "document", "video"}
        assert c.routes and c.routes <= set(ROUTES), entry["modelId"]
        assert c.tool_choice <= set(TOOL_CHOICES) and (c.tool_use or not c.tool_choice)
        assert (c.mantle_prefix is not None) == bool(entry.get("mantleId")), entry["modelId"]
        assert c.streaming == entry["responseStreamingSupported"]
        assert entry.get("source"), entry["modelId"]
    assert set(FAMILY_DEFAULTS) >= {e["family"] for e in CATALOG.models}


def test_the_snapshot_is_dated_and_sourced():
    data = CATALOG.data
    assert data["snapshot"]["date"] == "2026-12-06"
    assert data["snapshot"]["sources"]["models"].startswith("https://docs.aws.amazon.com/bedrock/")
    assert len(CATALOG.models) == 84  # 44 before the snapshot; 82 before Claude Sonnet 5 and Opus 5


@pytest.mark.parametrize("model_id, expected", [
    # Titan Text: no system prompt, no tools (Converse features table).
    ("amazon.titan-text-express-v1", dict(system_prompt=False, tool_use=False, tool_choice=frozenset(),
                                          inputs=frozenset({"text", "document"}))),
    ("amazon.titan-text-premier-v1:0", dict(system_prompt=False, inputs=frozenset({"text"}))),
    # Claude: any/auto/tool, thinking from 1,024 tokens, caching minimums per model.
    ("anthropic.claude-sonnet-4-5-20250929-v1:0", dict(tool_choice=frozenset(TOOL_CHOICES), reasoning="thinking",
                                                       thinking_min_budget=1024, cache_min_tokens=1024,
                                                       cache_ttls=("5m", "1h"), structured_output=True)),
    ("anthropic.claude-haiku-4-5-20251001-v1:0", dict(cache_min_tokens=4096)),
    ("anthropic.claude-3-5-haiku-20241022-v1:0", dict(reasoning=None, cache_min_tokens=2048,
                                                      inputs=frozenset({"text", "document"}))),
    ("anthropic.claude-3-haiku-20240307-v1:0", dict(reasoning=None, prompt_caching=False, citations=False)),
    # Nova: video on Lite, text only on Micro.
    ("amazon.nova-lite-v1:0", dict(inputs=frozenset({"text", "image", "document", "video"}), cache_min_tokens=1000)),
    ("amazon.nova-micro-v1:0", dict(inputs=frozenset({"text"}))),
    # Llama and Mistral 7B: toolChoice auto only / no system prompt.
    ("meta.llama3-3-70b-instruct-v1:0", dict(tool_choice=frozenset({"auto"}))),
    ("mistral.mistral-7b-instruct-v0:2", dict(system_prompt=False, tool_use=False)),
    ("mistral.mistral-large-2407-v1:0", dict(tool_choice=frozenset({"auto", "any"}))),
    # gpt-oss: reasoning effort, Responses on runtime and on mantle /v1.
    ("openai.gpt-oss-120b-1:0", dict(reasoning="effort", reasoning_efforts=("low", "medium", "high"),
                                     mantle_prefix="/v1", routes=frozenset(ROUTES) - {"mantle/messages"})),
    # Claude Sonnet 5: no sampling parameters; also on mantle's Anthropic Messages API.
    ("anthropic.claude-sonnet-5", dict(sampling=False, reasoning="thinking", inputs=frozenset({"text", "image", "document"}),
                                       routes=frozenset({"runtime/converse", "runtime/invoke", "mantle/messages"}))),
    ("anthropic.claude-sonnet-4-6", dict(sampling=True)),
    # GPT-5.x: Responses only, on mantle /openai/v1.
    ("openai.gpt-5.5", dict(routes=frozenset({"mantle/responses"}), mantle_prefix="/openai/v1")),
    # Other mantle models: Chat Completions on mantle, both APIs on the runtime's /openai/v1.
    ("qwen.qwen3-32b-v1:0", dict(routes=frozenset({"runtime/converse", "runtime/invoke", "runtime/chat",
                                                   "runtime/responses", "mantle/chat"}))),
    ("amazon.titan-embed-text-v2:0", dict(routes=frozenset({"runtime/invoke"}), streaming=False, tool_use=False)),
])
def test_documented_capabilities(model_id, expected):
    c = caps(model_id)
    for name, value in expected.items():
        assert getattr(c, name) == value, (model_id, name)


def test_overrides_are_checked_and_noted():
    entry = dict(BY_ID["meta.llama3-3-70b-instruct-v1:0"], capabilities={"toolChoice": ["auto", "any"],
                                                                        "sources": "a test note"})
    c = capabilities(entry)
    assert c.tool_choice == {"auto", "any"} and c.sources[-1] == "a test note"
    with pytest.raises(ValueError, match="unknown capabilities key 'toolChoices'"):
        capabilities(dict(entry, capabilities={"toolChoices": ["any"]}))


def test_table_is_plain_json_keyed_by_runtime_and_mantle_ids():
    facts = table(CATALOG.models)
    assert json.loads(json.dumps(facts)) == facts
    assert facts["openai.gpt-oss-120b"] == facts["openai.gpt-oss-120b-1:0"]
    gpt55 = facts["openai.gpt-5.5"]
    assert gpt55["routes"] == ["mantle/responses"] and gpt55["mantlePrefix"] == "/openai/v1"
    assert facts["amazon.titan-text-express-v1"]["systemPrompt"] is False
    assert facts["anthropic.claude-opus-4-6-v1"]["inputs"] == ["text", "image", "document"]


def test_the_clients_capabilities_file_matches_the_catalog():
    """``local/data/capabilities.json`` is what the client reads (without importing the local service)."""
    from importlib import resources

    from bedrock_magics.local.capabilities import document

    shipped = json.loads(resources.files("bedrock_magics.local").joinpath("data/capabilities.json").read_text("utf-8"))
    assert shipped == document(CATALOG.models, CATALOG.data["snapshot"]["date"]), (
        "regenerate it: python -m bedrock_magics.local.capabilities > bedrock_magics/local/data/capabilities.json")
