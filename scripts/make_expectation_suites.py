"""Writes expectations/<source>.json, the Great Expectations suite of each landing source.

The JSON files are the committed source of truth that the loader validates every incoming
batch with; this script is how they were written (re-run it after changing a rule here:
`.venv/bin/pip install pycountry && .venv/bin/python scripts/make_expectation_suites.py`).

Parameters (`{"$PARAMETER": name}`) are filled at validation time from what the warehouse
already knows: registry ids already loaded (plus those in the same batch), IANA time zones.
"""

import json
from pathlib import Path

import pycountry

OUT = Path(__file__).resolve().parents[1] / "expectations"
# Plausibility limits, each declared once here; the importer reads them back from the written
# suites (orchestration.check.expectations.column_range).
KWH_MAX = 500  # kWh of one session or CDR
PRICE_MAX = 10000  # price / cost (excl. VAT) of one session or CDR
# Current ISO 4217 codes, plus withdrawn ones that still appear in the ECB's history file
# (a landing FX file is the whole ECB history, so its columns include retired currencies).
ECB_WITHDRAWN = ["BGN", "CYP", "EEK", "HRK", "LTL", "LVL", "MTL", "ROL", "SIT", "SKK", "TRL"]
CURRENCIES = sorted({c.alpha_3 for c in pycountry.currencies} | set(ECB_WITHDRAWN))
COUNTRIES2 = sorted(c.alpha_2 for c in pycountry.countries)
COUNTRIES3 = sorted(c.alpha_3 for c in pycountry.countries)
OCPP_STOP_REASONS = [
    "DeAuthorized",
    "EmergencyStop",
    "EVDisconnected",
    "HardReset",
    "Local",
    "Other",
    "PowerLoss",
    "Reboot",
    "Remote",
    "SoftReset",
    "UnlockCommand",
]


def e(type_: str, why: str, **kwargs) -> dict:
    return {"type": type_, "kwargs": kwargs, "meta": {"why": why}}


def not_null(col):
    return e("expect_column_values_to_not_be_null", f"{col} is part of the key / required", column=col)


def unique(*cols):
    why = "one record per key and version (identical re-sends are skipped before this check)"
    if len(cols) == 1:
        return e("expect_column_values_to_be_unique", why, column=cols[0])
    return e("expect_compound_columns_to_be_unique", why, column_list=list(cols))


def in_set(col, values, why, **kw):
    return e("expect_column_values_to_be_in_set", why, column=col, value_set=values, **kw)


def known(col, param, why):
    return e("expect_column_values_to_be_in_set", why, column=col, value_set={"$PARAMETER": param})


def between(col, lo, hi, why, **kw):
    return e("expect_column_values_to_be_between", why, column=col, min_value=lo, max_value=hi, **kw)


def ordered(later, earlier, why):
    return e(
        "expect_column_pair_values_a_to_be_greater_than_b",
        why,
        column_A=later,
        column_B=earlier,
        or_equal=True,
        ignore_row_if="either_value_is_missing",
    )


def when(condition: str) -> dict:
    return {"row_condition": condition, "condition_parser": "pandas"}


def currency(col="currency"):
    return in_set(col, CURRENCIES, "ISO 4217 currency code")


