"""Bearer tokens shaped like CLC's: HS256 JWTs with the claims CLC issued."""

import base64
import hashlib
import hmac
import json
import os
import threading
import time

ISSUER = "urn:api-tier3"
AUDIENCE = "urn:tier3-users"
CLOCK_SKEW = 60  # seconds of nbf tolerance, as JWT libraries allow


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    """Issues and verifies tokens signed with a secret private to one simulator."""

    def __init__(self, ttl=14 * 86400):
        self.ttl = ttl
        self._secret = os.urandom(32)
        self._lock = threading.Lock()
        self._issued = []
        self._revoked = set()

    def issue(self, username, account_alias, location_alias, roles=("ServerAdmin",)):
        now = int(time.time())
        claims = {
            "iss": ISSUER, "aud": AUDIENCE, "nbf": now, "exp": now + int(self.ttl),
            "role": list(roles), "unique_name": username,
            "urn:tier3:account-alias": account_alias,
            "urn:tier3:location-alias": location_alias,
        }
        token = self._sign(claims)
        with self._lock:
            self._issued.append(token)
            # A login within the same second as a revoked one yields the same token; it is fresh again.
            self._revoked.discard(token)
        return token

    def _sign(self, claims):
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = (header + "." + payload).encode("ascii")
        signature = hmac.new(self._secret, signing_input, hashlib.sha256).digest()
        return header + "." + payload + "." + _b64url(signature)

    def verify(self, token):
        """Claims of a valid token; None when forged, malformed, expired or revoked."""
        try:
            header, payload, signature = token.split(".")
            expected = hmac.new(self._secret, (header + "." + payload).encode("ascii"),
                                hashlib.sha256).digest()
            if not hmac.compare_digest(expected, _b64url_decode(signature)):
                return None
            claims = json.loads(_b64url_decode(payload))
        except (ValueError, UnicodeError):
            return None
        now = time.time()
        if not isinstance(claims, dict) or claims.get("exp", 0) <= now \
                or claims.get("nbf", 0) > now + CLOCK_SKEW:
            return None
        with self._lock:
            if token in self._revoked:
                return None
        return claims

    def expire_all(self):
        """Every token issued so far is refused from now on."""
        with self._lock:
            self._revoked.update(self._issued)

    def issued(self):
        with self._lock:
            return list(self._issued)
