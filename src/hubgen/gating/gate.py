"""Who may read what: gate resolution and unlock tokens.

The public page of a gated item carries its teaser only; the full body and the download live at
`/unlocked/<token>/<slug>/`, where the token is an HMAC of the item's id, stable across builds and
not derivable from anything public.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hubgen.errors import Problems

if TYPE_CHECKING:
    from hubgen.config import Config
    from hubgen.model import Access, Item

# Used when no secret is set: in soft mode (the public page reveals the address anyway) and with
# `--dev`. It is public by definition, so a strict-mode production build refuses it.
DEV_SECRET = "hubgen-development-secret-not-for-production"
MIN_SECRET_BYTES = 32


def resolve_access(
    access: str | None, phases: Sequence[str], type_: str, config: Config
) -> Access:
    """The item's own `access` wins; then by_type, then by_phase (any gated phase); then default."""
    if access in ("open", "gated"):
        return access  # type: ignore[return-value]
    by_type = config.gating["by_type"]
    if type_ in by_type:
        return by_type[type_]  # type: ignore[no-any-return]
    by_phase = config.gating["by_phase"]
    decided = [by_phase[p] for p in phases if p in by_phase]
    if decided:
        return "gated" if "gated" in decided else "open"
    return config.gating["default"]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Gate:
    """The build's unlock secret and mode."""

    mode: str
    secret: str
    dev: bool  # True when the secret is the public development one

    def token(self, item: Item) -> str:
        digest = hmac.new(self.secret.encode(), item.id.encode(), hashlib.sha256).hexdigest()
        return digest[:32]

    def unlocked_url(self, item: Item) -> str:
        return f"/unlocked/{self.token(item)}/{item.slug}/"


def make_gate(config: Config, problems: Problems, dev: bool = False) -> Gate:
    """Read the secret from the environment; strict mode without one is an error unless --dev."""
    mode = config.gating["mode"]
    env = config.gating["secret_env"]
    secret = os.environ.get(env, "")
    if secret and mode == "strict" and len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
        # An unlock address is an HMAC of a public item id: a short secret is found from one
        # address by trying every short text, in well under a second.
        problems.error(config.root / "hub.toml",
                       f"${env} is {len(secret.encode('utf-8'))} bytes; strict gating needs a "
                       f"secret of at least {MIN_SECRET_BYTES} bytes",
                       hint=f"make one with: python -c \"import secrets; "
                       f"print(secrets.token_urlsafe(32))\" and store it as {env}")
        return Gate(mode, DEV_SECRET, dev=True)
    if secret:
        return Gate(mode, secret, dev=False)
    if mode == "strict" and not dev:
        problems.error(config.root / "hub.toml",
                       f"gating mode is strict but ${env} is not set",
                       hint=f"export {env}=<a long random text> (keep it in CI's secrets), "
                       "or pass --dev for a local build with a public development secret")
    return Gate(mode, DEV_SECRET, dev=True)
