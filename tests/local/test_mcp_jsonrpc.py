"""The MCP JSON-RPC both sides of a local Lambda speak: real JSON messages through the Lambda registry.

The server side (a Python function wrapped as an MCP server) answers ``tools/list`` and
``tools/call``; the client side (what the local mantle uses) sends requests as JSON bytes, as
Lambda's Invoke carries them, and reads answers and errors.
"""

from __future__ import annotations

import json

import pytest

from bedrock_magics.local import credentials as local
from bedrock_magics.local.lambdas import FunctionNotFound, LambdaRegistry, load_spec
from bedrock_magics.local.mcp import McpClient, McpError

REGION = "us-east-1"


def convert(amount: float, currency: str = "EUR") -> dict:
    """Convert US dollars to another currency.

    Args:
        amount: dollars to convert
        currency: the target currency
    """
    if amount < 0:
        raise ValueError("amount must not be negative")
    return {"amount": round(amount * 0.9, 2), "currency": currency}


def shout(text: str) -> str:
    """Upper-case a text."""
    return text.upper()


@pytest.fixture
def registry():
    return LambdaRegistry()


def rpc(registry: LambdaRegistry, arn: str, message: dict) -> dict:
    return json.loads(registry.invoke(arn, json.dumps(message).encode()))


def test_tools_list_comes_from_signatures_type_hints_and_docstrings(registry):
    arn = registry.register("money", [convert, shout], REGION)
    answer = rpc(registry, arn, {"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {}})
    assert answer["jsonrpc"] == "2.0" and answer["id"] == 7
    assert answer["result"]["tools"] == [
        {"name": "convert", "description": "Convert US dollars to another currency.", "inputSchema": {
            "type": "object", "required": ["amount"], "properties": {
                "amount": {"type": "number", "description": "dollars to convert"},
                "currency": {"type": "string", "description": "the target currency", "default": "EUR"}}}},
        {"name": "shout", "description": "Upper-case a text.", "inputSchema": {
            "type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}]
    init = rpc(registry, arn, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}})
    assert init["result"]["capabilities"] == {"tools": {}} and init["result"]["protocolVersion"]


def test_tools_call_runs_the_function(registry):
    arn = registry.register("money", [convert, shout], REGION)
    answer = rpc(registry, arn, {"jsonrpc": "2.0", "id": "a", "method": "tools/call",
                                 "params": {"name": "convert", "arguments": {"amount": 10}}})
    assert answer == {"jsonrpc": "2.0", "id": "a", "result": {
        "content": [{"type": "text", "text": '{"amount": 9.0, "currency": "EUR"}'}], "isError": False,
        "structuredContent": {"amount": 9.0, "currency": "EUR"}}}
    text = rpc(registry, arn, {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                               "params": {"name": "shout", "arguments": {"text": "hi"}}})
    assert text["result"]["content"] == [{"type": "text", "text": "HI"}]


@pytest.mark.parametrize("message, code, text", [
    ({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "convert", "arguments": {"amount": -1}}},
     -32000, "ValueError: amount must not be negative"),
    ({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "convert", "arguments": {"cash": 1}}},
     -32000, "bad arguments for convert"),
    ({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "nope", "arguments": {}}},
     -32602, "Unknown tool: nope"),
    ({"jsonrpc": "2.0", "id": 3, "method": "resources/list"}, -32601, "Method not found"),
    ({"id": 3, "method": "tools/list"}, -32600, "Invalid Request"),
])
def test_errors_are_json_rpc_errors(registry, message, code, text):
    arn = registry.register("money", convert, REGION)
    answer = rpc(registry, arn, message)
    assert answer["id"] == 3 and answer["error"]["code"] == code
    assert text in answer["error"]["message"] + answer["error"].get("data", "")
    if code == -32000:
        assert answer["error"]["message"] == "Tool execution failed"  # AWS's documented error


def test_a_raising_handler_is_a_lambda_function_error(registry):
    def handler(event, context):
        assert context.invoked_function_arn == arn
        raise KeyError("method")

    arn = registry.register("raw", handler, REGION, handler=True)
    assert rpc(registry, arn, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}) == {
        "errorMessage": "'method'", "errorType": "KeyError"}
    with pytest.raises(McpError) as err:
        McpClient(lambda payload: registry.invoke(arn, payload)).list_tools()
    assert (err.value.code, str(err.value)) == (-32000, "Tool execution failed: KeyError: 'method'")


