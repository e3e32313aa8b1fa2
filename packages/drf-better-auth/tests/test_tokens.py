"""The verifier built from settings: algorithms, claims, key choice, the JWKS cache and the memory of tokens."""

import base64
import json
import threading
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from drf_better_auth import conf, tokens
from drf_better_auth.conf import verify
from drf_better_auth.signals import jwks_fetched
from drf_better_auth.testing import ALGORITHMS as ASYMMETRIC
from drf_better_auth.testing import SigningKey, generate_private_key

from tests.conftest import SECRET


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict, payload: dict, signature: str = "") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}.{signature}"


@pytest.mark.parametrize("alg", ["HS256", *ASYMMETRIC])
def test_valid_token_gives_its_claims(make_token, alg):
    claims = verify(make_token(sub="alice", alg=alg, email="a@example.com"))
    assert claims["sub"] == "alice"
    assert claims["email"] == "a@example.com"


def test_better_auth_shaped_token_is_accepted_without_issuer_or_audience_settings(make_token):
    token = make_token(
        sub="x" * 32, iss="http://localhost:3000", aud="http://localhost:3000", name="Ann", emailVerified=False
    )
    assert verify(token)["sub"] == "x" * 32


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"exp": int(time.time()) - 60}, "expired"),
        ({"exp": None}, "exp"),
        ({"nbf": int(time.time()) + 86400}, "not yet valid"),
        ({"iat": int(time.time()) + 86400}, "not yet valid"),
        ({"iat": "yesterday"}, "Issued At"),
        ({"exp": "9999999999"}, "exp is not a number"),
        ({"nbf": "1"}, "nbf is not a number"),
        ({"iat": str(int(time.time()))}, "iat is not a number"),
    ],
)
def test_time_claims_are_enforced(make_token, claims, message):
    with pytest.raises(tokens.TokenError, match=message):
        verify(make_token(sub="alice", **claims))


def test_expired_token_is_its_own_error(make_token):
    with pytest.raises(tokens.TokenExpired):
        verify(make_token(sub="alice", exp=int(time.time()) - 60))


def test_leeway_accepts_a_token_just_expired(make_token, settings):
    settings.BETTER_AUTH_LEEWAY = 30
    assert verify(make_token(sub="alice", exp=int(time.time()) - 10))["sub"] == "alice"


@pytest.mark.parametrize("sub", [None, "", "   ", 42, ["alice"], "a" * 256, "ali\x00ce", "ali\nce", "\x7f"])
def test_sub_must_be_a_plain_user_id(make_token, sub):
    with pytest.raises(tokens.TokenInvalid):
        verify(make_token(sub=sub))


def test_sub_of_255_characters_is_accepted(make_token):
    assert verify(make_token(sub="a" * 255))["sub"] == "a" * 255


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "HS384", "HS512", "RS384", "ES384", "", None, 5, ["HS256"]])
def test_unaccepted_algorithms_are_refused(alg):
    token = unsigned({"alg": alg, "typ": "JWT"}, {"sub": "alice", "exp": int(time.time()) + 60})
    with pytest.raises(tokens.TokenInvalid):
        verify(token)


