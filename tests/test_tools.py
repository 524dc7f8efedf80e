"""Python functions as tools: their JSON Schemas, running calls safely, and the loop's round limit."""

from __future__ import annotations

import enum
from typing import Literal, Optional

import pytest

from bedrock_magics.core import Bedrock
from bedrock_magics.errors import BedrockError
from bedrock_magics.tools import Toolbox, tool_spec


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


def weather(city: str, days: int = 1, unit: Unit = Unit.CELSIUS, detail: Literal["short", "long"] = "short",
            alerts: Optional[bool] = None, hours: list[int] | None = None) -> dict:
    """Forecast the weather in a city.

    Longer explanation that the model does not need.

    Args:
        city: Name of the city,
            in English.
        days (int): How many days ahead.
        unit: Temperature unit.
        detail: How much to say.
        alerts: Include weather alerts.

    Returns:
        The forecast.
    """
    return {"city": city, "days": days, "unit": unit.value, "detail": detail}


def numpy_style(x: float, tags: list[str], options: dict[str, int] | None = None) -> str:
    """Scale a number.

    Parameters
    ----------
    x : float
        The number to scale.
    tags : list of str
        Labels to attach.

    Returns
    -------
    str
    """
    return f"{x * 2} {tags}"


def rest_style(name: str) -> str:
    """Greet someone.

    :param name: Who to greet.
    :returns: the greeting.
    """
    return f"hello {name}"


def test_schema_from_signature_and_google_docstring():
    spec = tool_spec(weather)
    assert spec.name == "weather"
    assert spec.description == "Forecast the weather in a city."
    props = spec.parameters["properties"]
    assert spec.parameters["type"] == "object"
    assert spec.parameters["required"] == ["city"]
    assert props["city"] == {"type": "string", "description": "Name of the city, in English."}
    assert props["days"] == {"type": "integer", "description": "How many days ahead.", "default": 1}
    assert props["unit"] == {"enum": ["celsius", "fahrenheit"], "type": "string", "description": "Temperature unit.",
                             "default": "celsius"}
    assert props["detail"]["enum"] == ["short", "long"] and props["detail"]["type"] == "string"
    assert props["alerts"] == {"type": "boolean", "description": "Include weather alerts."}  # Optional -> its type
    assert props["hours"] == {"type": "array", "items": {"type": "integer"}}


def test_schema_from_numpy_and_rest_docstrings():
    spec = tool_spec(numpy_style)
    props = spec.parameters["properties"]
    assert spec.description == "Scale a number."
    assert props["x"] == {"type": "number", "description": "The number to scale."}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}, "description": "Labels to attach."}
    assert props["options"] == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert spec.parameters["required"] == ["x", "tags"]
    rest = tool_spec(rest_style)
    assert rest.description == "Greet someone."
    assert rest.parameters["properties"]["name"]["description"] == "Who to greet."


def test_a_tool_needs_a_docstring_and_a_valid_name():
    def undocumented(x: int) -> int:
        return x

    with pytest.raises(ValueError, match="has no docstring"):
        tool_spec(undocumented)
    with pytest.raises(ValueError, match="not valid"):
        tool_spec(weather, name="bad name!")
    with pytest.raises(ValueError, match="must be Python functions"):
        Toolbox([weather, 42])
    with pytest.raises(ValueError, match="two tools are named 'weather'"):
        Toolbox([weather, weather])


def test_running_calls_converts_types_and_contains_failures():
    def explode(reason: str) -> str:
        """Always fails."""
        raise RuntimeError(f"boom: {reason}")

    box = Toolbox([weather, explode, rest_style])
    ok = box.run({"id": "t1", "name": "weather", "input": {"city": "Oslo", "unit": "fahrenheit"}})["toolResult"]
    assert ok["status"] == "success" and ok["toolUseId"] == "t1"
    assert ok["content"] == [{"json": {"city": "Oslo", "days": 1, "unit": "fahrenheit", "detail": "short"}}]
    text = box.run({"id": "t2", "name": "rest_style", "input": {"name": "Ada"}})["toolResult"]
    assert text["content"] == [{"text": "hello Ada"}]

    failed = box.run({"id": "t3", "name": "explode", "input": {"reason": "test"}})["toolResult"]
    assert failed["status"] == "error" and failed["content"] == [{"text": "RuntimeError: boom: test"}]
    unknown = box.run({"id": "t4", "name": "nope", "input": {}})["toolResult"]
    assert unknown["status"] == "error" and "no tool named 'nope'" in unknown["content"][0]["text"]
    bad = box.run({"id": "t5", "name": "weather", "input": {"town": "Oslo"}})["toolResult"]
    assert bad["status"] == "error" and bad["content"][0]["text"].startswith("bad arguments for weather")


def test_the_loop_stops_at_max_rounds(local_service, tmp_path):
    calls = []

    def lookup(term: str) -> str:
        """Look a term up."""
        calls.append(term)
        return "found"

    bm = Bedrock(ledger_path=str(tmp_path / "ledger.sqlite"), max_tool_rounds=1)
    bm.use_local(service=local_service)
    with pytest.raises(BedrockError) as info:
        bm.ask("Use lookup with term=bedrock", tools=[lookup])
    assert info.value.code == "ToolLoopLimit"
    assert "after 1 rounds" in str(info.value)
    usage = bm.usage()
    assert list(usage["stop_reason"]) == ["tool_use"]  # the one round that was made is in the ledger
    assert calls == []  # the limit stops before running tools whose results nobody would read
