"""Signals a project can connect to (for metrics or alerts), sent by the verifier `conf.get_verifier()` builds."""

from django.dispatch import Signal

# After every fetch of the JWKS, with `url` and `error` (None when the fetch succeeded); sender: the Verifier class.
jwks_fetched = Signal()
