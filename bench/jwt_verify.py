"""Microseconds per `tasks.tokens.verify`, keys cached, for each algorithm (run with the project's interpreter).

Prints JSON: {alg: {"verify_us": ..., "first_us": ..., "pyjwt_us": ...}}: `verify_us` is a token the process has
verified before (every request but a token's first), `first_us` a token it has not (keys cached either way), and
`pyjwt_us` a bare `jwt.decode` with the key in hand, the floor of any verifier built on PyJWT.
"""

import json
import os
import statistics
import sys
import time
import timeit
from datetime import UTC, datetime, timedelta
from pathlib import Path

import django
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import serve_jwks  # noqa: E402

LOOPS = 2000
FRESH = 300  # distinct tokens per algorithm for `first_us`


def per_call_us(func) -> float:
    return statistics.median(timeit.repeat(func, number=LOOPS, repeat=5)) / LOOPS * 1e6


def main() -> None:
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
    from tasks.tokens import verify

    now = datetime.now(UTC)
    claims = {"sub": "u" * 32, "email": "bench@example.com", "iat": now, "exp": now + timedelta(hours=1)}
    secret = os.environ["BETTER_AUTH_SECRET"]

    def mint(alg: str, n: int) -> str:
        if alg == "HS256":
            return jwt.encode({**claims, "n": n}, secret, algorithm="HS256")
        payload = {**claims, "n": n, "iss": url, "aud": url}
        return jwt.encode(payload, private[alg], algorithm=alg, headers={"kid": alg.lower()})

    results = {}
    for alg in ["HS256", *private]:
        key, extra = (secret, {}) if alg == "HS256" else (private[alg].public_key(), {"audience": url})
        token, fresh = mint(alg, -1), [mint(alg, n) for n in range(FRESH)]
        verify(token)  # fetches and caches the JWKS
        started = time.perf_counter()
        for other in fresh:
            verify(other)
        results[alg] = {
            "verify_us": per_call_us(lambda token=token: verify(token)),
            "first_us": (time.perf_counter() - started) / FRESH * 1e6,
            "pyjwt_us": per_call_us(lambda t=token, k=key, a=alg, x=extra: jwt.decode(t, k, algorithms=[a], **x)),
        }
    server.shutdown()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
