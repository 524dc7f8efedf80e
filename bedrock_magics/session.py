"""``Session``: what a :class:`~bedrock_magics.core.Bedrock` holds between calls.

The clients of each identity (AWS profile or local service, API key, retry settings), the ledger,
the catalog, the named conversations and the local service: opened on first use, replaced when
the settings they depend on change, closed by :meth:`Session.close`. The calls themselves
(request, send, ask, stream, tables) are :class:`~bedrock_magics.core.Bedrock`'s.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

from traitlets import observe

from . import localservice, routes
from .config import BedrockSettings
from .conversation import Conversations
from .local import credentials as local_credentials
from .redact import remember_secret
from .request import Request

if TYPE_CHECKING:  # pragma: no cover
    from .auth import Clients
    from .catalog import Catalog
    from .ledger import Ledger
    from .local.server import LocalService

__all__ = ["Session"]


class Session(BedrockSettings):
    """The settings (traits) plus the resources calls share: clients, ledger, catalog, chats, the
    local service. Not used alone: :class:`~bedrock_magics.core.Bedrock` is the API."""

    def __init__(self, **kwargs: Any) -> None:
        self._lock = threading.RLock()
        self._clients: dict[tuple, Clients] = {}  # one per identity: switching back reuses them
        self._catalog: Catalog | None = None
        self._ledger: Ledger | None = None
        self._chats: Conversations | None = None
        self._api_key: str | None = None
        self._key_id: str | None = None  # the key's fingerprint: identifies it, never shows it
        self._service: LocalService | None = None
        self._ledger_warned = False
        # Catalog hints of failed calls, per (region, model, call or not): computed once per catalog
        # fetch, so a burst of failing rows asks the catalog once (see hints.Hints).
        self._hint_memo: dict[tuple, tuple[Any, dict[str, Any]]] = {}
        # AWS account ids by quota owner (profile, API key): STS is asked once per identity (mantle).
        self._accounts: dict[tuple, str] = {}
        super().__init__(**kwargs)
        self.session: str = f"{datetime.now():%Y%m%d-%H%M%S}-{os.urandom(3).hex()}"  # six random hex digits
        self.cell: int | None = None

    # ==============================================================================================
    # Plumbing: clients, ledger, catalog, conversations

    @property
    def clients(self) -> "Clients":
        """The ``auth.Clients`` of the current identity: local service or AWS, profile, API key and
        retry settings. Each identity gets its own (kept, so switching back reuses its connections;
        never closed under a call another thread is making); clients per region and endpoint are
        cached inside it."""
        with self._lock:
            service = self._local() if self.local else None
            # The key's fingerprint, not the key, goes into the identity (it is kept in memory only once).
            if service is not None:
                identity: tuple = ("local", id(service), self._key_id, self.retry_mode, self.max_attempts)
            else:
                identity = ("aws", self.profile, self._key_id, self.retry_mode, self.max_attempts)
            clients = self._clients.get(identity)
            if clients is None:
                from .auth import (
                    Clients,  # boto3/openai glue: loaded with the first call
                )

                if service is not None:
                    options: dict[str, Any] = dict(
                        endpoint_urls=service.endpoints, ca_bundle=service.ca_file,
                        credentials=(local_credentials.ACCESS_KEY_ID, local_credentials.SECRET_ACCESS_KEY),
                        # Asked on first S3 use only: the service starts its S3 (moto) lazily.
                        s3_endpoint=lambda svc=service: svc.s3_endpoint)
                else:
                    options = dict(profile=self.profile)
                clients = self._clients[identity] = Clients(
                    api_key=self._api_key, retry_mode=self.retry_mode, max_attempts=self.max_attempts, **options)
            if self._catalog is not None and self._catalog.clients is not clients:
                self._catalog = None  # another identity may see other models
            return clients

    @property
    def quota_owner(self) -> tuple:
        """Whose quotas the calls count against: the local service (by its URL), or the AWS profile and
        API key (a fingerprint, never the key). Learned quotas are kept per owner (``pacing``)."""
        with self._lock:
            service = self._local() if self.local else None
            if service is not None:
                return ("local", service.url)
            return ("aws", self.profile, self._key_id)

    def client_for(self, request: Request) -> Any:
        """The client that speaks ``request``'s API (boto3 ``bedrock-runtime`` or ``openai.OpenAI``)."""
        prefix = None
        if request.endpoint == "mantle":  # mantle serves each model under its own path (GPT-5.x: /openai/v1)
            from . import endpoints  # loaded on first use: %load_ext stays light (tests/test_layers.py)

            prefix = endpoints.mantle_prefix(request.model)
        return self.clients.get(request.region, request.endpoint, routes.client_kind(request.api), prefix=prefix)

    @property
    def ledger(self) -> "Ledger":
        """The ledger at ``ledger_path`` (opened on first read or write)."""
        with self._lock:
            if self._ledger is None or self._ledger.path != self.ledger_path:
                from .ledger import Ledger  # sqlite3: loaded with the first call

                self._ledger = Ledger(self.ledger_path)
            return self._ledger

    @property
    def catalog(self) -> "Catalog":
        """The model catalog (control plane + mantle ``/v1/models``), cached per region."""
        clients = self.clients
        with self._lock:
            if self._catalog is None:
                from .catalog import Catalog

                self._catalog = Catalog(clients)
            return self._catalog

    @property
    def chats(self) -> "Conversations":
        """The named conversations (``chat="name"``): ``.names()``, ``.get(name)``, ``.reset(name)``, ``.frame()``."""
        with self._lock:
            if self._chats is None:
                self._chats = Conversations()
            return self._chats

    def reset_chat(self, name: str | None = None) -> list[str]:
        """Forget the conversation ``name`` (every conversation when None); returns the names forgotten."""
        return self.chats.reset(name)

    def set_api_key(self, key: str | None) -> None:
        """Use this Bedrock API key (bearer) for every call; kept in memory only. ``None`` forgets it."""
        if key is not None and (not isinstance(key, str) or not key.strip()):
            raise ValueError("the API key is empty")
        key_id = None
        if key:
            import hashlib  # OpenSSL's libcrypto (~2 ms): loaded when a key is first set, not at %load_ext

            key_id = hashlib.sha256(key.strip().encode()).hexdigest()[:16]
        with self._lock:
            self._api_key, self._key_id = (key.strip() if key else None), key_id
        if key:
            remember_secret(self._api_key)

    @property
    def has_api_key(self) -> bool:
        """True when :meth:`set_api_key` gave a key (the key itself is never shown)."""
        return self._api_key is not None

    @observe("ledger_path")
    def _drop_ledger(self, change: Any) -> None:
        with self._lock:
            if self._ledger is not None:
                self._ledger.close()
                self._ledger = None

    @observe("profile", "local")
    def _drop_catalog(self, change: Any) -> None:
        # A new identity (profile, local mode) selects other clients on next use (the `clients`
        # property keys them by identity), and the catalog of the old identity is stale. A new
        # region or endpoint needs nothing: auth.Clients caches clients per (region, endpoint).
        with self._lock:
            self._catalog = None
            self._hint_memo.clear()

    def close(self) -> None:
        """Close the clients' connection pools and the ledger (both reopen on next use)."""
        with self._lock:
            for clients in self._clients.values():
                clients.close()
            self._clients.clear()
            self._catalog = None
            self._hint_memo.clear()
            if self._ledger is not None:
                self._ledger.close()

    # ==============================================================================================
    # The local service

    def use_local(self, start: bool = True, service: "LocalService | None" = None) -> "LocalService":
        """Route every call of this object to the local Bedrock service (on 127.0.0.1) and return it.

        The service is shared by the whole process (:mod:`~bedrock_magics.localservice`): the first
        ``use_local()`` starts it in a background thread, later ones reuse it. ``service`` adopts one
        already running (tests pass their fixture's). With ``start=False`` only a running service is
        used (``RuntimeError`` if none). The local credentials are used for signing; nothing is
        exported to ``os.environ``.
        """
        svc = localservice.shared(start=start, service=service)
        with self._lock:
            self._service = svc
        self.local = True
        return svc

    def use_local_unless_aws(self) -> bool:
        """Use real AWS when credentials for it are found (profile, environment, SSO, an API key),
        else the local service. Returns True when the local service was chosen."""
        if not self.local:
            auth, _ = self.clients.credential_source()
            if auth != "none":
                return False
            self.use_local()
        return True

    def stop_local(self) -> None:
        """Stop using the local service (and stop it, if ``use_local`` started it in this process)."""
        localservice.release(self._service)
        with self._lock:
            self._service = None
            for identity in [i for i in self._clients if i[0] == "local"]:
                self._clients.pop(identity).close()
        self.local = False

    @property
    def local_service(self) -> "LocalService | None":
        """The local service this object uses (None when not in local mode or not started yet)."""
        return self._service if self.local else None

    def _local(self) -> "LocalService":
        """The service for ``local=True``: ours, the process's, or a new one (config said local)."""
        svc = self._service
        if svc is None or not localservice.is_running(svc):
            svc = self._service = localservice.shared(start=False) if localservice.running() else self.use_local()
        return svc