SUITES = {
    "operators": [
        not_null("operator_id"),
        unique("operator_id", "updated_at"),
        in_set("country_code", COUNTRIES2, "ISO 3166-1 alpha-2 country"),
        currency(),
    ],
    "teams": [
        not_null("team_id"),
        unique("team_id", "updated_at"),
        known("operator_id", "known_operator_ids", "the team's operator is in the operator registry"),
    ],
    "sites": [
        not_null("site_id"),
        unique("site_id", "updated_at"),
        in_set("country_code", COUNTRIES2, "ISO 3166-1 alpha-2 country"),
        known("time_zone", "iana_time_zones", "an IANA time zone the engine knows"),
        between("latitude", -90, 90, "WGS84 latitude"),
        between("longitude", -180, 180, "WGS84 longitude"),
        known("operator_id", "known_operator_ids", "the site's operator is in the operator registry"),
    ],
    "charge_points": [
        not_null("charge_point_id"),
        unique("charge_point_id", "updated_at"),
        in_set("charging_type", ["AC", "DC"], "AC or DC"),
        in_set("access", ["public", "private"], "public or private"),
        between("max_power_kw", 1.4, 44, "AC charge points deliver 1.4-44 kW", **when('charging_type=="AC"')),
        between("max_power_kw", 20, 1000, "DC charge points deliver 20-1000 kW", **when('charging_type=="DC"')),
        between("connector_count", 1, 16, "a charge point has 1-16 connectors"),
        ordered("decommissioned_at", "commissioned_at", "decommissioned after commissioned"),
        known("site_id", "known_site_ids", "the charge point's site is in the site registry"),
        known("operator_id", "known_operator_ids", "the charge point's operator is in the operator registry"),
    ],
    "sessions": [
        not_null("session_id"),
        unique("session_id", "updated_at"),
        in_set("state", ["in_progress", "completed", "failed"], "session states"),
        ordered("charging_started_at", "plugged_in_at", "charging starts after plug-in"),
        ordered("charging_ended_at", "charging_started_at", "charging ends after it starts"),
        ordered("unplugged_at", "plugged_in_at", "unplug after plug-in"),
        ordered("unplugged_at", "charging_ended_at", "unplug after charging ends"),
        between("kwh", 0, KWH_MAX, "plausible energy of one session (kWh)"),
        between("connector_id", 0, 16, "OCPP connector number"),
        ordered("price_incl_vat", "price_excl_vat", "VAT is not negative"),
        between("price_excl_vat", 0, PRICE_MAX, "plausible price of one session"),
        currency(),
        in_set("stop_reason", OCPP_STOP_REASONS, "OCPP 1.6 stop Reason"),
        e(
            "expect_column_values_to_not_be_null",
            "a finished session has an unplug time",
            column="unplugged_at",
            **when('state!="in_progress"'),
        ),
        known("charge_point_id", "known_charge_point_ids", "the session's charge point is in the registry"),
    ],
    "cdrs": [
        not_null("id"),
        unique("country_code", "party_id", "id"),
        ordered("end_date_time", "start_date_time", "a CDR ends after it starts"),
        currency(),
        in_set("location_country", COUNTRIES3, "OCPI location country is ISO 3166-1 alpha-3"),
        between(
            "total_energy", 0, KWH_MAX, "energy of a CDR (kWh), not negative unless credit", **when("credit!=True")
        ),
        # OCPI 2.2.1 repeats the cancelled CDR's (positive) energy in a credit CDR; some platforms
        # negate it: both are accepted (DESIGN.md section 4), the marts net -|total_energy|
        between(
            "total_energy",
            -KWH_MAX,
            KWH_MAX,
            "a credit CDR repeats the energy it cancels, either sign",
            **when("credit==True"),
        ),
        between("total_cost_excl_vat", 0, PRICE_MAX, "cost not negative unless credit", **when("credit!=True")),
        between("total_cost_excl_vat", -PRICE_MAX, 0, "a credit CDR carries a negative cost", **when("credit==True")),
        e(
            "expect_column_values_to_not_be_null",
            "a credit CDR names the CDR it cancels",
            column="credit_reference_id",
            **when("credit==True"),
        ),
        e(
            "expect_column_values_to_be_null",
            "only credit CDRs reference another CDR",
            column="credit_reference_id",
            **when("credit!=True"),
        ),
        known("credit_reference_id", "known_cdr_ids", "a credit CDR cancels a CDR we sent"),
        between("latitude", -90, 90, "WGS84 latitude"),
        between("longitude", -180, 180, "WGS84 longitude"),
        known("evse_uid", "known_charge_point_ids", "the CDR's EVSE is a charge point in the registry"),
        known("location_id", "known_site_ids", "the CDR's location is a site in the registry"),
    ],
    "ocpp": [
        not_null("message_id"),
        unique("charge_point_id", "received_at", "message_id"),
        # Payload values (errorCode, status, ...) are checked against the OCPP 1.6 JSON schemas by
        # the loader itself (orchestration/load/validate.py), not repeated here.
        known("charge_point_id", "known_charge_point_ids", "the sender is a charge point in the registry"),
    ],
    "ratings": [
        not_null("rating_id"),
        unique("rating_id"),
        between("stars", 1, 5, "1 to 5 stars"),
        known("charge_point_id", "known_charge_point_ids", "the rated charge point is in the registry"),
    ],
    "invoices": [
        not_null("invoice_id"),
        unique("invoice_id", "updated_at"),
        in_set("status", ["paid", "settled", "unpaid"], "invoice status"),
        in_set("customer_type", ["team", "operator"], "customer type"),
        ordered("due_at", "issued_at", "due after issued"),
        ordered("period_to", "period_from", "a period ends after it starts"),
        currency(),
        between("payable_amount", -1_000_000, 10_000_000, "plausible invoice amount"),
        known("operator_id", "known_operator_ids", "the issuing operator is in the registry"),
    ],
    "wallets": [
        not_null("wallet_id"),
        unique("wallet_id", "updated_at"),
        in_set("owner_type", ["team", "operator"], "owner type"),
        currency(),
    ],
    "ledger": [
        not_null("entry_id"),
        unique("entry_id"),
        in_set(
            "kind",
            ["charge", "fee", "subscription", "write_off", "intercompany_transfer", "tax_refund"],
            "ledger entry kinds",
        ),
        currency(),
        between("amount", -1_000_000, 1_000_000, "plausible booked amount"),
        e(
            "expect_column_values_to_not_be_null",
            "a subscription entry names its plan",
            column="plan_id",
            **when('kind=="subscription"'),
        ),
        known("operator_id", "known_operator_ids", "the operator is in the registry"),
    ],
    "plans": [
        not_null("plan_id"),
        unique("plan_id", "updated_at"),
        in_set("billing_period", ["month", "year"], "billing period"),
        between("price", 0, 100_000, "plan price not negative"),
        currency(),
    ],
    "subscriptions": [
        not_null("subscription_id"),
        unique("subscription_id", "updated_at"),
        ordered("ended_at", "started_at", "a subscription ends after it starts"),
        known("plan_id", "known_plan_ids", "the plan is in the plan registry"),
        known("team_id", "known_team_ids", "the team is in the team registry"),
    ],
    "fx_rates": [
        not_null("rate_date"),
        unique("rate_date", "currency"),
        currency(),
        # no upper bound: real rates reach 1.9 million units per euro (TRL before 2005)
        e(
            "expect_column_values_to_be_between",
            "a positive rate (units per EUR)",
            column="rate",
            min_value=0,
            strict_min=True,
        ),
    ],
}


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for source, expectations in SUITES.items():
        suite = {
            "name": f"landing_{source}",
            "expectations": expectations,
            "meta": {"source": source, "generated_by": "scripts/make_expectation_suites.py"},
        }
        (OUT / f"{source}.json").write_text(json.dumps(suite, indent=2) + "\n")
        print(f"expectations/{source}.json: {len(expectations)} expectations")


if __name__ == "__main__":
    main()
