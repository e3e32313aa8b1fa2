"""Django REST framework authentication by Better Auth JWTs (keys from its JWKS, or the shared secret)."""

__version__ = "0.1.0"
