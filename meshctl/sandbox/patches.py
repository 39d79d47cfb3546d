"""Patches to moto's backends that restore AWS behaviour meshctl relies on (see each patch)."""

from __future__ import annotations


def apply_patches() -> None:
    """Apply every patch once; idempotent. (Filled in by the sandbox work.)"""