@pytest.mark.parametrize("alg", ASYMMETRIC)
def test_hs256_signed_with_the_public_key_is_refused(signing_keys, alg):
    """Algorithm confusion (RFC 8725, 2.1): the public key is public, so it must never verify an HMAC."""
    public_pem = (
        signing_keys[alg]
        .private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    signing_input = unsigned({"alg": "HS256", "kid": signing_keys[alg].kid}, {"sub": "mallory", "exp": 2**31})[:-1]
    signature = jwt.get_algorithm_by_name("HS256").sign(signing_input.encode(), public_pem)
    token = f"{signing_input}.{b64(signature)}"
    with pytest.raises(tokens.TokenInvalid, match="Signature verification failed"):
        verify(token)


def test_hs256_is_refused_when_no_secret_is_configured(make_token, settings):
    token = make_token(sub="alice", alg="HS256")
    settings.BETTER_AUTH_SECRET = None
    with pytest.raises(tokens.TokenInvalid, match="BETTER_AUTH_SECRET"):
        verify(token)


def test_hs256_kid_is_ignored(make_token, better_auth):
    token = make_token(sub="alice", alg="HS256", headers={"kid": "kid-eddsa"})
    assert verify(token)["sub"] == "alice"
    assert better_auth.hits == 0


@pytest.mark.parametrize("alg", ["HS256", *ASYMMETRIC])
def test_wrong_key_is_refused(make_token, alg):
    wrong = "another-secret-that-is-long-enough!!" if alg == "HS256" else generate_private_key(alg)
    with pytest.raises(tokens.TokenInvalid, match="Signature verification failed"):
        verify(make_token(sub="alice", alg=alg, key=wrong))


def test_altered_payload_is_refused(make_token):
    header, _, signature = make_token(sub="alice").split(".")
    forged = b64(json.dumps({"sub": "bob", "exp": int(time.time()) + 60}).encode())
    with pytest.raises(tokens.TokenInvalid):
        verify(f"{header}.{forged}.{signature}")


@pytest.mark.parametrize("mangle", [lambda t: t.rsplit(".", 1)[0] + ".", lambda t: t[:-4], lambda t: t[:20]])
def test_stripped_or_truncated_token_is_refused(make_token, mangle):
    with pytest.raises(tokens.TokenInvalid):
        verify(mangle(make_token(sub="alice")))


@pytest.mark.parametrize(
    "token", ["garbage", "a.b.c", "!!!.???.###", "e30.e30.", unsigned({"alg": "EdDSA"}, ["not", "an", "object"])]
)
def test_garbage_is_refused(token):
    with pytest.raises(tokens.TokenInvalid):
        verify(token)


def test_oversized_token_is_refused_before_decoding(make_token, better_auth):
    token = make_token(sub="alice", padding="x" * 9000)
    with pytest.raises(tokens.TokenInvalid, match="longer than 8192"):
        verify(token)
    assert better_auth.hits == 0


@pytest.mark.parametrize("kid", ["../../etc/passwd", "' OR 1=1 --", "kid-unknown", "", "k" * 5000])
def test_unknown_kid_is_refused(make_token, kid):
    with pytest.raises(tokens.TokenInvalid):
        verify(make_token(sub="alice", headers={"kid": kid}))


@pytest.mark.parametrize("kid", [None, 7, ["kid-eddsa"], {"kid": "kid-eddsa"}])
def test_non_string_kid_is_refused(kid):
    token = unsigned({"alg": "EdDSA", "kid": kid}, {"sub": "alice", "exp": int(time.time()) + 60}, "c2ln")
    with pytest.raises(tokens.TokenInvalid):
        verify(token)


@pytest.mark.parametrize("field", ["jku", "x5u"])
def test_key_url_headers_are_never_fetched(make_token, better_auth, field):
    token = make_token(sub="alice", headers={field: better_auth.url + "?attacker", "kid": "kid-unknown"})
    with pytest.raises(tokens.TokenInvalid):
        verify(token)
    assert better_auth.hits == 1  # the one JWKS refresh on an unknown kid, from the configured URL only


def test_embedded_jwk_header_is_ignored(make_token, signing_keys):
    attacker = generate_private_key("EdDSA")
    own_jwk = SigningKey("EdDSA", "kid-eddsa", attacker).jwk
    token = make_token(sub="alice", key=attacker, headers={"jwk": own_jwk})
    with pytest.raises(tokens.TokenInvalid, match="Signature verification failed"):
        verify(token)


def test_key_of_another_family_is_never_used(make_token, signing_keys):
    token = make_token(sub="alice", alg="ES256", headers={"kid": signing_keys["RS256"].kid})
    with pytest.raises(tokens.TokenInvalid, match="is not a ES256 key"):
        verify(token)


def test_es256_token_is_not_checked_with_a_p521_key(make_token, signing_keys):
    token = make_token(sub="alice", alg="ES256", headers={"kid": signing_keys["ES512"].kid})
    with pytest.raises(tokens.TokenInvalid):
        verify(token)


def test_symmetric_and_encryption_keys_in_the_jwks_are_never_used(make_token, better_auth, signing_keys):
    oct_key = {"kty": "oct", "kid": "kid-oct", "k": b64(SECRET.encode()), "alg": "HS256"}
    enc_key = {**signing_keys["RS256"].jwk, "kid": "kid-enc", "use": "enc"}
    better_auth.keys += [oct_key, enc_key]
    for kid in ["kid-oct", "kid-enc"]:
        token = make_token(sub="alice", alg="RS256", headers={"kid": kid})
        with pytest.raises(tokens.TokenInvalid, match="unknown kid"):
            verify(token)
    assert set(tokens.parse_jwks({"keys": better_auth.keys})) == {key.kid for key in signing_keys.values()}


@pytest.mark.parametrize("document", [None, [], {"keys": "x"}, {"keys": [1, None, {"kty": "OKP", "kid": "k"}]}])
def test_malformed_jwks_documents_give_no_keys(document):
    assert tokens.parse_jwks(document) == {}


def test_issuer_and_audience_are_checked_when_configured(make_token, settings):
    settings.BETTER_AUTH_ISSUER = "https://auth.example.com"
    settings.BETTER_AUTH_AUDIENCE = ["https://auth.example.com"]
    good = make_token(sub="alice", iss="https://auth.example.com", aud="https://auth.example.com")
    assert verify(good)["sub"] == "alice"
    for claims in [
        {"iss": "https://evil.example.com", "aud": "https://auth.example.com"},
        {"iss": "https://auth.example.com", "aud": "https://evil.example.com"},
        {"aud": "https://auth.example.com"},
        {"iss": "https://auth.example.com"},
    ]:
        with pytest.raises(tokens.TokenInvalid):
            verify(make_token(sub="alice", **claims))


class TestJWKSCache:
    def test_keys_are_fetched_once_and_cached(self, make_token, better_auth):
        for alg in ASYMMETRIC:
            verify(make_token(sub="alice", alg=alg))
        assert better_auth.hits == 1

    def test_unknown_kids_refresh_at_most_once_per_cooldown(self, make_token, better_auth):
        for n in range(50):
            with pytest.raises(tokens.TokenInvalid):
                verify(make_token(sub="alice", headers={"kid": f"made-up-{n}"}))
        assert better_auth.hits == 1

    def test_a_rotated_in_key_is_accepted_after_the_cooldown(self, make_token, better_auth, settings):
        settings.BETTER_AUTH_JWKS_COOLDOWN = 0.2
        verify(make_token(sub="alice"))
        new_key = SigningKey("EdDSA", "kid-rotated", generate_private_key("EdDSA"))
        better_auth.keys = [new_key.jwk]
        token = make_token(sub="alice", key=new_key.private, headers={"kid": "kid-rotated"})
        time.sleep(0.25)
        assert verify(token)["sub"] == "alice"
        assert better_auth.hits == 2

    def test_a_key_withdrawn_from_the_jwks_is_dropped_on_refresh(self, make_token, better_auth, settings, signing_keys):
        settings.BETTER_AUTH_JWKS_COOLDOWN = 0
        verify(make_token(sub="alice", alg="ES256"))
        better_auth.keys = [signing_keys["EdDSA"].jwk]
        with pytest.raises(tokens.TokenInvalid):
            verify(make_token(sub="alice", headers={"kid": "trigger-refresh"}))
        with pytest.raises(tokens.TokenInvalid, match="unknown kid"):
            verify(make_token(sub="alice", alg="ES256"))

    def test_cached_keys_keep_working_while_better_auth_is_down(self, make_token, better_auth, settings):
        settings.BETTER_AUTH_JWKS_COOLDOWN = 0
        verify(make_token(sub="alice"))
        better_auth.failing = True
        with pytest.raises(tokens.KeysUnavailable):
            verify(make_token(sub="alice", headers={"kid": "kid-new"}))
        assert verify(make_token(sub="alice"))["sub"] == "alice"

    def test_unfetchable_key_is_unavailable_then_invalid_once_the_jwks_answers(self, make_token, better_auth, settings):
        settings.BETTER_AUTH_JWKS_COOLDOWN = 0
        better_auth.failing = True
        with pytest.raises(tokens.KeysUnavailable):
            verify(make_token(sub="alice"))
        better_auth.failing = False
        assert verify(make_token(sub="alice"))["sub"] == "alice"
        with pytest.raises(tokens.TokenInvalid, match="unknown kid"):
            verify(make_token(sub="alice", headers={"kid": "kid-new"}))

    def test_unreachable_jwks_url_is_unavailable(self, make_token, settings):
        settings.BETTER_AUTH_JWKS_URL = "http://127.0.0.1:9/api/auth/jwks"
        with pytest.raises(tokens.KeysUnavailable):
            verify(make_token(sub="alice"))

    def test_failed_fetch_is_not_retried_within_the_cooldown(self, make_token, better_auth):
        better_auth.failing = True
        for _ in range(20):
            with pytest.raises(tokens.KeysUnavailable):
                verify(make_token(sub="alice"))
        assert better_auth.hits == 1


class TestJWKSMaxAge:
    """The JWKS is fetched again once BETTER_AUTH_JWKS_MAX_AGE old; a failed fetch keeps the keys (stale-if-error)."""

    @pytest.fixture(autouse=True)
    def short_ages(self, settings):
        settings.BETTER_AUTH_JWKS_MAX_AGE = 0.3
        settings.BETTER_AUTH_JWKS_COOLDOWN = 0.2

    def test_keys_are_fetched_again_only_once_max_age_old(self, make_token, better_auth):
        token = make_token(sub="alice")
        verify(token)
        verify(make_token(sub="bob"))
        assert better_auth.hits == 1
        time.sleep(0.35)
        assert verify(token)["sub"] == "alice"
        assert better_auth.hits == 2

    @pytest.mark.parametrize("remembered", [True, False], ids=["remembered token", "new token"])
    def test_a_withdrawn_key_stops_working_within_max_age_without_any_unknown_kid(
        self, make_token, better_auth, signing_keys, remembered
    ):
        token = make_token(sub="alice", alg="ES256")
        assert verify(token if remembered else make_token(sub="bob", alg="ES256"))
        better_auth.keys = [signing_keys["EdDSA"].jwk]
        time.sleep(0.35)
        with pytest.raises(tokens.TokenInvalid, match="unknown kid"):
            verify(token)

    def test_a_failed_fetch_keeps_the_keys_and_is_retried_after_the_cooldown(self, make_token, better_auth):
        token = make_token(sub="alice")
        verify(token)
        better_auth.failing = True
        time.sleep(0.35)
        for _ in range(5):
            assert verify(token)["sub"] == "alice"
            assert verify(make_token(sub="bob"))["sub"] == "bob"
        assert better_auth.hits == 2
        time.sleep(0.25)
        assert verify(token)["sub"] == "alice"
        assert better_auth.hits == 3
        better_auth.failing = False
        time.sleep(0.25)
        verify(token)
        assert better_auth.hits == 4

    def test_each_fetch_sends_its_outcome(self, make_token, better_auth):
        outcomes = []

        def record(sender, *, url, error, **kwargs):
            outcomes.append((url, type(error).__name__ if error else None))

        jwks_fetched.connect(record)
        try:
            verify(make_token(sub="alice"))
            better_auth.failing = True
            time.sleep(0.35)
            verify(make_token(sub="alice"))
        finally:
            jwks_fetched.disconnect(record)
        assert outcomes == [(better_auth.url, None), (better_auth.url, "HTTPError")]


class TestRememberedTokens:
    """A verified token is remembered per process; memory never accepts what a fresh check would refuse."""

    @pytest.fixture
    def decodes(self, monkeypatch):
        calls = []
        decode = jwt.decode
        monkeypatch.setattr(tokens.jwt, "decode", lambda *args, **kwargs: calls.append(1) or decode(*args, **kwargs))
        return calls

    @pytest.mark.parametrize("alg", ["HS256", *ASYMMETRIC])
    def test_a_token_is_checked_once(self, make_token, decodes, alg):
        token = make_token(sub="alice", alg=alg)
        assert [verify(token)["sub"] for _ in range(3)] == ["alice"] * 3
        assert len(decodes) == 1

    def test_callers_get_their_own_claims(self, make_token):
        token = make_token(sub="alice")
        verify(token)["sub"] = "bob"
        assert verify(token)["sub"] == "alice"

    def test_a_remembered_token_still_expires(self, make_token, settings):
        settings.BETTER_AUTH_LEEWAY = 0
        token = make_token(sub="alice", exp=int(time.time()) + 1)
        assert verify(token)["sub"] == "alice"
        time.sleep(max(0.0, int(time.time()) + 1.05 - time.time()))
        with pytest.raises(tokens.TokenExpired):
            verify(token)

    def test_a_remembered_token_is_refused_once_its_key_is_withdrawn(
        self, make_token, better_auth, settings, signing_keys
    ):
        settings.BETTER_AUTH_JWKS_COOLDOWN = 0
        token = make_token(sub="alice", alg="ES256")
        verify(token)
        better_auth.keys = [signing_keys["EdDSA"].jwk]
        with pytest.raises(tokens.TokenInvalid):
            verify(make_token(sub="alice", headers={"kid": "trigger-refresh"}))
        with pytest.raises(tokens.TokenInvalid, match="unknown kid"):
            verify(token)

    def test_a_remembered_hs256_token_is_refused_once_the_secret_changes(self, make_token, settings):
        token = make_token(sub="alice", alg="HS256")
        verify(token)
        settings.BETTER_AUTH_SECRET = "another-shared-secret-of-32-bytes-or-more"
        with pytest.raises(tokens.TokenInvalid):
            verify(token)

    def test_memory_is_bounded(self, make_token, monkeypatch):
        monkeypatch.setattr(tokens.Verifier, "max_remembered", 5)
        for n in range(12):
            verify(make_token(sub=f"user-{n}", alg="HS256"))
        assert len(conf.get_verifier()._verified) == 5


class TestRememberedTokensUnderThreads:
    """Two threads interleaved at the exact point where the memory used to go wrong (events, not luck)."""

    def test_a_key_withdrawn_while_a_token_is_being_verified_is_not_remembered_as_valid(
        self, make_token, better_auth, settings, signing_keys, monkeypatch
    ):
        settings.BETTER_AUTH_JWKS_COOLDOWN = 0
        token = make_token(sub="alice", alg="ES256")
        decoding, refreshed = threading.Event(), threading.Event()
        decode = jwt.decode

        def decode_then_wait(*args, **kwargs):
            claims = decode(*args, **kwargs)
            decoding.set()
            assert refreshed.wait(5)
            return claims

        def withdraw_the_key():
            assert decoding.wait(5)
            better_auth.keys = [signing_keys["EdDSA"].jwk]
            with pytest.raises(tokens.TokenInvalid):
                verify(make_token(sub="alice", headers={"kid": "trigger-refresh"}))
            refreshed.set()

        monkeypatch.setattr(tokens.jwt, "decode", decode_then_wait)
        other = threading.Thread(target=withdraw_the_key)
        other.start()
        assert verify(token)["sub"] == "alice"  # verified before the key went: this request may pass
        other.join(5)
        monkeypatch.setattr(tokens.jwt, "decode", decode)
        with pytest.raises(tokens.TokenInvalid, match="unknown kid"):
            verify(token)

    def test_forgetting_a_token_while_another_thread_evicts_it_is_no_error(self, make_token, monkeypatch):
        monkeypatch.setattr(tokens.Verifier, "max_remembered", 1)
        verifier = conf.get_verifier()
        verifier.leeway = 3600
        old = make_token(sub="alice", alg="HS256", exp=int(time.time()) - 60)
        verifier.verify(old)  # remembered; expired once the leeway is back to 0
        verifier.leeway = 0
        chosen, forgotten = threading.Event(), threading.Event()

        class PausingMemory(dict):
            """Pauses the evicting thread right after it picked the oldest token, so the other thread runs."""

            def __iter__(self):
                oldest = next(super().__iter__())
                chosen.set()
                forgotten.wait(1)  # with a lock around both, the other thread cannot run here: no deadlock
                return iter([oldest])

        verifier._verified = PausingMemory(verifier._verified)
        errors = []

        def verify_the_expired_token():
            assert chosen.wait(5)
            with pytest.raises(tokens.TokenExpired):
                verifier.verify(old)
            forgotten.set()

        def collect(target):
            try:
                target()
            except BaseException as exc:  # noqa: BLE001 (reported by the assertion below)
                errors.append(exc)

        other = threading.Thread(target=collect, args=(verify_the_expired_token,))
        other.start()
        collect(lambda: verifier.verify(make_token(sub="bob", alg="HS256")))
        other.join(5)
        assert errors == []
        assert verifier.verify(make_token(sub="carol", alg="HS256"))["sub"] == "carol"
