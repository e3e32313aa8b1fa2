"""JWT attacks against the running API over real HTTP: every one is a 401 JSON body with a Bearer challenge.

Each attack is sent to the live server as a GET and as a POST (which would create a task): both must be refused,
nothing may be written, and key URLs in token headers must never be fetched.
"""

import base64
import datetime
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from tasks.models import Task
from tests.helpers import ASYMMETRIC, SECRET, JWKSServer, SigningKey, generate_private_key, running_jwks_server
from tests.live import call

URL = "/api/tasks"
BODY = b'{"title": "written by an attacker"}'


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: Any) -> str:
    return b64(json.dumps(value).encode())


def claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "alice", "iat": now, "exp": now + 900, **extra}


def unsigned(header: Any, payload: Any, signature: str = "") -> str:
    return f"{segment(header)}.{segment(payload)}.{signature}"


@dataclass
class Kit:
    """What an attack is built from: the API's real keys, an attacker's key and a server that counts fetches."""

    token: Callable[..., str]
    keys: dict[str, SigningKey]
    attacker: SigningKey
    attacker_url: str


@dataclass
class Attack:
    headers: list[tuple[str, str]]
    path: str = URL
    code: str = "token_invalid"
    settings: dict[str, Any] = field(default_factory=dict)
    header_limit_allowed: bool = False  # the HTTP server may answer 431 before the API sees the request


def bearer(token: str, **options: Any) -> Attack:
    return Attack([("Authorization", f"Bearer {token}")], **options)


