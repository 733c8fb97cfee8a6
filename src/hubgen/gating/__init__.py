"""Gating: who may read what (gate: access, unlock tokens) and the consent form (forms)."""