def test_the_client_lists_calls_and_reads_errors(registry):
    arn = registry.register("money", convert, REGION)
    client = McpClient(lambda payload: registry.invoke(arn, payload))
    (tool,) = client.list_tools()
    assert tool["name"] == "convert" and tool["input_schema"]["required"] == ["amount"]
    assert json.loads(client.call_tool("convert", {"amount": 1})) == {"amount": 0.9, "currency": "EUR"}
    with pytest.raises(McpError) as err:
        client.call_tool("convert", {"amount": -5})
    assert err.value.code == -32000 and err.value.data == "ValueError: amount must not be negative"


@pytest.mark.parametrize("answer, words", [
    (lambda event: {"jsonrpc": "2.0", "id": "other", "result": {}}, "not a JSON-RPC response"),
    (lambda event: {"id": event["id"], "result": {}}, "not a JSON-RPC response"),
    (lambda event: {"jsonrpc": "2.0", "id": event["id"]}, "has no result"),
    (lambda event: {"jsonrpc": "2.0", "id": event["id"], "result": {"tools": "x"}}, "no tools array"),
])
def test_the_client_refuses_malformed_answers(registry, answer, words):
    arn = registry.register("odd", lambda event, context: answer(event), REGION, handler=True)
    with pytest.raises(McpError) as err:
        McpClient(lambda payload: registry.invoke(arn, payload)).list_tools()
    assert err.value.code == -32603 and words in str(err.value)


def test_arns_qualifiers_and_not_found(registry):
    arn = registry.register("money", convert, REGION)
    assert arn == f"arn:aws:lambda:{REGION}:{local.ACCOUNT_ID}:function:money"
    assert registry.get(arn + ":$LATEST").arn == arn and registry.get(arn + ":live").name == "money"
    for missing in (arn.replace("money", "cash"), arn.replace(REGION, "us-west-2"),
                    arn.replace(local.ACCOUNT_ID, "999999999999")):
        with pytest.raises(FunctionNotFound, match=f"Function not found: {missing}"):
            registry.get(missing)
    assert registry.unregister(arn) and registry.arns() == []


def test_load_spec(tmp_path, monkeypatch):
    (tmp_path / "mcp_spec_tools.py").write_text('def shout(text: str) -> str:\n    """Upper-case."""\n'
                                                '    return text.upper()\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    name, func = load_spec("loud=mcp_spec_tools:shout")
    assert name == "loud" and func("a") == "A"
    with pytest.raises(ValueError, match="expected NAME=MODULE:FUNCTION"):
        load_spec("mcp_spec_tools:shout")
    with pytest.raises(ValueError, match="cannot import module 'no_such_module_here'"):
        load_spec("x=no_such_module_here:f")
    with pytest.raises(ValueError, match="has no function 'whisper'"):
        load_spec("x=mcp_spec_tools:whisper")


def test_a_gateway_prefixes_its_targets_tools_and_routes_calls(registry):
    money, loud = registry.register("money", convert, REGION), registry.register("loud", shout, REGION)
    gateway = registry.register_gateway("gw", {"Money": money, "Loud": loud}, REGION)
    assert gateway.startswith(f"arn:aws:bedrock-agentcore:{REGION}:{local.ACCOUNT_ID}:gateway/gw-")
    listed = rpc(registry, gateway, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert [t["name"] for t in listed["result"]["tools"]] == ["Money___convert", "Loud___shout"]
    called = rpc(registry, gateway, {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                                     "params": {"name": "Loud___shout", "arguments": {"text": "hey"}}})
    assert called["result"]["content"] == [{"type": "text", "text": "HEY"}]
    failed = rpc(registry, gateway, {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                                     "params": {"name": "Money___convert", "arguments": {"amount": -1}}})
    assert failed["error"] == {"code": -32000, "message": "Tool execution failed",
                               "data": "ValueError: amount must not be negative"}
    for name in ("shout", "Loud___whisper", "Nope___shout"):
        unknown = rpc(registry, gateway, {"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                                          "params": {"name": name, "arguments": {}}})
        assert unknown["error"]["code"] == -32602, name
    with pytest.raises(LookupError, match="Gateway not found"):
        registry.get(gateway.replace("gw-", "other-"))


def test_tools_call_with_bad_params_is_invalid_params(registry):
    arn = registry.register("money", convert, REGION)
    answer = rpc(registry, arn, {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "convert",
                                                                                            "arguments": [1]}})
    assert answer["error"] == {"code": -32602, "message": "Invalid params"}
