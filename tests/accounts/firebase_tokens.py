"""Firebase ID tokens as the Auth emulator issues them: unsigned (alg "none"), otherwise shaped like real ones.

firebase-admin accepts these only while FIREBASE_AUTH_EMULATOR_HOST is set (see the `firebase_emulator` fixture);
then it checks the audience, the issuer and the subject, and our code checks the times.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

PROJECT_ID = "kmeme-test"
_DROP = object()


def b64url(data: Any) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned_jwt(payload: Any, header: dict[str, Any] | None = None) -> str:
    return f"{b64url(header or {'alg': 'none', 'typ': 'JWT'})}.{b64url(payload)}."


def id_token_claims(
    *,
    uid: str = "firebase-uid-1",
    email: str | None = "mina@example.com",
    email_verified: bool = True,
    name: str | None = "Mina",
    project_id: str = PROJECT_ID,
    issued_ago: int = 60,
    lifetime: int = 3600,
    **overrides: Any,
) -> dict[str, Any]:
    """The claims of an ID token; an override of `DROP` removes that claim."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": f"https://securetoken.google.com/{project_id}",
        "aud": project_id,
        "auth_time": now - issued_ago,
        "user_id": uid,
        "sub": uid,
        "iat": now - issued_ago,
        "exp": now - issued_ago + lifetime,
        "email_verified": email_verified,
        "firebase": {"identities": {"google.com": ["1234567890"]}, "sign_in_provider": "google.com"},
    }
    if email is not None:
        claims["email"] = email
        claims["firebase"]["identities"]["email"] = [email]
    if name is not None:
        claims["name"] = name
    for key, value in overrides.items():
        if value is _DROP:
            claims.pop(key, None)
        else:
            claims[key] = value
    return claims


def id_token(**kwargs: Any) -> str:
    return unsigned_jwt(id_token_claims(**kwargs))


DROP = _DROP
