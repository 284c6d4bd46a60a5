"""Demo landing-zone generator: `generate(out, seed, sessions, start, end)` writes all landing
sources of DESIGN.md section 4 (registries, sessions, CDRs, OCPP, ledger, invoices, wallets,
plans, subscriptions, ratings, ECB FX rates) with realistic, deterministic data."""

from .core import generate

__all__ = ["generate"]
