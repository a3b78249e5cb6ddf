"""``python -m shipline.sigstore_local``: run the local UNTRUSTED Sigstore instance.

    serve --state DIR --trust-config FILE [--port N] [--grant-from-env FILE]

Serves on 127.0.0.1 until interrupted, after writing the ClientTrustConfig that the
``sign`` action's ``trust-config`` input takes. With ``--grant-from-env FILE`` it also
grants a token for the workflow described by the GITHUB_* variables and writes
``ACTIONS_ID_TOKEN_REQUEST_URL``/``ACTIONS_ID_TOKEN_REQUEST_TOKEN`` lines to FILE (a
``$GITHUB_ENV`` file works), so later steps sign with ambient credentials as on GitHub.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from shipline.sigstore_local import UNTRUSTED_LABEL
from shipline.sigstore_local.instance import LocalSigstore
from shipline.sigstore_local.oidc import claims_from_environment


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shipline.sigstore_local", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the instance on loopback")
    serve.add_argument("--state", type=Path, required=True, help="keys and log live here")
    serve.add_argument("--trust-config", type=Path, required=True, help="write it here")
    serve.add_argument("--port", type=int, default=0, help="default: a free port")
    serve.add_argument("--grant-from-env", type=Path, help="append token request variables here")
    args = parser.parse_args(argv)

    try:
        instance = LocalSigstore(args.state, port=args.port)
        grant_lines = ""
        if args.grant_from_env is not None:
            token = instance.grant(claims_from_environment(os.environ))
            grant_lines = (
                f"ACTIONS_ID_TOKEN_REQUEST_URL={instance.token_request_url}\n"
                f"ACTIONS_ID_TOKEN_REQUEST_TOKEN={token}\n"
            )
    except (OSError, ValueError) as error:
        print(f"sigstore_local: {error}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # The trust config is written last: its appearance tells a waiting caller we are ready.
    if args.grant_from_env is not None:
        with args.grant_from_env.open("a") as handle:
            handle.write(grant_lines)
    instance.start()
    instance.write_trust_config(args.trust_config)
    print(f"{UNTRUSTED_LABEL} serving on {instance.url}", flush=True)
    print(f"OIDC issuer: {instance.oidc_issuer}; trust config: {args.trust_config}", flush=True)
    try:
        signal.pause()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        instance.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
