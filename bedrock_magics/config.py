"""The settings of :class:`bedrock_magics.Bedrock`, as traitlets (``%config Bedrock.region = "us-west-2"``).

:class:`BedrockSettings` holds every setting; ``core.Bedrock`` subclasses it, and traitlets finds
config sections by class name along the MRO, so both ``%config Bedrock.model = ...`` and
``c.Bedrock.model = ...`` in ``ipython_config.py`` configure it. Outside IPython the same settings are
keyword arguments: ``Bedrock(region="eu-central-1", streaming=False)``.

Precedence, highest first: an option on the magic line (per call); ``%config`` / a Python assignment
/ a keyword argument; IPython's profile config; the environment (``AWS_REGION``,
``AWS_DEFAULT_REGION``, ``AWS_PROFILE``, ``BEDROCK_MAGICS_LOCAL``, ``BEDROCK_MAGICS_LEDGER``) and the
AWS config file's region for the profile; built-in defaults. :meth:`BedrockSettings.sources` says
which one supplied each value (``%bedrock status`` shows it).

Only traitlets is imported here: loading the extension must stay cheap.
"""

from __future__ import annotations

import math
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

from traitlets import (
    Bool,
    Dict,
    Enum,
    Float,
    Int,
    TraitError,
    Unicode,
    default,
    observe,
    validate,
)
from traitlets.config import Configurable

from .errors import did_you_mean
from .routes import ALL_APIS, APIS, DEFAULT_APIS, ENDPOINTS

__all__ = [
    "APIS", "DEFAULT_APIS", "DEFAULT_MODELS", "ENDPOINTS", "FORMATS", "RETRY_MODES", "SETTINGS", "BedrockSettings",
    "default_path",
]

FORMATS = ("markdown", "text", "json", "code", "html")
RETRY_MODES = ("standard", "adaptive", "legacy")
#: Cheap models that exist in every catalog region: runtime (a US inference profile) and mantle.
DEFAULT_MODELS = {"runtime": "us.amazon.nova-lite-v1:0", "mantle": "openai.gpt-oss-120b"}
_DEFAULT_REGION = "us-east-1"
_TRUE = ("1", "true", "yes", "on")

# Labels of sources(), highest precedence first.
LINE, PERCENT_CONFIG, SET, ARGUMENT, IPYTHON_CONFIG, DEFAULT = (
    "line option", "%config", "set in Python", "argument", "IPython config", "default")
_EXPLICIT = (LINE, PERCENT_CONFIG, SET, ARGUMENT, IPYTHON_CONFIG)


class Choice(Enum):
    """An ``Enum`` whose error names the setting, lists the valid values and suggests the closest.

    Matching ignores case (``Mantle`` is ``mantle``).
    """

    def validate(self, obj: Any, value: Any) -> Any:
        if value is None and self.allow_none:
            return value
        if isinstance(value, str):
            for choice in self.values or ():
                if value.strip().lower() == str(choice).lower():
                    return choice
        raise TraitError(f"Bedrock.{self.name} must be one of {', '.join(map(str, self.values or ()))}, "
                         f"not {value!r}.{did_you_mean(value, self.values or ())}")


class WholeNumber(Int):
    """An ``Int`` with a lower bound and a one-line error naming the setting."""

    def __init__(self, default_value: Any = None, lower: int = 1, **kwargs: Any) -> None:
        self.lower = lower
        super().__init__(default_value, **kwargs)

    @property
    def bounds(self) -> tuple[int, None]:
        """``(lowest, highest)`` accepted value; no upper bound."""
        return self.lower, None

    def validate(self, obj: Any, value: Any) -> Any:
        if value is None and self.allow_none:
            return value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < self.lower:
            none = " (or None)" if self.allow_none else ""
            raise TraitError(f"Bedrock.{self.name} must be a whole number >= {self.lower}{none}, not {value!r}")
        return value


class Fraction(Float):
    """A ``Float`` in ``[0, 1]`` (or None) with a one-line error naming the setting."""

    #: ``(lowest, highest)`` accepted value (the magic's ``--temperature``/``--top-p`` help and errors say it too).
    bounds = (0.0, 1.0)

    def validate(self, obj: Any, value: Any) -> Any:
        if value is None and self.allow_none:
            return value
        low, high = self.bounds
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or not low <= value <= high:
            raise TraitError(f"Bedrock.{self.name} must be a number from {low:g} to {high:g} (or None for the "
                             f"model's default), not {value!r}")
        return float(value)


