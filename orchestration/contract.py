"""The landing-zone contract (DESIGN.md section 4) as data.

One `Source` per landing folder: its format, its fields with their warehouse types, enums and
required-ness and its key. The loader, the raw-table DDL, the dbt sources
and the demo generator all read this module, so the contract is written down exactly once.

Field types (warehouse type in brackets):
    str    VARCHAR              int    BIGINT             float  DOUBLE
    money  DECIMAL(18,4)        bool   BOOLEAN            ts     TIMESTAMP (UTC, naive)
    date   DATE                 json   JSON
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

SQL_TYPES = {
    "str": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "money": "DECIMAL(18,4)",
    "bool": "BOOLEAN",
    "ts": "TIMESTAMP",
    "date": "DATE",
    "json": "JSON",
}


@dataclass(frozen=True)
class Field:
    name: str
    type: str = "str"
    required: bool = False
    enum: tuple[str, ...] | None = None
    # JSON path for JSON-lines sources (default: the top-level key of the same name)
    path: str | None = None
    description: str = ""
    # A timestamp that may name a moment still to come (a due date, the end of a billed period, a
    # planned commissioning or end): it has the "before 2000" plausibility bound only, not the
    # "more than 2 days after loading" one, which is for moments that already happened.
    scheduled: bool = False

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]

    @property
    def json_path(self) -> str:
        return self.path or f"$.{self.name}"


@dataclass(frozen=True)
class Source:
    name: str  # landing folder and raw table name
    format: str  # csv | jsonl | ecb_csv
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    description: str
    versioned: bool = False  # key includes updated_at and history is kept
    # sub-folders per provider (cdrs/<provider>/): the folder name becomes column `provider`
    provider_folders: bool = False
    dbt_source: str = "platform"  # which dbt source (origin system) the raw table belongs to

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def landing_columns(self) -> list[str]:
        """Top-level CSV columns / JSON keys of a landing record (nested OCPI/OCPP fields excluded)."""
        return [f.name for f in self.fields if f.path is None]

    @property
    def required_columns(self) -> list[str]:
        return [f.name for f in self.fields if f.required]


F = Field
SESSION_STATES = ("in_progress", "completed", "failed")
LEDGER_KINDS = ("charge", "fee", "subscription", "write_off", "intercompany_transfer", "tax_refund")

SOURCES: dict[str, Source] = {}


def _add(src: Source) -> None:
    SOURCES[src.name] = src


_add(
    Source(
        name="operators",
        format="csv",
        versioned=True,
        key=("operator_id", "updated_at"),
        description="Charge point operators (a version per change); parent_operator_id empty = top of the hierarchy.",
        fields=(
            F("operator_id", required=True, description="Operator identifier."),
            F("name", required=True, description="Operator display name."),
            F("parent_operator_id", description="Parent operator; empty for a top-level operator."),
            F("country_code", required=True, description="ISO 3166-1 alpha-2 country of the operator."),
            F("currency", required=True, description="ISO 4217 currency the operator bills in."),
            F("updated_at", "ts", required=True, description="When this version was written (UTC)."),
        ),
    )
)
_add(
    Source(
        name="teams",
        format="csv",
        versioned=True,
        key=("team_id", "updated_at"),
        description="Teams (customers / fleets) belonging to an operator, a version per change.",
        fields=(
            F("team_id", required=True, description="Team identifier."),
            F("operator_id", required=True, description="Operator the team belongs to."),
            F("name", required=True, description="Team display name."),
            F("created_at", "ts", description="When the team was created (UTC)."),
            F("updated_at", "ts", required=True, description="When this version was written (UTC)."),
        ),
    )
)
_add(
    Source(
        name="sites",
        format="csv",
        versioned=True,
        key=("site_id", "updated_at"),
        description="Charging sites (locations), a version per change; time_zone drives local calendars.",
        fields=(
            F("site_id", required=True, description="Site identifier (OCPI location id)."),
            F("operator_id", required=True, description="Operator running the site."),
            F("team_id", description="Team owning the site."),
            F("name", required=True, description="Site display name."),
            F("address", description="Street address."),
            F("city", description="City."),
            F("postal_code", description="Postal code."),
            F("country_code", required=True, description="ISO 3166-1 alpha-2 country."),
            F("latitude", "float", description="WGS84 latitude."),
            F("longitude", "float", description="WGS84 longitude."),
            F("time_zone", required=True, description="IANA time zone of the site, e.g. Europe/Oslo."),
            F("created_at", "ts", description="When the site was created (UTC)."),
            F("updated_at", "ts", required=True, description="When this version was written (UTC)."),
        ),
    )
)
_add(
    Source(
        name="charge_points",
        format="csv",
        versioned=True,
        key=("charge_point_id", "updated_at"),
        description="Charge point registry change log: a version per change (firmware upgrades, moves, decommissioning).",
        fields=(
            F(
                "charge_point_id",
                required=True,
                description="Charge point identifier (OCPP chargeBoxIdentity, OCPI EVSE uid).",
            ),
            F("site_id", required=True, description="Site the charge point stands at."),
            F("team_id", description="Team owning the charge point."),
            F("operator_id", required=True, description="Operator running the charge point."),
            F("brand", description="Hardware vendor."),
            F("model", description="Hardware model."),
            F("firmware_version", description="Firmware version installed in this version."),
            F("charging_type", required=True, enum=("AC", "DC"), description="AC or DC."),
            F("max_power_kw", "float", description="Maximum power in kW."),
            F("connector_count", "int", description="Number of connectors."),
            F("access", required=True, enum=("public", "private"), description="Access level."),
            F(
                "roaming_enabled",
                "bool",
                required=True,
                description="Whether the charge point is offered to roaming partners.",
            ),
            F(
                "commissioned_at",
                "ts",
                required=True,
                scheduled=True,
                description="When the charge point went into service (UTC).",
            ),
            F("decommissioned_at", "ts", scheduled=True, description="When it left service (UTC); empty = in service."),
            F("updated_at", "ts", required=True, description="When this version was written (UTC)."),
        ),
    )
)
_add(
    Source(
        name="sessions",
        format="jsonl",
        versioned=True,
        key=("session_id", "updated_at"),
        description="Charge sessions, a version per change: a session may appear in_progress in one export and completed in a later one.",
        fields=(
            F("session_id", required=True, description="Session identifier."),
            F("charge_point_id", required=True, description="Charge point the session ran on."),
            F("connector_id", "int", description="Connector number on the charge point."),
            F("paying_team_id", description="Paying team; empty = anonymous / ad hoc."),
            F("state", required=True, enum=SESSION_STATES, description="in_progress, completed or failed."),
            F("plugged_in_at", "ts", required=True, description="Plug-in time (UTC)."),
            F("charging_started_at", "ts", description="Charging start (UTC)."),
            F("charging_ended_at", "ts", description="Charging end (UTC)."),
            F("unplugged_at", "ts", description="Unplug time (UTC)."),
            F("failed_at", "ts", description="Failure time (UTC) for failed sessions."),
            F("failure_reason", description="OCPP 1.6 ChargePointErrorCode or a platform reason."),
            F("stop_reason", description="OCPP 1.6 stop Reason."),
            F("kwh", "float", description="Energy delivered (kWh)."),
            F("price_excl_vat", "money", description="Price excluding VAT, in currency."),
            F("price_incl_vat", "money", description="Price including VAT, in currency."),
            F("currency", description="ISO 4217 currency of the prices."),
            F("is_roaming", "bool", description="Started through a roaming partner (eMSP)."),
            F("updated_at", "ts", required=True, description="When this version was written (UTC)."),
        ),
    )
)

# OCPI 2.2.1 CDR: the object as sent to the eMSP. Columns are the fields the warehouse uses,
# flattened; the whole object is kept in column `cdr`.
_add(
    Source(
        name="cdrs",
        format="jsonl",
        key=("country_code", "party_id", "id"),
        provider_folders=True,
        dbt_source="ocpi",
        description="OCPI 2.2.1 CDRs sent to eMSPs, one folder per roaming connection (provider); credit CDRs cancel the CDR they reference.",
        fields=(
            F("country_code", required=True, description="CPO country code (OCPI)."),
            F("party_id", required=True, description="CPO party id (OCPI)."),
            F("id", required=True, description="CDR id, unique per CPO."),
            F("start_date_time", "ts", required=True, description="Session start (UTC)."),
            F("end_date_time", "ts", required=True, description="Session end (UTC)."),
            F("session_id", description="Our session_id."),
            F(
                "token_country_code",
                path="$.cdr_token.country_code",
                required=True,
                description="eMSP country code (from cdr_token).",
            ),
            F(
                "token_party_id",
                path="$.cdr_token.party_id",
                required=True,
                description="eMSP party id (from cdr_token).",
            ),
            F("token_uid", path="$.cdr_token.uid", description="Token uid."),
            F(
                "token_type",
                path="$.cdr_token.type",
                enum=("AD_HOC_USER", "APP_USER", "OTHER", "RFID"),
                description="OCPI token type.",
            ),
            F("token_contract_id", path="$.cdr_token.contract_id", description="eMSP contract id."),
            F("location_id", path="$.cdr_location.id", required=True, description="Our site_id."),
            F("evse_uid", path="$.cdr_location.evse_uid", required=True, description="Our charge_point_id."),
            F("connector_id", path="$.cdr_location.connector_id", description="Connector id."),
            F(
                "latitude",
                "float",
                path="$.cdr_location.coordinates.latitude",
                description="Latitude (OCPI sends a string).",
            ),
            F(
                "longitude",
                "float",
                path="$.cdr_location.coordinates.longitude",
                description="Longitude (OCPI sends a string).",
            ),
            F(
                "location_country",
                path="$.cdr_location.country",
                description="ISO 3166-1 alpha-3 country of the location.",
            ),
            F(
                "connector_power_type",
                path="$.cdr_location.connector_power_type",
                enum=("AC_1_PHASE", "AC_2_PHASE", "AC_2_PHASE_SPLIT", "AC_3_PHASE", "DC"),
                description="OCPI power type.",
            ),
            F("currency", required=True, description="ISO 4217 currency of the CDR."),
            F(
                "total_cost_excl_vat",
                "money",
                path="$.total_cost.excl_vat",
                required=True,
                description="Total cost excl. VAT.",
            ),
            F("total_cost_incl_vat", "money", path="$.total_cost.incl_vat", description="Total cost incl. VAT."),
            F("total_energy", "float", required=True, description="Energy (kWh)."),
            F("total_time", "float", description="Duration (hours)."),
            F("total_parking_time", "float", description="Parking time (hours)."),
            F("credit", "bool", description="True for a credit CDR (negative totals)."),
            F("credit_reference_id", description="For a credit CDR: the id of the CDR it cancels."),
            F("last_updated", "ts", required=True, description="OCPI last_updated (UTC)."),
        ),
    )
)

_add(
    Source(
        name="ocpp",
        format="jsonl",
        key=("charge_point_id", "received_at", "message_id"),
        dbt_source="ocpp",
        description="OCPP-J CALL frames received from charge points. StatusNotification and BootNotification are used downstream; other OCPP 1.6 actions are kept and ignored.",
        fields=(
            F("charge_point_id", required=True, description="Charge point that sent the message."),
            F("received_at", "ts", required=True, description="When the central system received it (UTC)."),
            F("frame", "json", required=True, description="The OCPP-J frame [2, message_id, action, payload]."),
            F(
                "message_type_id",
                "int",
                path="$.frame[0]",
                required=True,
                description="OCPP-J message type (2 = CALL).",
            ),
            F("message_id", path="$.frame[1]", required=True, description="OCPP-J unique message id."),
            F("action", path="$.frame[2]", required=True, description="OCPP 1.6 action name."),
            F("payload", "json", path="$.frame[3]", required=True, description="The action's payload."),
            # Payload fields the warehouse uses (NULL for actions that do not carry them).
            F(
                "connector_id",
                "int",
                path="$.frame[3].connectorId",
                description="StatusNotification connectorId (0 = the whole charge point).",
            ),
            F(
                "error_code",
                path="$.frame[3].errorCode",
                description="StatusNotification errorCode (OCPP 1.6 ChargePointErrorCode).",
            ),
            F("status", path="$.frame[3].status", description="StatusNotification status (ChargePointStatus)."),
            F(
                "vendor_error_code",
                path="$.frame[3].vendorErrorCode",
                description="StatusNotification vendorErrorCode.",
            ),
            F(
                "payload_timestamp",
                "ts",
                path="$.frame[3].timestamp",
                description="The payload's own timestamp (UTC), when present.",
            ),
            F(
                "charge_point_vendor",
                path="$.frame[3].chargePointVendor",
                description="BootNotification chargePointVendor.",
            ),
            F(
                "charge_point_model",
                path="$.frame[3].chargePointModel",
                description="BootNotification chargePointModel.",
            ),
            F("firmware_version", path="$.frame[3].firmwareVersion", description="BootNotification firmwareVersion."),
        ),
    )
)
_add(
    Source(
        name="ratings",
        format="csv",
        key=("rating_id",),
        description="Ratings users gave sessions (1-5 stars).",
        fields=(
            F("rating_id", required=True, description="Rating identifier."),
            F("session_id", description="Rated session."),
            F("charge_point_id", description="Rated charge point."),
            F("stars", "int", required=True, description="1 to 5 stars."),
            F("created_at", "ts", required=True, description="When the rating was given (UTC)."),
        ),
    )
)
_add(
    Source(
        name="invoices",
        format="jsonl",
        versioned=True,
        key=("invoice_id", "updated_at"),
        description="Invoices issued to teams and operators, a version per change.",
        fields=(
            F("invoice_id", required=True, description="Invoice identifier."),
            F("operator_id", required=True, description="Issuing operator."),
            F("customer_type", required=True, enum=("team", "operator"), description="team or operator."),
            F("customer_id", required=True, description="The team or operator invoiced."),
            F("status", required=True, enum=("paid", "settled", "unpaid"), description="paid, settled or unpaid."),
            F("wallet_id", description="Wallet the invoice is charged to."),
            F("currency", required=True, description="ISO 4217 currency."),
            F("payable_amount", "money", required=True, description="Amount payable."),
            F("issued_at", "ts", description="Issue time (UTC)."),
            F("due_at", "ts", scheduled=True, description="Due time (UTC)."),
            F("period_from", "ts", scheduled=True, description="Start of the billed period."),
            F("period_to", "ts", scheduled=True, description="End of the billed period."),
            F("paid_at", "ts", description="Payment time (UTC)."),
            F("updated_at", "ts", required=True, description="When this version was written (UTC)."),
        ),
    )
)
_add(
    Source(
        name="wallets",
        format="csv",
        versioned=True,
        key=("wallet_id", "updated_at"),
        description="Wallet balance snapshots.",
        fields=(
            F("wallet_id", required=True, description="Wallet identifier."),
            F("owner_type", enum=("team", "operator"), description="team or operator."),
            F("owner_id", description="Owning team or operator."),
            F("currency", required=True, description="ISO 4217 currency."),
            F("balance", "money", required=True, description="Balance at updated_at."),
            F("updated_at", "ts", required=True, description="Snapshot time (UTC)."),
        ),
    )
)
_add(
    Source(
        name="ledger",
        format="jsonl",
        key=("entry_id",),
        description="Booked revenue entries (signed amounts).",
        fields=(
            F("entry_id", required=True, description="Ledger entry identifier."),
            F("operator_id", required=True, description="Operator the revenue belongs to."),
            F("team_id", description="The paying team."),
            F("plan_id", description="Plan, for subscription entries."),
            F(
                "kind",
                required=True,
                enum=LEDGER_KINDS,
                description="charge, fee, subscription, write_off, intercompany_transfer or tax_refund.",
            ),
            F("amount", "money", required=True, description="Signed amount."),
            F("currency", required=True, description="ISO 4217 currency."),
            F("booked_at", "ts", required=True, description="Booking time (UTC)."),
            F("session_id", description="Session, for charge entries."),
            F("invoice_id", description="Invoice the entry was billed on."),
        ),
    )
)
_add(
    Source(
        name="plans",
        format="csv",
        versioned=True,
        key=("plan_id", "updated_at"),
        description="Subscription plans, a version per change.",
        fields=(
            F("plan_id", required=True, description="Plan identifier."),
            F("operator_id", required=True, description="Operator offering the plan."),
            F("name", required=True, description="Plan name."),
            F("price", "money", description="Price per billing period."),
            F("currency", required=True, description="ISO 4217 currency."),
            F("billing_period", enum=("month", "year"), description="month or year."),
            F("updated_at", "ts", required=True, description="When this version was written (UTC)."),
        ),
    )
)
_add(
    Source(
        name="subscriptions",
        format="csv",
        versioned=True,
        key=("subscription_id", "updated_at"),
        description="Team subscriptions to plans, a version per change.",
        fields=(
            F("subscription_id", required=True, description="Subscription identifier."),
            F("plan_id", required=True, description="Subscribed plan."),
            F("team_id", required=True, description="Subscribing team."),
            F("started_at", "ts", required=True, scheduled=True, description="Start (UTC)."),
            F("ended_at", "ts", scheduled=True, description="End (UTC); empty = running."),
            F("updated_at", "ts", required=True, description="When this version was written (UTC)."),
        ),
    )
)
_add(
    Source(
        name="fx_rates",
        format="ecb_csv",
        key=("rate_date", "currency"),
        dbt_source="ecb",
        description="ECB euro reference rates, unpivoted from the wide eurofxref-hist.csv: units of currency per 1 EUR. N/A cells are not rates and produce no row.",
        fields=(
            F("rate_date", "date", required=True, description="ECB reference date (the Date column)."),
            F("currency", required=True, description="ISO 4217 currency (the column name)."),
            F("rate", "float", required=True, description="Units of currency per 1 EUR."),
        ),
    )
)

LINEAGE_COLUMNS = (
    ("_file", "VARCHAR", "Path of the landing file, relative to the landing directory."),
    ("_line", "BIGINT", "Line number in the file (1 = first line; CSV header is line 1)."),
    ("_file_hash", "VARCHAR", "SHA-256 of the landing file's content."),
    ("_record_hash", "VARCHAR", "MD5 of the record's typed values, used to tell duplicates from conflicts."),
    ("_extra", "JSON", "Fields/columns not in the contract, kept as a JSON object (NULL when none)."),
    ("_loaded_at", "TIMESTAMP", "When the record was loaded (UTC)."),
)


@cache
def ocpp16_actions() -> frozenset[str]:
    """Every OCPP 1.6 action name, from the schemas the `ocpp` package ships."""
    folder = resources.files("ocpp.v16") / "schemas"
    return frozenset(
        p.name[: -len(".json")]
        for p in folder.iterdir()
        if p.name.endswith(".json") and not p.name.endswith("Response.json")
    )


@cache
def ocpp16_schema(action: str) -> dict:
    return json.loads((resources.files("ocpp.v16") / "schemas" / f"{action}.json").read_text())


def raw_table_ddl(src: Source, schema: str = "raw") -> str:
    cols = [f"{f.name} {f.sql_type}" for f in src.fields]
    if src.provider_folders:
        cols.append("provider VARCHAR")
    if src.name == "cdrs":
        cols.append("cdr JSON")
    cols += [f"{name} {typ}" for name, typ, _ in LINEAGE_COLUMNS]
    return f"CREATE TABLE IF NOT EXISTS {schema}.{src.name} (\n  " + ",\n  ".join(cols) + "\n)"
