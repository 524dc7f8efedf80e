"""What only mantle's Responses API does, on top of one call: server-side tools (``lambda:`` and
``gateway:`` connectors, with the account their ARNs need), stored and background responses
(fetched, listed, deleted; a background answer billed once), conversations that resume from the
ledger after a kernel restart, and local Lambdas on the local service.

Functions of a :class:`~bedrock_magics.core.Bedrock` (``bm``); :class:`MantleMethods` makes them
``Bedrock`` methods (``bm.response(id)``, ``bm.responses()``, ``bm.delete_response(id)``,
``bm.local_lambda(name, fn)``, ``bm.account_id()``). From Python::

    bm.ask("What is 6 x 7?", endpoint="mantle", api="responses", tools=[multiply, "lambda:lookup"])
    queued = bm.ask("A long essay", endpoint="mantle", api="responses", extra={"background": True})
    bm.response(queued.response_id, wait=True)      # the answer; its usage recorded once

``Bedrock.stream`` yields each server-side tool item as a :class:`~bedrock_magics.reply.ServerCall`
when it arrives. A background submit is a ledger row with status ``queued`` and no cost; the usage
is billed when the finished response is first fetched.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Sequence

from . import routes
from .errors import BedrockError
from .local import credentials as local_credentials
from .reply import Reply
from .request import Request
from .routes import uses_server_state

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .servertools import ServerTool

__all__ = ["PENDING", "MantleMethods", "account_id", "add_server_tools", "check_responses", "delete_response",
           "local_lambda", "prepare", "remember", "resume", "response", "responses"]

#: Statuses of a background response that has not finished (as ``routes.responses.PENDING``).
PENDING = ("queued", "in_progress")


class MantleMethods:
    """The mantle-only methods of ``Bedrock`` (thin: the work is in this module's functions)."""

    def response(self, response_id: str, wait: bool = False, timeout_s: float | None = None,
                 poll_s: float = 1.0) -> Reply:
        """A stored or background response of mantle's Responses API, by id.

        A background response still running comes back with ``status`` ``"queued"`` or
        ``"in_progress"`` (nothing recorded); with ``wait`` it is polled every ``poll_s`` seconds
        until it finishes (or ``timeout_s`` passes). Once finished its usage is recorded in the
        ledger exactly once, however often it is fetched. Raises ``ValueError`` for a malformed id,
        ``BedrockError`` when the fetch fails (an unknown id: one line with the fix).
        """
        return response(self, response_id, wait=wait, timeout_s=timeout_s, poll_s=poll_s)

    def responses(self) -> "pd.DataFrame":
        """The stored responses known to the ledger (Responses has no list call): ``response_id,
        time, region, endpoint, api, model, chat, session, status, background``."""
        return responses(self)

    def delete_response(self, response_id: str) -> None:
        """Delete a stored response on mantle and drop it from :meth:`responses` (``BedrockError`` on failure)."""
        delete_response(self, response_id)

    def local_lambda(self, name: str, function: Callable[..., Any]) -> str:
        """Serve ``function`` as the Lambda ``name`` on the local service (mantle's ``lambda:NAME``
        tools); returns its ARN. ``ValueError`` when calls don't go to the local service."""
        return local_lambda(self, name, function)

    def account_id(self, region: str | None = None) -> str:
        """The AWS account calls go to: the local service's, or STS ``GetCallerIdentity`` (asked once per
    profile and API key)."""
        return account_id(self, region)


def prepare(bm: Any, request: Request, server_tools: Sequence["ServerTool"], chat: str | None) -> None:
    """Checks and fills what is mantle's in a resolved ``request``: server-side tools become mcp
    connectors, ``extra["background"]`` is checked, and a --chat new to ``bm`` resumes from the ledger."""
    if server_tools:
        add_server_tools(bm, request, server_tools)
    if request.extra.get("background"):
        check_responses(request, "--background")
        if chat is not None:
            raise ValueError("--background returns before the answer exists, so it cannot continue a --chat; "
                             "drop one of them")
    if chat is not None:
        resume(bm, chat, request)


def remember(bm: Any, reply: Reply) -> None:
    """Note a stored response in the ledger (``%bedrock responses``; where a --chat resumes)."""
    if reply.response_id and uses_server_state(reply.endpoint, reply.api):
        bm.ledger.remember_response(reply, bm.session, background=reply.status in PENDING)


def check_responses(request: Request, what: str) -> None:
    """``ValueError`` (one line) unless ``request`` goes to mantle's Responses API."""
    if request.endpoint != "mantle" or request.api != "responses":
        raise ValueError(f"{what} run on mantle's Responses API, not {request.endpoint} {request.api}: "
                         f"use --endpoint mantle --api responses (Python: endpoint='mantle', api='responses')")


def add_server_tools(bm: Any, request: Request, tools: Sequence["ServerTool"]) -> None:
    """``lambda:``/``gateway:`` tools as ``request``'s mcp connectors (``extra["server_tools"]``)."""
    check_responses(request, "lambda:/gateway: tools")
    account = account_id(bm, request.region) if any(t.needs_account for t in tools) else None
    connectors: list[dict[str, str]] = []
    for tool in tools:
        connector = tool.connector(request.region, account)
        if connector not in connectors:
            connectors.append(connector)
    request.extra["server_tools"] = connectors


def account_id(bm: Any, region: str | None = None) -> str:
    """The AWS account calls go to: the local service's, or STS ``GetCallerIdentity`` (asked once per
    profile and API key).

    Raises:
        BedrockError: the identity cannot be read (credentials missing or refused).
    """
    if bm.local:
        return local_credentials.ACCOUNT_ID
    # Asked once per identity: another profile or API key may be another account.
    accounts, owner = bm._accounts, bm.quota_owner
    if owner in accounts:
        return accounts[owner]
    try:
        account = bm.clients.caller_account(region or bm.region)
    except Exception as exc:  # noqa: BLE001 - one explained line, naming the fix
        raise BedrockError(f"cannot read your AWS account id for the Lambda ARN ({type(exc).__name__}); give "
                           "the full ARN (lambda:arn:aws:lambda:REGION:ACCOUNT:function:NAME) or check your "
                           "credentials (%bedrock status)", code="AccountUnknown") from None
    accounts[owner] = account
    return account


def resume(bm: Any, chat: str, request: Request) -> None:
    """A conversation new to ``bm``, on mantle Responses, continues from the ledger's last stored
    response of that name (after a kernel restart, or from another process on the same ledger)."""
    if chat in bm.chats or not uses_server_state(request.endpoint, request.api):
        return
    try:
        last = bm.ledger.last_response(chat, request.region, request.endpoint)
    except Exception:  # noqa: BLE001 - an unreadable ledger starts the chat afresh
        last = None
    conversation = bm.chats.get(chat)
    if last and not conversation.last_response_id:
        conversation.last_response_id = last["response_id"]
        conversation.response_scope = (request.region, request.endpoint)


def response(bm: Any, response_id: str, wait: bool = False, timeout_s: float | None = None,
             poll_s: float = 1.0) -> Reply:
    """A stored or background response by id (see ``Bedrock.response``)."""
    response_id = _response_id(response_id)
    request = _stored_request(bm, response_id)
    route = routes.get("mantle", "responses")
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        reply = _mantle_call(bm, request, lambda client: route.retrieve(client, request, response_id))
        if not wait or reply.status not in PENDING or (deadline is not None and time.monotonic() >= deadline):
            break
        time.sleep(poll_s)  # polling a job on the server: waiting is the point, there is nothing to signal
    known = bm.ledger.response(response_id)
    reply.chat = known["chat"] if known else None
    if reply.status not in PENDING:
        bm.price(reply)
        bm.ledger.append_once(f"response:{response_id}", [reply], bm.session, bm.cell)
        bm.ledger.remember_response(reply, bm.session, background=bool(known and known["background"]))
    return reply


def responses(bm: Any) -> "pd.DataFrame":
    """The stored responses known to ``bm``'s ledger, as a DataFrame."""
    import pandas as pd

    from .ledger import RESPONSE_COLUMNS

    frame = pd.DataFrame(bm.ledger.responses(), columns=list(RESPONSE_COLUMNS))
    frame["time"] = pd.to_datetime(frame["time"], utc=True, format="ISO8601")
    frame["background"] = frame["background"].fillna(0).astype(bool)
    return frame


def delete_response(bm: Any, response_id: str) -> None:
    """Delete a stored response on mantle and drop it from :func:`responses`."""
    response_id = _response_id(response_id)
    request = _stored_request(bm, response_id)
    _mantle_call(bm, request, lambda client: routes.get("mantle", "responses").delete(client, request, response_id))
    bm.ledger.forget_response(response_id)


def local_lambda(bm: Any, name: str, function: Callable[..., Any]) -> str:
    """Serve ``function`` as the Lambda ``name`` on the local service; returns its ARN."""
    if not bm.local:
        raise ValueError("local Lambdas live on the local Bedrock service, and calls go to AWS now: "
                         "%bedrock local start (Python: Bedrock.use_local()) first")
    return bm._local().register_lambda(name, function, region=bm.region)


def connector_error(exc: BaseException, request: Request | None) -> BedrockError | None:
    """A failure of a server-side tool's connector (unknown, unlistable, not allowed) as one
    explained line naming the fix (``servertools.connector_failure``); None for any other failure."""
    from .servertools import connector_failure

    body = getattr(exc, "body", None)
    error = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), dict) else body
    error = error if isinstance(error, dict) else {}
    status = getattr(exc, "status_code", None)
    found = connector_failure(status, str(error.get("code") or error.get("type") or type(exc).__name__),
                              str(error.get("message") or exc), request.region if request is not None else None)
    if found is None:
        return None
    message, code, fix = found
    explained = BedrockError(message, code=code, hint=fix, request_id=getattr(exc, "request_id", None), status=status)
    explained.__cause__ = exc
    return explained


def _mantle_call(bm: Any, request: Request, call: Callable[[Any], Any]) -> Any:
    """``call(client)`` with failures explained (one line naming the fix, e.g. an unknown id)."""
    try:
        return call(bm.client_for(request))
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - explained: one line naming the fix
        raise bm.explain(exc, request) from None


def _stored_request(bm: Any, response_id: str) -> Request:
    """Where a stored response lives: the region and model the ledger noted (else the defaults)."""
    known = bm.ledger.response(response_id) or {}
    return Request(model=known.get("model") or bm.default_model("mantle"), messages=(),
                   region=known.get("region") or bm.region, endpoint="mantle", api="responses")


def _response_id(value: Any) -> str:
    """A response id as given (``resp_…``), or ``ValueError`` naming the shape."""
    text = str(value or "").strip()
    if not text or any(ch.isspace() for ch in text) or len(text) > 200:
        raise ValueError(f"{value!r} is not a response id; ids look like resp_… (%bedrock responses lists them)")
    return text
