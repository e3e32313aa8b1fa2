"""Microseconds per `drf_better_auth.conf.verify`, keys cached, for each algorithm (run with the project's interpreter).

Prints JSON: {alg: {"verify_us": ..., "first_us": ..., "pyjwt_us": ...}}: `verify_us` is a token the process has
verified before (every request but a token's first), `first_us` a token it has not (keys cached either way), and
`pyjwt_us` a bare `jwt.decode` with the key in hand, the floor of any verifier built on PyJWT.

`--against REV` measures `tasks/tokens.py` as it was at REV (before the verifier became the drf-better-auth package)
in the same process, turn about with the package's, and prints {"package": {alg: ...}, "REV": {alg: ...}}.
"""

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import django
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import serve_jwks  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LOOPS = 2000
FRESH = 300  # distinct tokens per algorithm for `first_us`
ROUNDS = 3  # for --against: the two verifiers measured turn about, the median of the rounds kept


def per_call_us(func) -> float:
    return statistics.median(timeit.repeat(func, number=LOOPS, repeat=5)) / LOOPS * 1e6


def old_verify(rev: str) -> Callable[[str], dict]:
    """`verify` of tasks/tokens.py at `rev`, read from git and imported under another name."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:tasks/tokens.py"], capture_output=True, text=True, check=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "tokens_at_rev.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("tokens_at_rev", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.verify


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--against", metavar="REV", help="also measure tasks/tokens.py as it was at this commit")
    args = parser.parse_args()

    private = {
        "EdDSA": Ed25519PrivateKey.generate(),
        "ES256": ec.generate_private_key(ec.SECP256R1()),
        "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }
    jwks = {"keys": []}
    for alg, key in private.items():
        jwk = json.loads(jwt.get_algorithm_by_name(alg).to_jwk(key.public_key()))
        jwks["keys"].append({**jwk, "kid": alg.lower(), "alg": alg, "use": "sig"})
    server, url = serve_jwks(jwks)
    os.environ.update(BETTER_AUTH_URL=url, BETTER_AUTH_JWKS_URL=url + "/api/auth/jwks")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
    django.setup()
    from drf_better_auth.conf import verify

    verifiers = {"package": verify}
    if args.against:
        verifiers[args.against] = old_verify(args.against)

    now = datetime.now(UTC)
    claims = {"sub": "u" * 32, "email": "bench@example.com", "iat": now, "exp": now + timedelta(hours=1)}
    secret = os.environ["BETTER_AUTH_SECRET"]
    minted = iter(range(10**9))

    def mint(alg: str) -> str:
        n = next(minted)  # every token distinct, so each verifier sees its own first tokens
        if alg == "HS256":
            return jwt.encode({**claims, "n": n}, secret, algorithm="HS256")
        payload = {**claims, "n": n, "iss": url, "aud": url}
        return jwt.encode(payload, private[alg], algorithm=alg, headers={"kid": alg.lower()})

    def measure(check: Callable[[str], dict], alg: str) -> dict[str, float]:
        key, extra = (secret, {}) if alg == "HS256" else (private[alg].public_key(), {"audience": url})
        token, fresh = mint(alg), [mint(alg) for _ in range(FRESH)]
        check(token)  # fetches and caches the JWKS
        started = time.perf_counter()
        for other in fresh:
            check(other)
        return {
            "verify_us": per_call_us(lambda: check(token)),
            "first_us": (time.perf_counter() - started) / FRESH * 1e6,
            "pyjwt_us": per_call_us(lambda: jwt.decode(token, key, algorithms=[alg], **extra)),
        }

    rounds = ROUNDS if args.against else 1
    runs: dict[str, dict[str, list[dict[str, float]]]] = {name: {} for name in verifiers}
    for _ in range(rounds):
        for alg in ["HS256", *private]:
            for name, check in verifiers.items():
                runs[name].setdefault(alg, []).append(measure(check, alg))
    server.shutdown()
    results = {
        name: {alg: {field: statistics.median(r[field] for r in rs) for field in rs[0]} for alg, rs in by_alg.items()}
        for name, by_alg in runs.items()
    }
    print(json.dumps(results if args.against else results["package"]))


if __name__ == "__main__":
    main()
