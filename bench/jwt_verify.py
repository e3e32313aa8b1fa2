"""Microseconds per `tasks.tokens.verify`, keys cached, for each algorithm (run with the project's interpreter).

Prints JSON: {alg: {"verify_us": ..., "pyjwt_us": ...}}; `pyjwt_us` is a bare `jwt.decode` with the key in hand,
the floor any verifier built on PyJWT can reach.
"""

import json
import os
import statistics
import sys
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
    cases = {"HS256": (jwt.encode(claims, secret, algorithm="HS256"), secret, {})}
    for alg, key in private.items():
        token = jwt.encode({**claims, "iss": url, "aud": url}, key, algorithm=alg, headers={"kid": alg.lower()})
        cases[alg] = (token, key.public_key(), {"audience": url})

    results = {}
    for alg, (token, key, extra) in cases.items():
        verify(token)  # fetches and caches the JWKS
        results[alg] = {
            "verify_us": per_call_us(lambda token=token: verify(token)),
            "pyjwt_us": per_call_us(lambda t=token, k=key, a=alg, x=extra: jwt.decode(t, k, algorithms=[a], **x)),
        }
    server.shutdown()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