class BedrockSettings(Configurable):
    """Settings for Amazon Bedrock calls (configure them as ``Bedrock``: ``%config Bedrock``)."""

    region = Unicode(
        help="AWS region of the calls. Default: $AWS_REGION, $AWS_DEFAULT_REGION, the AWS profile's region, "
             "else us-east-1.").tag(config=True)
    endpoint = Choice(
        ENDPOINTS, default_value="runtime",
        help="Inference endpoint: 'runtime' (bedrock-runtime: converse, invoke, chat, responses) or 'mantle' "
             "(bedrock-mantle, OpenAI-compatible: responses, chat).").tag(config=True)
    api = Choice(
        ALL_APIS, default_value=DEFAULT_APIS["runtime"],
        help="Wire API on the endpoint: runtime serves converse, invoke, chat and responses; mantle serves "
             "responses and chat. Left unset, it follows the endpoint (converse on runtime, responses on "
             "mantle).").tag(config=True)
    model = Unicode(
        DEFAULT_MODELS["runtime"],
        help="Model id, inference-profile id or ARN used on the runtime endpoint (and on mantle too once set "
             "explicitly). `%bedrock models` lists them.").tag(config=True)
    mantle_model = Unicode(
        DEFAULT_MODELS["mantle"],
        help="Model used on the mantle endpoint while Bedrock.model is left at its default.").tag(config=True)
    system = Unicode(None, allow_none=True, help="System prompt sent with every call (None: none).").tag(config=True)
    max_tokens = WholeNumber(None, allow_none=True,
                             help="Most tokens a reply may have (None: the model's default).").tag(config=True)
    temperature = Fraction(None, allow_none=True,
                           help="Sampling temperature, 0 to 1 (None: the model's default).").tag(config=True)
    top_p = Fraction(None, allow_none=True,
                     help="Nucleus sampling mass, 0 to 1 (None: the model's default).").tag(config=True)
    # Named "streaming" because Bedrock.stream() is the streaming call itself (a method).
    streaming = Bool(True, help="Stream answers into the cell as they arrive (the magic's default for "
                                "--stream/--no-stream).").tag(config=True)
    format = Choice(FORMATS, default_value="markdown",
                    help="How answers are shown: markdown, text, json, code or html.").tag(config=True)
    profile = Unicode(None, allow_none=True,
                      help="AWS profile for credentials and region (None: $AWS_PROFILE or boto3's default "
                           "chain).").tag(config=True)
    ledger_path = Unicode(
        help="SQLite file recording every call (`%bedrock usage`). Default: $BEDROCK_MAGICS_LEDGER, else "
             "ledger.sqlite in platformdirs' user data dir for bedrock_magics; ':memory:' keeps it in "
             "memory.").tag(config=True)
    prices = Dict(
        help="Price overrides, model id -> {'input_per_1k': USD, 'output_per_1k': USD}; they win over the "
             "bundled, dated price table.").tag(config=True)
    concurrency = WholeNumber(8, help="Parallel calls when running over DataFrame rows or comparing "
                                      "models.").tag(config=True)
    local = Bool(help="Use the local Bedrock service on 127.0.0.1 instead of AWS (default: "
                      "$BEDROCK_MAGICS_LOCAL).").tag(config=True)
    # Not botocore's "adaptive": DataFrame runs pace themselves by the quota they learn (pacing.py),
    # and adaptive's client-side limiter, slowed by the first throttles, kept them crawling for
    # seconds after the quota window reopened (benchmarks/bench_quota.py: 1.12x against 1.03x).
    retry_mode = Choice(RETRY_MODES, default_value="standard",
                        help="botocore retry mode: standard (backs off on throttling and errors), adaptive (also "
                             "rate-limits the client) or legacy.").tag(config=True)
    max_attempts = WholeNumber(None, allow_none=True,
                               help="Attempts per call, first one included (None: the retry mode's default, "
                                    "3 for standard/adaptive).").tag(config=True)
    max_tool_rounds = WholeNumber(8, help="Most model calls in one tool-use loop before giving up.").tag(config=True)

    # -- construction and source tracking ---------------------------------------------------------

    def __init__(self, **kwargs: Any) -> None:
        # Set before traitlets runs, so that observers see where values come from.
        self._sources: dict[str, str] = {}
        self._default_sources: dict[str, str] = {}
        self._loading = False
        self._quiet = False
        self._constructing = True
        self._percent_config: set[str] = set()
        super().__init__(**kwargs)
        names = set(self.trait_names(config=True))
        for name in kwargs:
            if name in names:
                self._sources[name] = ARGUMENT
        self._constructing = False

    def _load_config(self, cfg: Any, section_names: Any = None, traits: Any = None) -> None:
        # Label every value that config sets: at construction it comes from IPython's (profile) config;
        # later, update_config() comes from %config. update_config() first reloads the old config
        # (``self.config = deepcopy(self.config)``), so keep the labels of values already in it.
        reloading = cfg is self.config
        found = set(self._find_my_config(cfg)) & set(self.trait_names(config=True))
        self._loading = True
        try:
            super()._load_config(cfg, section_names, traits)
        finally:
            self._loading = False
        for name in found:
            if self._constructing:
                label = IPYTHON_CONFIG
            elif reloading:
                label = PERCENT_CONFIG if name in self._percent_config else IPYTHON_CONFIG
            else:
                label = PERCENT_CONFIG
                self._percent_config.add(name)
            self._sources[name] = label

    @observe(*(name for name in (
        "region", "endpoint", "api", "model", "mantle_model", "system", "max_tokens", "temperature", "top_p",
        "streaming", "format", "profile", "ledger_path", "prices", "concurrency", "local", "retry_mode",
        "max_attempts", "max_tool_rounds")))
    def _note_assignment(self, change: Any) -> None:
        if self._loading or self._quiet or self._constructing:
            return
        self._sources[change.name] = SET

    @contextmanager
    def _quietly(self) -> Iterator[None]:
        """Change values without marking them as set by the user (derived defaults)."""
        quiet, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = quiet

    def _is_explicit(self, name: str) -> bool:
        return self._sources.get(name) in _EXPLICIT

    def sources(self, overrides: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
        """Each setting's value and where it came from: ``{name: {"value": v, "source": label}}``.

        Labels: ``line option`` (``overrides``, the options of one magic line), ``%config``,
        ``set in Python``, ``argument``, ``IPython config``, ``environment ($NAME)``,
        ``AWS config (profile NAME)``, ``default``. No setting is a secret.
        """
        result = {}
        for name in self.trait_names(config=True):
            value = getattr(self, name)  # computes dynamic defaults, which records their source
            source = self._sources.get(name) or self._default_sources.get(name, DEFAULT)
            result[name] = {"value": value, "source": source}
        for name, value in (overrides or {}).items():
            if value is not None and name in result:
                result[name] = {"value": value, "source": LINE}
        return result

    # -- dynamic defaults -----------------------------------------------------------------------------

    @default("region")
    def _region_default(self) -> str:
        value, source = self._find_region()
        self._default_sources["region"] = source
        return value

    def _find_region(self) -> tuple[str, str]:
        for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            if os.environ.get(name):
                return os.environ[name].strip(), f"environment (${name})"
        profile = self.profile
        try:
            # botocore reads the config file only (no network); imported here to keep load cheap.
            import botocore.session

            found = botocore.session.Session(profile=profile).get_scoped_config().get("region")
        except Exception:  # no such profile, unreadable file: fall through to the default
            found = None
        if found:
            return found, f"AWS config (profile {profile or os.environ.get('AWS_PROFILE') or 'default'})"
        return _DEFAULT_REGION, DEFAULT

    @default("profile")
    def _profile_default(self) -> str | None:
        if os.environ.get("AWS_PROFILE"):
            self._default_sources["profile"] = "environment ($AWS_PROFILE)"
            return os.environ["AWS_PROFILE"]
        return None

    @default("local")
    def _local_default(self) -> bool:
        value = os.environ.get("BEDROCK_MAGICS_LOCAL", "")
        if value:
            self._default_sources["local"] = "environment ($BEDROCK_MAGICS_LOCAL)"
        return value.strip().lower() in _TRUE

    @default("ledger_path")
    def _ledger_path_default(self) -> str:
        if os.environ.get("BEDROCK_MAGICS_LEDGER"):
            self._default_sources["ledger_path"] = "environment ($BEDROCK_MAGICS_LEDGER)"
        return default_path()

    @default("prices")
    def _prices_default(self) -> dict:
        return {}

    # -- validation -----------------------------------------------------------------------------------

    @validate("region")
    def _check_region(self, proposal: Any) -> str:
        return _region(proposal["value"])

    @validate("api")
    def _check_api(self, proposal: Any) -> str:
        api = proposal["value"]
        endpoint = self.endpoint
        if api not in APIS[endpoint]:
            raise TraitError(f"Bedrock.api {api!r} is not served by the {endpoint} endpoint; on {endpoint} use one "
                             f"of {', '.join(APIS[endpoint])} (or set Bedrock.endpoint first).")
        return api

    @validate("endpoint")
    def _check_endpoint(self, proposal: Any) -> str:
        endpoint = proposal["value"]
        if self._is_explicit("api") and self.api not in APIS[endpoint]:
            raise TraitError(f"Bedrock.endpoint {endpoint!r} does not serve Bedrock.api {self.api!r}; on {endpoint} "
                             f"set Bedrock.api to one of {', '.join(APIS[endpoint])}.")
        return endpoint

    @observe("endpoint")
    def _follow_endpoint(self, change: Any) -> None:
        # An api left at its default follows the endpoint (converse on runtime, responses on mantle).
        if not self._is_explicit("api"):
            with self._quietly():
                self.api = DEFAULT_APIS[change.new]

    @validate("model", "mantle_model")
    def _check_model(self, proposal: Any) -> str:
        return _model(proposal["value"], proposal["trait"].name)

    @validate("prices")
    def _check_prices(self, proposal: Any) -> dict:
        try:
            from .prices import (
                check_overrides,  # loaded on first use: %load_ext stays light (tests/test_layers.py)
            )

            return check_overrides(proposal["value"])
        except ValueError as exc:
            raise TraitError(str(exc)) from None

    @validate("ledger_path")
    def _check_ledger_path(self, proposal: Any) -> str:
        value = proposal["value"]
        if not isinstance(value, str) or not value.strip():
            raise TraitError(f"Bedrock.ledger_path must be a file path (or ':memory:'), not {value!r}")
        if value == ":memory:":
            return value
        path = os.path.expanduser(value)
        if os.path.isdir(path):
            raise TraitError(f"Bedrock.ledger_path {value!r} is a directory; give a file path such as "
                             f"{os.path.join(value, 'ledger.sqlite')!r}")
        return path

    @validate("profile")
    def _check_profile(self, proposal: Any) -> str | None:
        value = proposal["value"]
        if value is None or value == "":
            return None
        if not isinstance(value, str) or re.search(r"\s", value):
            raise TraitError(f"Bedrock.profile must be an AWS profile name (see `aws configure list-profiles`), "
                             f"not {value!r}")
        return value

    def validate_value(self, name: str, value: Any) -> Any:
        """``value`` checked (and normalised) as setting ``name`` would be, without setting it.

        For per-call values (the options of one magic line). Raises ``TraitError`` with the
        setting's one-line message. Checks that involve other settings (api vs endpoint) are the
        caller's.
        """
        trait = self.traits(config=True).get(name)
        if trait is None:
            raise TraitError(f"Bedrock has no setting {name!r}.{did_you_mean(name, self.trait_names(config=True))}")
        value = trait.validate(self, value)
        if name == "region":
            return _region(value)
        if name in ("model", "mantle_model"):
            return _model(value, name)
        return value

    # -- derived values -----------------------------------------------------------------------------

    @observe("profile")
    def _follow_profile(self, change: Any) -> None:
        # A region that was not chosen explicitly is the new profile's region.
        if not self._is_explicit("region") and self.trait_has_value("region"):
            value, source = self._find_region()
            with self._quietly():
                self.region = value
            self._default_sources["region"] = source

    def default_model(self, endpoint: str | None = None) -> str:
        """The model a call on ``endpoint`` uses when none is given on the line."""
        endpoint = endpoint or self.endpoint
        if endpoint == "mantle" and not self._is_explicit("model"):
            return self.mantle_model
        return self.model

    def default_api(self, endpoint: str | None = None) -> str:
        """The API a call on ``endpoint`` uses when none is given on the line."""
        endpoint = endpoint or self.endpoint
        return self.api if self.api in APIS[endpoint] else DEFAULT_APIS[endpoint]


def _region(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TraitError(f"Bedrock.region must be an AWS region such as us-east-1, not {value!r}")
    value = value.strip().lower()
    try:
        from . import (
            endpoints,  # loaded on first use: %load_ext stays light (tests/test_layers.py)
        )

        endpoints.check_region(value, "runtime")
    except ValueError as exc:
        raise TraitError(f"Bedrock.region: {exc}") from None
    return value


def _model(value: Any, name: str = "model") -> str:
    if not isinstance(value, str) or not value.strip() or re.search(r"\s", value.strip()):
        raise TraitError(f"Bedrock.{name} must be a model id, inference-profile id or ARN (for example "
                         f"{DEFAULT_MODELS['runtime']}), not {value!r}; `%bedrock models` lists them.")
    return value.strip()


#: Names of every setting, in declaration order (for options and help).
SETTINGS: tuple[str, ...] = (
    "region", "endpoint", "api", "model", "mantle_model", "system", "max_tokens", "temperature", "top_p",
    "streaming", "format", "profile", "ledger_path", "prices", "concurrency", "local", "retry_mode",
    "max_attempts", "max_tool_rounds")


def default_path() -> str:
    """``$BEDROCK_MAGICS_LEDGER`` if set, else ``platformdirs.user_data_dir("bedrock_magics")/ledger.sqlite``."""
    env = os.environ.get("BEDROCK_MAGICS_LEDGER")
    if env:
        return env
    import platformdirs

    return str(Path(platformdirs.user_data_dir("bedrock_magics")) / "ledger.sqlite")
