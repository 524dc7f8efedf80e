"""``python -m bedrock_magics.local``: run the local Bedrock service in the foreground.

It prints one ``export NAME=value`` line per variable that points boto3, the aws CLI and the
openai SDK at it (paste them into another shell, or ``eval`` them), then a ``#`` comment line per
local Lambda function (``--lambda NAME=MODULE:FUNCTION``, repeatable: its ARN, for mantle's ``mcp``
tools), then a comment line saying where it serves, then serves until interrupted (Ctrl-C / SIGTERM).
``--catalog FILE`` serves a catalog that ``python -m bedrock_magics.local catalog --from-aws > FILE``
wrote from a real account (:mod:`bedrock_magics.local.snapshot`) instead of the bundled snapshot.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import sys
import threading
from typing import Sequence


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bedrock_magics.local",
                                description="Run the local Bedrock service (control plane, runtime and mantle "
                                            "on one loopback port) and print the environment that uses it.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default: 0, any free port)")
    p.add_argument("--latency-ms", type=float, default=0.0, metavar="MS", help="added latency of every request")
    p.add_argument("--throttle-rpm", type=int, default=None, metavar="N",
                   help="requests per minute before ThrottlingException")
    p.add_argument("--quota-rpm", type=int, default=None, metavar="N",
                   help="Bedrock quota: runtime requests per minute per model (429 ThrottlingException over it)")
    p.add_argument("--quota-tpm", type=int, default=None, metavar="N",
                   help="Bedrock quota: runtime tokens per minute per model (input + max_tokens up front)")
    p.add_argument("--mantle-input-tpm", type=int, default=None, metavar="N",
                   help="Bedrock quota: mantle input tokens per minute per model (input + max_tokens up front)")
    p.add_argument("--mantle-output-tpm", type=int, default=None, metavar="N",
                   help="Bedrock quota: mantle output tokens per minute per model")
    p.add_argument("--error-rate", type=float, default=0.0, metavar="F",
                   help="fraction of requests failing with ServiceUnavailableException (0..1)")
    p.add_argument("--seed", type=int, default=None, help="seed of the error-rate generator (deterministic runs)")
    p.add_argument("--http", action="store_true",
                   help="serve plain HTTP instead of HTTPS (boto3 then cannot use bearer API keys)")
    p.add_argument("--s3", action="store_true",
                   help="also start S3 (moto's server) for batch inference jobs and export AWS_ENDPOINT_URL_S3")
    p.add_argument("--state-dir", default=None, help="where the local CA is kept (default: the user cache dir)")
    p.add_argument("--allow-remote", action="store_true", help="allow a --host that is not loopback")
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    p.add_argument("--catalog", default=None, metavar="FILE",
                   help="serve this catalog (written by `python -m bedrock_magics.local catalog --from-aws`) "
                        "instead of the bundled one")
    p.add_argument("--lambda", dest="lambdas", action="append", default=[], metavar="NAME=MODULE:FUNCTION",
                   help="serve a Python function as the local Lambda function NAME, an MCP server for mantle "
                        "Responses' mcp tools (repeatable; its ARN is printed)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the service until SIGINT/SIGTERM (or the ``catalog`` command); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["catalog"]:
        from .snapshot import main as catalog_main

        return catalog_main(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    from .catalog import Catalog
    from .server import LOOPBACK_HOSTS, LocalService  # after parsing: --help and usage errors stay fast

    if args.host not in LOOPBACK_HOSTS and not args.allow_remote:
        parser.error(f"--host {args.host} is not a loopback address; add --allow-remote to listen on it")
    if not 0.0 <= args.error_rate <= 1.0:
        parser.error("--error-rate must be between 0 and 1")
    if args.latency_ms < 0:
        parser.error("--latency-ms must not be negative")
    if args.throttle_rpm is not None and args.throttle_rpm < 1:
        parser.error("--throttle-rpm must be at least 1")
    quotas = {"rpm": args.quota_rpm, "tpm": args.quota_tpm, "input_tpm": args.mantle_input_tpm,
              "output_tpm": args.mantle_output_tpm}
    for flag, value in zip(("--quota-rpm", "--quota-tpm", "--mantle-input-tpm", "--mantle-output-tpm"), quotas.values()):
        if value is not None and value < 1:
            parser.error(f"{flag} must be at least 1")
    if args.port < 0 or args.port > 65535:
        parser.error("--port must be between 0 and 65535")
    if args.catalog:
        try:
            Catalog.load(args.catalog)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            parser.error(f"--catalog {args.catalog}: not a catalog file ({exc.__class__.__name__}: {exc}); write one "
                         "with `python -m bedrock_magics.local catalog --from-aws > FILE`")
    from .lambdas import load_spec

    try:
        functions = [load_spec(spec) for spec in args.lambdas]
    except ValueError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    svc = LocalService(host=args.host, port=args.port, tls=not args.http, latency_ms=args.latency_ms,
                       throttle_rpm=args.throttle_rpm, error_rate=args.error_rate, state_dir=args.state_dir,
                       verbose=args.verbose, allow_remote=args.allow_remote, seed=args.seed, quotas=quotas,
                       catalog=args.catalog)
    try:
        arns = [svc.register_lambda(name, func) for name, func in functions]
    except ValueError as exc:
        parser.error(f"--lambda: {exc}")
    try:
        svc.start()
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1

    if args.s3:
        svc.ensure_s3()  # starts moto's S3 server now, so env names it

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    # These lines include the documented local credentials on purpose: they open only this service.
    for name, value in svc.env.items():
        print(f"export {name}={shlex.quote(value)}")
    for arn in arns:
        print(f"# local Lambda function (mantle mcp connector_id): {arn}")
    note = "" if svc.tls else " (plain HTTP: no bearer key, SigV4 only)"
    print(f"# local Bedrock service on {svc.url}{note}; mantle at {svc.endpoints['mantle']}. "
          "Stop it with Ctrl-C (SIGINT) or SIGTERM.", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        svc.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