def hmac_signed(header: dict[str, Any], payload: dict[str, Any], secret: bytes) -> str:
    """HS256 by hand: PyJWT rightly refuses to use a public key as an HMAC secret, so an attacker would do this."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    return f"{signing_input}.{b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def hs256_with_public_key(kit: Kit, alg: str) -> Attack:
    """Algorithm confusion (RFC 8725, 2.1): an HMAC keyed with the published public key."""
    public = kit.keys[alg].private.public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return bearer(hmac_signed({"alg": "HS256", "kid": kit.keys[alg].kid}, claims(), pem))


def hs256_with_raw_ed25519_key(kit: Kit) -> Attack:
    raw = (
        kit.keys["EdDSA"].private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    return bearer(hmac_signed({"alg": "HS256", "kid": kit.keys["EdDSA"].kid}, claims(), raw))


def hs256_with_jwk_text(kit: Kit) -> Attack:
    return bearer(hmac_signed({"alg": "HS256"}, claims(), json.dumps(kit.keys["RS256"].jwk).encode()))


def signed_by_attacker(kit: Kit, *, kid: str, **headers: Any) -> str:
    return jwt.encode(claims(), kit.attacker.private, algorithm="EdDSA", headers={"kid": kid, **headers})


def x5c_of_attacker(kit: Kit) -> Attack:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(kit.attacker.private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(kit.attacker.private, None)
    )
    der = base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()
    return bearer(signed_by_attacker(kit, kid=kit.keys["EdDSA"].kid, x5c=[der]))


def altered_signature(kit: Kit) -> Attack:
    header, payload, signature = kit.token(sub="alice").split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    return bearer(f"{header}.{payload}.{flipped}")


def altered_payload(kit: Kit) -> Attack:
    header, _, signature = kit.token(sub="alice").split(".")
    return bearer(f"{header}.{segment(claims(sub='bob'))}.{signature}")


def signature_of_another_token(kit: Kit) -> Attack:
    header, payload, _ = kit.token(sub="mallory").split(".")
    return bearer(f"{header}.{payload}.{kit.token(sub='alice').split('.')[2]}")


def alg_swapped(kit: Kit) -> Attack:
    _, payload, signature = kit.token(sub="alice", alg="ES256").split(".")
    return bearer(f"{segment({'alg': 'ES512', 'kid': kit.keys['ES512'].kid})}.{payload}.{signature}")


def wrong_key(kit: Kit, alg: str) -> Attack:
    key = "another-secret-that-is-long-enough-too" if alg == "HS256" else generate_private_key(alg)
    return bearer(kit.token(sub="alice", alg=alg, key=key))


def oversized(kit: Kit, size: int) -> Attack:
    # An unknown kid: had the token been decoded, the JWKS would have been fetched (asserted below that it is not).
    return bearer(
        kit.token(sub="alice", padding="x" * size, headers={"kid": "kid-never-seen"}), header_limit_allowed=True
    )


def duplicated(first: str, second: str) -> Attack:
    return Attack([("Authorization", f"Bearer {first}"), ("Authorization", f"Bearer {second}")])


def unsigned_sig(header: Any, payload: Any) -> Attack:
    return bearer(unsigned(header, payload, b64(b"not a signature")))


DEEP_JSON = b'{"alg":' + b"[" * 2000 + b"]" * 2000 + b"}"
ISSUED_BY_AUTH = {
    "BETTER_AUTH_ISSUER": "https://auth.example.com",
    "BETTER_AUTH_AUDIENCE": ["https://auth.example.com"],
}
GOOD_ISS_AUD = {"iss": "https://auth.example.com", "aud": "https://auth.example.com"}

ATTACKS: dict[str, Callable[[Kit], Attack]] = {
    # alg none, in any case, with and without a signature (RFC 8725, 3.1)
    **{
        f"alg-{alg}": lambda kit, alg=alg: bearer(unsigned({"alg": alg, "typ": "JWT"}, claims()))
        for alg in ["none", "None", "NONE", "nOnE"]
    },
    "alg-none-with-signature": lambda kit: unsigned_sig({"alg": "none"}, claims()),
    "alg-missing": lambda kit: unsigned_sig({"typ": "JWT"}, claims()),
    "alg-hs512": lambda kit: bearer(jwt.encode(claims(), SECRET * 2, algorithm="HS512")),
    # HS256 keyed with what the JWKS publishes
    **{f"hs256-with-{alg}-public-key": lambda kit, alg=alg: hs256_with_public_key(kit, alg) for alg in ASYMMETRIC},
    "hs256-with-raw-ed25519-public-key": hs256_with_raw_ed25519_key,
    "hs256-with-jwk-text-as-secret": hs256_with_jwk_text,
    "hs256-when-no-secret-is-configured": lambda kit: bearer(
        kit.token(sub="alice", alg="HS256"), settings={"BETTER_AUTH_SECRET": None}
    ),
    # kid
    "kid-path-traversal": lambda kit: bearer(kit.token(sub="alice", headers={"kid": "../../../../etc/passwd"})),
    "kid-sql": lambda kit: bearer(kit.token(sub="alice", headers={"kid": "' OR '1'='1' --"})),
    "kid-unknown": lambda kit: bearer(kit.token(sub="alice", headers={"kid": "kid-unknown"})),
    "kid-empty": lambda kit: bearer(kit.token(sub="alice", headers={"kid": ""})),
    "kid-with-nul": lambda kit: bearer(kit.token(sub="alice", headers={"kid": "kid-eddsa\x00"})),
    "kid-url": lambda kit: bearer(kit.token(sub="alice", headers={"kid": kit.attacker_url})),
    "kid-number": lambda kit: unsigned_sig({"alg": "EdDSA", "kid": 7}, claims()),
    "kid-object": lambda kit: unsigned_sig({"alg": "EdDSA", "kid": {"$ne": None}}, claims()),
    "kid-of-another-family": lambda kit: bearer(kit.token(sub="alice", alg="ES256", headers={"kid": "kid-rs256"})),
    # headers that point at keys: never fetched, never used
    "jku-unknown-kid": lambda kit: bearer(signed_by_attacker(kit, kid="kid-attacker", jku=kit.attacker_url)),
    "jku-known-kid": lambda kit: bearer(signed_by_attacker(kit, kid="kid-eddsa", jku=kit.attacker_url)),
    "x5u-unknown-kid": lambda kit: bearer(signed_by_attacker(kit, kid="kid-attacker", x5u=kit.attacker_url)),
    "x5u-known-kid": lambda kit: bearer(signed_by_attacker(kit, kid="kid-eddsa", x5u=kit.attacker_url)),
    "jwk-embedded": lambda kit: bearer(signed_by_attacker(kit, kid="kid-eddsa", jwk=kit.attacker.jwk)),
    "x5c-embedded": x5c_of_attacker,
    # time claims
    "expired": lambda kit: bearer(kit.token(sub="alice", exp=int(time.time()) - 60), code="token_expired"),
    "nbf-in-the-future": lambda kit: bearer(kit.token(sub="alice", nbf=int(time.time()) + 120)),
    "iat-in-the-future": lambda kit: bearer(kit.token(sub="alice", iat=int(time.time()) + 120)),
    "no-exp": lambda kit: bearer(kit.token(sub="alice", exp=None)),
    "exp-a-string": lambda kit: bearer(kit.token(sub="alice", exp="9999999999")),
    "iat-a-string": lambda kit: bearer(kit.token(sub="alice", iat="now")),
    # sub
    "sub-missing": lambda kit: bearer(kit.token(sub=None)),
    "sub-empty": lambda kit: bearer(kit.token(sub="")),
    "sub-blank": lambda kit: bearer(kit.token(sub=" \t ")),
    "sub-number": lambda kit: bearer(kit.token(sub=42)),
    "sub-list": lambda kit: bearer(kit.token(sub=["alice"])),
    "sub-object": lambda kit: bearer(kit.token(sub={"id": "alice"})),
    "sub-boolean": lambda kit: bearer(kit.token(sub=True)),
    "sub-too-long": lambda kit: bearer(kit.token(sub="a" * 256)),
    "sub-control-characters": lambda kit: bearer(kit.token(sub="alice\x00bob")),
    # issuer and audience, when configured
    "iss-wrong": lambda kit: bearer(
        kit.token(sub="alice", **{**GOOD_ISS_AUD, "iss": "https://evil.example.com"}), settings=ISSUED_BY_AUTH
    ),
    "aud-wrong": lambda kit: bearer(
        kit.token(sub="alice", **{**GOOD_ISS_AUD, "aud": "https://evil.example.com"}), settings=ISSUED_BY_AUTH
    ),
    "iss-missing": lambda kit: bearer(kit.token(sub="alice", aud=GOOD_ISS_AUD["aud"]), settings=ISSUED_BY_AUTH),
    "aud-missing": lambda kit: bearer(kit.token(sub="alice", iss=GOOD_ISS_AUD["iss"]), settings=ISSUED_BY_AUTH),
    # signature and payload tampering
    "signature-stripped": lambda kit: bearer(kit.token(sub="alice").rsplit(".", 1)[0] + "."),
    "signature-altered": altered_signature,
    "signature-of-another-token": signature_of_another_token,
    "payload-altered": altered_payload,
    "alg-swapped-in-header": alg_swapped,
    **{f"wrong-key-{alg}": lambda kit, alg=alg: wrong_key(kit, alg) for alg in ["HS256", *ASYMMETRIC]},
    # shape
    "truncated": lambda kit: bearer(kit.token(sub="alice")[:-12]),
    "two-segments": lambda kit: bearer(kit.token(sub="alice").rsplit(".", 1)[0]),
    "four-segments": lambda kit: bearer(kit.token(sub="alice") + ".e30"),
    "oversized-9-kb": lambda kit: oversized(kit, 9 * 1024),
    "oversized-80-kb": lambda kit: oversized(kit, 80 * 1024),
    "non-base64-segments": lambda kit: bearer("!!!.???.###"),
    "base64-padding-and-spaces": lambda kit: bearer("eyJ=.e30=.c2ln="),
    "header-not-json": lambda kit: bearer(f"{b64(b'not json')}.{segment(claims())}.c2ln"),
    "header-json-array": lambda kit: unsigned_sig(["EdDSA"], claims()),
    "header-not-utf8": lambda kit: bearer(f"{b64(bytes([0xFF, 0xFE, 0x7B]))}.{segment(claims())}.c2ln"),
    "header-deeply-nested": lambda kit: bearer(f"{b64(DEEP_JSON)}.e30.c2ln"),
    "payload-not-json": lambda kit: bearer(f"{segment({'alg': 'HS256'})}.{b64(b'not json')}.c2ln"),
    "session-token": lambda kit: bearer("Xk3mVq9Zr2LwT8pN5bHc7JdF4gYs6aEu"),
    # the Authorization header itself
    "authorization-twice-same-token": lambda kit: duplicated(kit.token(sub="alice"), kit.token(sub="alice")),
    "authorization-twice-two-users": lambda kit: duplicated(kit.token(sub="alice"), kit.token(sub="bob")),
    "authorization-twice-forged-first": lambda kit: duplicated("a.b.c", kit.token(sub="alice")),
    "bearer-twice-in-one-header": lambda kit: Attack(
        [("Authorization", f"Bearer {kit.token(sub='alice')} Bearer {kit.token(sub='alice')}")]
    ),
    "bearer-without-token": lambda kit: Attack([("Authorization", "Bearer")]),
    "lowercase-bearer-forged": lambda kit: Attack(
        [("Authorization", "bearer " + altered_payload(kit).headers[0][1][7:])]
    ),
    "basic-scheme": lambda kit: Attack(
        [("Authorization", "Basic " + base64.b64encode(b"alice:password").decode())], code="not_authenticated"
    ),
    "token-scheme": lambda kit: Attack(
        [("Authorization", f"Token {kit.token(sub='alice')}")], code="not_authenticated"
    ),
    "jwt-scheme": lambda kit: Attack([("Authorization", f"JWT {kit.token(sub='alice')}")], code="not_authenticated"),
    "token-in-query-string": lambda kit: Attack(
        [], path=f"{URL}?token={kit.token(sub='alice')}&access_token={kit.token(sub='alice')}", code="not_authenticated"
    ),
    "token-in-cookie": lambda kit: Attack(
        [("Cookie", f"token={kit.token(sub='alice')}; better-auth.session_token={kit.token(sub='alice')}")],
        code="not_authenticated",
    ),
    "token-in-other-header": lambda kit: Attack([("X-Access-Token", kit.token(sub="alice"))], code="not_authenticated"),
}


@pytest.fixture(scope="module")
def attacker_server() -> Iterator[JWKSServer]:
    """Where an attacker's key URLs point: serves the attacker's JWKS, and counts every request."""
    with running_jwks_server() as state:
        yield state


@pytest.fixture
def kit(make_token, signing_keys, attacker_server) -> Kit:
    attacker = SigningKey("EdDSA", "kid-attacker", generate_private_key("EdDSA"))
    attacker_server.reset([attacker.jwk])
    return Kit(make_token, signing_keys, attacker, attacker_server.url)


def test_a_valid_token_gets_through_the_same_way(live_server, kit):
    """The control: the requests below differ from this one only by the attack."""
    headers = [("Authorization", f"Bearer {kit.token(sub='alice')}"), ("Content-Type", "application/json")]
    assert call(live_server.url, "POST", URL, headers=headers, body=BODY).status == 201
    assert call(live_server.url, "GET", URL, headers=headers).status == 200


@pytest.mark.parametrize("name", ATTACKS)
def test_attack_is_refused_with_a_401(live_server, kit, settings, better_auth, attacker_server, name):
    attack = ATTACKS[name](kit)
    for setting, value in attack.settings.items():
        setattr(settings, setting, value)
    headers = [*attack.headers, ("Content-Type", "application/json")]
    for method, body in [("GET", None), ("POST", BODY)]:
        response = call(live_server.url, method, attack.path, headers=headers, body=body)
        if attack.header_limit_allowed and response.status == 431:
            continue
        assert response.status == 401, (method, response.status, response.body[:300])
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="api"')
        body = response.json()
        assert body["code"] == attack.code
        assert isinstance(body["detail"], str)
        assert body["detail"]
    assert Task.objects.count() == 0
    assert attacker_server.hits == 0
    assert better_auth.hits <= 1  # at most the one refresh an unknown kid may cause, from the configured URL
    if name.startswith("oversized"):
        assert better_auth.hits == 0  # refused before decoding
