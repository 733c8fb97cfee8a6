"""The consent form: its fields and purposes, the consent texts' version hash, and the manifest.

A submission record must prove which words the visitor saw (GDPR art. 7(1)), so the texts are
hashed into a version that travels with every submission and is written to the consent manifest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hubgen.config import Config, Consent

HONEYPOT = "website"  # a field people leave empty and simple bots fill in
OTHER_ROLE = "other"


@dataclass(frozen=True)
class Role:
    value: str
    label: str


@dataclass(frozen=True)
class FormView:
    """The consent form partial's context (see docs/themes.md)."""

    action: str
    backend: str
    item_id: str
    item_url: str
    language: str
    roles: tuple[Role, ...]
    consents: tuple[Consent, ...]
    privacy_url: str
    consent_version: str
    honeypot: str
    netlify_name: str | None
    unlock_url: str | None
    min_seconds: int
    role_property: str = "jobtitle"


def consent_words(messages: Mapping[str, str]) -> tuple[str, str]:
    """The withdrawal and processing lines the form shows (theme messages): both are part of
    what the visitor read, so both go into the consent version."""
    return messages.get("form_withdraw", ""), messages.get("form_processing", "")


def consent_texts(config: Config) -> list[dict[str, str]]:
    return [{"id": c.id, "text": c.text} for c in config.consents]


def consent_version(config: Config, withdrawal_text: str, processing_text: str = "") -> str:
    """A short hash of every word the form shows about consent, in the hub's language."""
    canonical = json.dumps(
        {"language": config.language, "purposes": consent_texts(config),
         "withdrawal": withdrawal_text, "processing": processing_text,
         "privacy_url": config.forms["privacy_url"]},
        ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def consent_manifest(config: Config, withdrawal_text: str,
                     processing_text: str = "") -> dict[str, Any]:
    """Written to /consent-manifest.json: lets any stored record be matched to the words shown."""
    version = consent_version(config, withdrawal_text, processing_text)
    return {
        "versions": {
            version: {
                "language": config.language,
                "privacy_url": config.forms["privacy_url"],
                "withdrawal": withdrawal_text,
                "processing": processing_text,
                "purposes": [{"id": c.id, "text": c.text, "required": c.required}
                             for c in config.consents],
            }
        }
    }


def form_action(config: Config) -> str:
    forms = config.forms
    backend = forms["backend"]
    if backend == "webhook":
        return str(forms["endpoint"])
    if backend == "hubspot":
        return (f"{str(forms['api_base']).rstrip('/')}/submissions/v3/integration/submit/"
                f"{forms['portal_id']}/{forms['form_guid']}")
    if backend == "netlify":
        return "/thanks/"
    return str(forms["collector_url"])


def form_view(config: Config, item_id: str, item_url: str, version: str,
              other_label: str, unlock_url: str | None, name: str | None = None) -> FormView:
    """The form for a gated item, or with item_id "" a plain sign-up (`name` tells forms apart
    where the backend needs it: Netlify)."""
    roles = (*(Role(p.key, p.label) for p in config.personas), Role(OTHER_ROLE, other_label))
    netlify = config.forms["backend"] == "netlify"
    return FormView(
        action=form_action(config),
        backend=config.forms["backend"],
        item_id=item_id,
        item_url=item_url,
        language=config.language,
        roles=roles,
        consents=config.consents,
        privacy_url=config.forms["privacy_url"],
        consent_version=version,
        honeypot=HONEYPOT,
        netlify_name=f"{config.forms['netlify_name']}-{(name or item_id).replace('/', '-')}"
        if netlify else None,
        unlock_url=unlock_url,
        min_seconds=config.forms["min_seconds"],
        role_property=config.forms["role_property"],
    )
