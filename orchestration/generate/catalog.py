"""Static reference data for the demo landing-zone generator.

Everything here is fictitious but shaped like the real thing: operator groups in several
countries and currencies, cities with real coordinates and postal-code formats, charge point
hardware (brands, models, power, firmware histories with a few buggy releases), OCPI eMSP
parties and roaming providers, ECB currencies with realistic rate levels.
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------------
# Countries: alpha-2 -> (alpha-3, IANA time zone, currency, VAT rate, cities)
# city: (name, latitude, longitude, postal codes, streets)
# --------------------------------------------------------------------------------------------
COUNTRIES: dict[str, dict] = {
    "DK": {
        "alpha3": "DNK",
        "tz": "Europe/Copenhagen",
        "currency": "DKK",
        "vat": 0.25,
        "cities": [
            ("København", 55.6761, 12.5683, ["1050", "1620", "2100", "2200", "2300", "2450"]),
            ("Aarhus", 56.1629, 10.2039, ["8000", "8200", "8210"]),
            ("Odense", 55.4038, 10.4024, ["5000", "5200", "5230"]),
            ("Aalborg", 57.0488, 9.9217, ["9000", "9200"]),
            ("Esbjerg", 55.4765, 8.4594, ["6700", "6705"]),
        ],
        "streets": [
            "Vesterbrogade",
            "Nørrebrogade",
            "Amagerbrogade",
            "Strandvejen",
            "Roskildevej",
            "Hovedgaden",
            "Industrivej",
            "Havnegade",
        ],
    },
    "NO": {
        "alpha3": "NOR",
        "tz": "Europe/Oslo",
        "currency": "NOK",
        "vat": 0.25,
        "cities": [
            ("Oslo", 59.9139, 10.7522, ["0150", "0250", "0460", "0560", "0661"]),
            ("Bergen", 60.3913, 5.3221, ["5003", "5006", "5015"]),
            ("Trondheim", 63.4305, 10.3951, ["7010", "7030"]),
            ("Stavanger", 58.9700, 5.7331, ["4006", "4014"]),
            ("Drammen", 59.7439, 10.2045, ["3015", "3022"]),
        ],
        "streets": [
            "Storgata",
            "Kongens gate",
            "Trondheimsveien",
            "Drammensveien",
            "Industriveien",
            "Sjøgata",
            "Strandkaien",
            "Brugata",
        ],
    },
    "SE": {
        "alpha3": "SWE",
        "tz": "Europe/Stockholm",
        "currency": "SEK",
        "vat": 0.25,
        "cities": [
            ("Stockholm", 59.3293, 18.0686, ["111 20", "113 30", "116 45", "118 60"]),
            ("Göteborg", 57.7089, 11.9746, ["411 03", "413 04", "417 05"]),
            ("Malmö", 55.6050, 13.0038, ["211 20", "214 21"]),
            ("Uppsala", 59.8586, 17.6389, ["753 10", "754 50"]),
            ("Linköping", 58.4108, 15.6214, ["582 22", "583 30"]),
        ],
        "streets": [
            "Drottninggatan",
            "Kungsgatan",
            "Storgatan",
            "Industrigatan",
            "Hamngatan",
            "Sveavägen",
            "Järnvägsgatan",
            "Bangårdsvägen",
        ],
    },
    "DE": {
        "alpha3": "DEU",
        "tz": "Europe/Berlin",
        "currency": "EUR",
        "vat": 0.19,
        "cities": [
            ("Berlin", 52.5200, 13.4050, ["10115", "10243", "10777", "12043"]),
            ("Hamburg", 53.5511, 9.9937, ["20095", "22767", "22041"]),
            ("München", 48.1351, 11.5820, ["80331", "80469", "81369"]),
            ("Köln", 50.9375, 6.9603, ["50667", "50823"]),
            ("Frankfurt am Main", 50.1109, 8.6821, ["60311", "60486"]),
        ],
        "streets": [
            "Hauptstraße",
            "Bahnhofstraße",
            "Industriestraße",
            "Schillerstraße",
            "Gartenstraße",
            "Lindenallee",
            "Am Markt",
            "Hafenstraße",
        ],
    },
    "GB": {
        "alpha3": "GBR",
        "tz": "Europe/London",
        "currency": "GBP",
        "vat": 0.20,
        "cities": [
            ("London", 51.5074, -0.1278, ["SW1A 1AA", "E1 6AN", "N1 9GU", "SE1 7PB", "W2 1HB"]),
            ("Manchester", 53.4808, -2.2426, ["M1 1AE", "M4 5JD", "M15 4FN"]),
            ("Birmingham", 52.4862, -1.8904, ["B1 1BB", "B5 4BU"]),
            ("Leeds", 53.8008, -1.5491, ["LS1 1UR", "LS11 5QN"]),
            ("Bristol", 51.4545, -2.5879, ["BS1 4DJ", "BS2 0JA"]),
        ],
        "streets": [
            "High Street",
            "Station Road",
            "Church Lane",
            "Victoria Road",
            "Mill Lane",
            "Park Road",
            "Queen Street",
            "Harbour Way",
        ],
    },
    "CH": {
        "alpha3": "CHE",
        "tz": "Europe/Zurich",
        "currency": "CHF",
        "vat": 0.081,
        "cities": [
            ("Zürich", 47.3769, 8.5417, ["8001", "8004", "8050"]),
            ("Genève", 46.2044, 6.1432, ["1201", "1205"]),
            ("Basel", 47.5596, 7.5886, ["4051", "4057"]),
            ("Bern", 46.9480, 7.4474, ["3011", "3014"]),
            ("Lausanne", 46.5197, 6.6323, ["1003", "1007"]),
        ],
        "streets": [
            "Bahnhofstrasse",
            "Seestrasse",
            "Hauptstrasse",
            "Rue du Rhône",
            "Industriestrasse",
            "Dorfstrasse",
            "Route de Lausanne",
            "Poststrasse",
        ],
    },
    "US": {
        "alpha3": "USA",
        "tz": "America/New_York",
        "currency": "USD",
        "vat": 0.0,
        "cities": [
            ("New York", 40.7128, -74.0060, ["10001", "10013", "10024", "11201"]),
            ("Boston", 42.3601, -71.0589, ["02108", "02116", "02134"]),
            ("Philadelphia", 39.9526, -75.1652, ["19103", "19107"]),
        ],
        "streets": [
            "Main Street",
            "Broadway",
            "Washington Street",
            "Park Avenue",
            "Market Street",
            "Harbor Drive",
            "Commerce Way",
            "Elm Street",
        ],
    },
}

# --------------------------------------------------------------------------------------------
# Operators: two groups (a parent with children), each operator in one country and currency.
# (key, name, parent key, country, OCPI party id, weight of the network, renamed_to)
# --------------------------------------------------------------------------------------------
OPERATORS = [
    ("OP-1000", "Nordvolt A/S", None, "DK", "NVD", 0.22, None),
    ("OP-1001", "Nordvolt Norge AS", "OP-1000", "NO", "NVN", 0.16, None),
    ("OP-1002", "Nordvolt Sverige AB", "OP-1000", "SE", "NVS", 0.15, "Nordvolt Sverige AB (Laddnät)"),
    ("OP-1003", "Nordvolt Deutschland GmbH", "OP-1000", "DE", "NVE", 0.14, None),
    ("OP-2000", "Brightway Charging Ltd", None, "GB", "BWC", 0.17, None),
    ("OP-2001", "Brightway Schweiz AG", "OP-2000", "CH", "BWS", 0.10, None),
    ("OP-2002", "Brightway Charging Inc.", "OP-2000", "US", "BWU", 0.06, None),
]

# Fleet (paying) team names per country; host teams are named after the operator.
FLEET_TEAMS = {
    "DK": [
        "Københavns Taxa Flåde",
        "Dansk Retur Logistik",
        "GreenMobility Flåde",
        "Bygma Service",
        "Aarhus Kommune Flåde",
        "Nordic Care Hjemmepleje",
        "Hansen VVS",
        "Øresund Budservice",
    ],
    "NO": [
        "Oslo Taxi Flåte",
        "Bring Lokal Distribusjon",
        "Bergen Elektro",
        "Vestland Rørlegger",
        "Trondheim Kommune Flåte",
        "Nordlys Hjemmetjeneste",
        "Fjord Budservice",
        "Hansen Bygg",
    ],
    "SE": [
        "Taxi Stockholm Flotta",
        "Göteborg Logistik",
        "Malmö Stad Fordon",
        "Uppsala Hemtjänst",
        "Svea Bud AB",
        "Nordic Elservice",
        "Lindqvist Bygg",
        "Västkust VVS",
    ],
    "DE": [
        "Berlin Taxi Flotte",
        "Hamburger Kurierdienst",
        "Stadtwerke München Fuhrpark",
        "Rheinland Pflegedienst",
        "Frankfurter Elektro",
        "Nordsee Logistik",
        "Müller Haustechnik",
        "Spree Lieferdienst",
    ],
    "GB": [
        "London Black Cab Co-op",
        "Manchester Courier Fleet",
        "Bristol Council Fleet",
        "Leeds Home Care",
        "Thames Plumbing Ltd",
        "Midlands Grocery Vans",
        "Camden Electricians",
        "Northern Parcel Co",
    ],
    "CH": [
        "Taxi Zürich Flotte",
        "Genève Livraisons",
        "Basler Pflege Spitex",
        "Bern Elektro AG",
        "Léman Logistique",
        "Alpen Kurier",
        "Huber Sanitär",
        "Stadt Zürich Fahrzeuge",
    ],
    "US": [
        "NYC Green Cabs",
        "Boston Delivery Co",
        "Philly Home Services",
        "Brooklyn Electric",
        "Hudson Logistics",
        "Beacon Hill Plumbing",
        "Liberty Couriers",
        "Harbor Care Fleet",
    ],
}

# --------------------------------------------------------------------------------------------
# Site types: how a site behaves (charging type, access, charge point counts, demand).
#   kind: "hub" (DC fast), "destination" (retail AC), "street" (on-street AC),
#         "workplace" (private AC), "residential" (private AC, overnight)
# arrival: local-time mixture of normals (weight, mean hour, sd hours), weekday / weekend
# week: demand factor Mon..Sun; rate: expected sessions per charge point per day at popularity 1
# (DC chargers at non-hub sites x1.6, AC chargers at hubs x0.3); pop_max caps a site's popularity
# --------------------------------------------------------------------------------------------
SITE_TYPES = ["hub", "destination", "street", "workplace", "residential"]
SITE_TYPE_SHARE = [0.22, 0.24, 0.20, 0.20, 0.14]
SITE_TYPE_INFO = {
    "hub": dict(
        access="public",
        cps=(2, 10),
        dc_share=0.9,
        rate=6.0,
        pop_max=2.6,
        names=[
            "Fast Charging Hub",
            "Motorway Services",
            "Charging Plaza",
            "Retail Park Hub",
            "Airport Hub",
            "Ferry Terminal Hub",
        ],
        wd=[(0.22, 8.0, 1.3), (0.33, 12.8, 2.0), (0.35, 17.5, 1.6), (0.10, 21.0, 1.8)],
        we=[(0.5, 11.5, 2.5), (0.5, 16.5, 2.8)],
        week=[0.98, 1.0, 1.0, 1.03, 1.15, 0.92, 0.86],
    ),
    "destination": dict(
        access="public",
        cps=(2, 8),
        dc_share=0.08,
        rate=2.2,
        pop_max=2.0,
        names=["Shopping Centre", "Supermarket", "Hotel", "Garden Centre", "Leisure Centre", "Cinema Car Park"],
        wd=[(0.45, 11.0, 2.0), (0.55, 16.5, 2.3)],
        we=[(0.6, 12.0, 2.3), (0.4, 15.5, 2.5)],
        week=[0.9, 0.92, 0.95, 1.0, 1.1, 1.25, 0.95],
    ),
    "street": dict(
        access="public",
        cps=(1, 4),
        dc_share=0.0,
        rate=1.1,
        pop_max=1.8,
        names=["Street Charging", "Parking Garage", "Town Square", "Station Car Park"],
        wd=[(0.25, 8.2, 1.5), (0.15, 13.0, 3.0), (0.60, 18.8, 2.0)],
        we=[(0.4, 12.0, 3.0), (0.6, 18.5, 2.3)],
        week=[1.0, 1.0, 1.0, 1.0, 1.0, 0.95, 0.95],
    ),
    "workplace": dict(
        access="private",
        cps=(4, 12),
        dc_share=0.0,
        rate=0.75,
        pop_max=1.4,
        names=["Head Office", "Depot", "Business Park", "Factory", "Logistics Centre"],
        wd=[(0.8, 8.2, 0.9), (0.2, 13.0, 2.0)],
        we=[(0.5, 10.0, 2.0), (0.5, 14.0, 2.5)],
        week=[1.0, 1.05, 1.05, 1.0, 0.9, 0.15, 0.1],
    ),
    "residential": dict(
        access="private",
        cps=(4, 14),
        dc_share=0.0,
        rate=0.65,
        pop_max=1.3,
        names=["Housing Association", "Apartment Garage", "Residences", "Condominium"],
        wd=[(0.75, 18.2, 2.0), (0.10, 8.0, 1.5), (0.15, 13.0, 3.0)],
        we=[(0.5, 17.0, 2.5), (0.5, 12.5, 3.0)],
        week=[1.0, 1.0, 1.0, 1.0, 0.95, 0.9, 1.0],
    ),
}

# --------------------------------------------------------------------------------------------
# Hardware: (type, brand, model, max_power_kw options, connector_count, meter type,
#            firmware versions [(version, failure rate, error codes of its failures)],
#            index of the version most units run at the start, rollout fractions of the period)
# A version's failure rate is the probability a session on it fails; error codes are the
# OCPP 1.6 ChargePointErrorCodes its failures report.
# --------------------------------------------------------------------------------------------
GENERIC_ERRORS = ["EVCommunicationError", "OtherError", "InternalError", "ConnectorLockFailure"]
HARDWARE = [
    (
        "AC",
        "Easee",
        "Charge",
        [22.0, 11.0],
        1,
        "Easee MID",
        [("3.2.1", 0.012, GENERIC_ERRORS), ("3.2.8", 0.010, GENERIC_ERRORS), ("3.3.1", 0.009, GENERIC_ERRORS)],
        1,
        [0.45],
    ),
    (
        "AC",
        "Zaptec",
        "Go",
        [22.0, 11.0],
        1,
        "Zaptec Go MID",
        [("1.8.0.4", 0.014, GENERIC_ERRORS), ("2.1.0.5", 0.011, GENERIC_ERRORS), ("2.2.1.1", 0.010, GENERIC_ERRORS)],
        1,
        [0.6],
    ),
    (
        "AC",
        "Zaptec",
        "Pro",
        [22.0],
        1,
        "Zaptec Pro MID",
        [("4.1.2", 0.011, GENERIC_ERRORS), ("4.3.0", 0.009, GENERIC_ERRORS)],
        0,
        [0.35],
    ),
    (
        "AC",
        "Alfen",
        "Eve Double Pro-line",
        [22.0, 11.0],
        2,
        "Alfen MID3",
        [
            ("5.8.1-4123", 0.010, GENERIC_ERRORS),
            ("6.4.0-4210", 0.19, ["GroundFailure", "GroundFailure", "PowerMeterFailure"]),
            ("6.5.2-4302", 0.011, GENERIC_ERRORS),
        ],
        0,
        [0.25, 0.7],
    ),
    (
        "AC",
        "ABB",
        "Terra AC W22",
        [22.0, 7.4],
        1,
        "ABB Terra AC MID",
        [("1.6.8", 0.013, GENERIC_ERRORS), ("1.7.2", 0.011, GENERIC_ERRORS)],
        0,
        [0.5],
    ),
    (
        "AC",
        "Wallbox",
        "Copper SB",
        [22.0, 7.4],
        1,
        "Wallbox MID",
        [
            ("5.14.2", 0.012, GENERIC_ERRORS),
            ("6.2.0", 0.16, ["PowerSwitchFailure", "OverVoltage", "PowerSwitchFailure"]),
            ("6.2.4", 0.012, GENERIC_ERRORS),
        ],
        1,
        [0.55],
    ),
    (
        "AC",
        "Keba",
        "KeContact P30",
        [11.0, 22.0],
        1,
        "KEBA P30 MID",
        [("1.15.0", 0.010, GENERIC_ERRORS), ("1.16.1", 0.009, GENERIC_ERRORS)],
        0,
        [0.4],
    ),
    (
        "DC",
        "ABB",
        "Terra 54",
        [50.0],
        2,
        "ABB DC Meter",
        [("1.5.31", 0.018, GENERIC_ERRORS), ("1.6.10", 0.015, GENERIC_ERRORS)],
        0,
        [0.3],
    ),
    (
        "DC",
        "ABB",
        "Terra 184",
        [180.0],
        2,
        "ABB DC Meter",
        [("1.8.22", 0.016, GENERIC_ERRORS), ("1.9.4", 0.014, GENERIC_ERRORS)],
        0,
        [0.65],
    ),
    (
        "DC",
        "Alpitronic",
        "HYC300",
        [300.0],
        2,
        "LEM DCBM 400",
        [("2.3.1", 0.012, GENERIC_ERRORS), ("2.4.0", 0.010, GENERIC_ERRORS)],
        0,
        [0.5],
    ),
    (
        "DC",
        "Kempower",
        "S-Series",
        [200.0, 350.0],
        2,
        "LEM DCBM 600",
        [("1.42.0", 0.014, GENERIC_ERRORS), ("1.44.2", 0.012, GENERIC_ERRORS)],
        0,
        [0.4],
    ),
    (
        "DC",
        "Tritium",
        "PKM150",
        [150.0],
        1,
        "Tritium DC Meter",
        [
            ("1.8.6", 0.020, GENERIC_ERRORS),
            ("1.9.3", 0.22, ["OverCurrentFailure", "EVCommunicationError", "HighTemperature"]),
            ("1.10.1", 0.018, GENERIC_ERRORS),
        ],
        1,
        [0.6],
    ),
    (
        "DC",
        "Tritium",
        "RTM75",
        [75.0],
        2,
        "Tritium DC Meter",
        [("1.4.2", 0.020, GENERIC_ERRORS), ("1.5.0", 0.017, GENERIC_ERRORS)],
        0,
        [0.45],
    ),
]
# Relative popularity of each model among AC / DC installations (same order as HARDWARE).
HARDWARE_WEIGHT = [0.22, 0.18, 0.1, 0.16, 0.14, 0.1, 0.1, 0.2, 0.2, 0.2, 0.2, 0.12, 0.08]

# Human-readable info / vendor codes for the OCPP error codes.
ERROR_INFO = {
    "GroundFailure": ("RCD tripped (ground fault)", "E-RCD-30mA"),
    "PowerMeterFailure": ("Energy meter not responding", "E-MTR-01"),
    "PowerSwitchFailure": ("Contactor welded or failed", "E-RLY-02"),
    "OverVoltage": ("Supply voltage above limit", "E-OVV-253"),
    "OverCurrentFailure": ("Output over-current protection", "0x2B1"),
    "EVCommunicationError": ("ISO 15118 / CP signal lost", "0x1A0"),
    "HighTemperature": ("Power module temperature high", "0x3C4"),
    "OtherError": ("Unspecified error", "E-999"),
    "InternalError": ("Controller watchdog reset", "E-WDT"),
    "ConnectorLockFailure": ("Connector lock did not engage", "E-LCK-03"),
    "UnderVoltage": ("Supply voltage below limit", "E-UNV-196"),
    "WeakSignal": ("Cellular signal weak", "E-LTE-RSSI"),
    "ReaderFailure": ("RFID reader not responding", "E-RFID"),
}
# Platform (non-OCPP) failure reasons: the session failed in the back office.
PLATFORM_FAILURES = ["PaymentDeclined", "AuthorizationTimeout", "RemoteStartRejected"]

# OCPP 1.6 stop reasons
STOP_REASONS = [
    "EVDisconnected",
    "Local",
    "Remote",
    "Other",
    "EmergencyStop",
    "PowerLoss",
    "DeAuthorized",
    "HardReset",
    "Reboot",
]

# --------------------------------------------------------------------------------------------
# Tariffs: price per kWh excl. VAT in the operator's currency (AC, DC), team discount
# --------------------------------------------------------------------------------------------
TARIFF = {  # currency: (AC per kWh, DC per kWh, start fee, idle fee per minute)
    "DKK": (3.20, 4.95, 0.0, 1.00),
    "NOK": (3.90, 5.90, 0.0, 1.50),
    "SEK": (4.20, 6.40, 0.0, 1.50),
    "EUR": (0.45, 0.69, 0.0, 0.10),
    "GBP": (0.52, 0.79, 0.0, 0.10),
    "CHF": (0.50, 0.72, 0.0, 0.10),
    "USD": (0.38, 0.56, 1.00, 0.40),
}
# plans: (name suffix, base EUR price, billing period)
PLANS = [("Fleet Basic", 29.0, "month"), ("Fleet Pro", 79.0, "month"), ("Fleet Annual", 790.0, "year")]

# --------------------------------------------------------------------------------------------
# Roaming: OCPI eMSPs (token country_code, party_id, name, roaming provider, weight)
# --------------------------------------------------------------------------------------------
EMSPS = [
    ("DE", "SHL", "Shell Recharge", "hubject", 0.22),
    ("NL", "TNM", "Shell Recharge NL", "hubject", 0.12),
    ("DE", "PLS", "Plugsurfing", "hubject", 0.14),
    ("FR", "MOB", "Freshmile Mobility", "gireve", 0.10),
    ("FR", "CHM", "ChargeMap", "gireve", 0.12),
    ("GB", "OCT", "Octopus Electroverse", "direct", 0.12),
    ("NO", "ELT", "Elton", "direct", 0.08),
    ("DK", "CLE", "Clever", "direct", 0.10),
]
PROVIDERS = ["hubject", "gireve", "direct"]

# --------------------------------------------------------------------------------------------
# ECB euro reference rates: column order as in eurofxref-hist.csv, (level, decimals, daily vol)
# RUB (suspended since 2022-03) and HRK (euro since 2023) are N/A throughout; BGN is N/A from
# 2026-01-01 (euro); ISK is N/A for a stretch in the middle of the generated span.
# --------------------------------------------------------------------------------------------
ECB_CURRENCIES = [
    ("USD", 1.0850, 4, 0.004),
    ("JPY", 161.50, 2, 0.005),
    ("BGN", 1.9558, 4, 0.0),
    ("CYP", None, 0, 0.0),
    ("CZK", 25.120, 3, 0.002),
    ("DKK", 7.4600, 4, 0.0001),
    ("EEK", None, 0, 0.0),
    ("GBP", 0.84550, 5, 0.003),
    ("HUF", 398.50, 2, 0.004),
    ("LTL", None, 0, 0.0),
    ("LVL", None, 0, 0.0),
    ("MTL", None, 0, 0.0),
    ("PLN", 4.2850, 4, 0.002),
    ("ROL", None, 0, 0.0),
    ("RON", 4.9760, 4, 0.0005),
    ("SEK", 11.3500, 4, 0.004),
    ("SIT", None, 0, 0.0),
    ("SKK", None, 0, 0.0),
    ("CHF", 0.9420, 4, 0.003),
    ("ISK", 149.70, 2, 0.003),
    ("NOK", 11.6200, 4, 0.004),
    ("HRK", None, 0, 0.0),
    ("RUB", None, 0, 0.0),
    ("TRL", None, 0, 0.0),
    ("TRY", 36.2500, 4, 0.003),
    ("AUD", 1.6550, 4, 0.004),
    ("BRL", 6.0120, 4, 0.006),
    ("CAD", 1.4950, 4, 0.003),
    ("CNY", 7.8200, 4, 0.003),
    ("HKD", 8.4550, 4, 0.004),
    ("IDR", 17350.00, 2, 0.004),
    ("ILS", 4.0250, 4, 0.005),
    ("INR", 91.2500, 4, 0.004),
    ("KRW", 1485.20, 2, 0.004),
    ("MXN", 20.8500, 4, 0.006),
    ("MYR", 4.8850, 4, 0.003),
    ("NZD", 1.8150, 4, 0.004),
    ("PHP", 62.850, 3, 0.004),
    ("SGD", 1.4520, 4, 0.002),
    ("THB", 37.950, 3, 0.004),
    ("ZAR", 20.1250, 4, 0.007),
]
# rough units of currency per EUR for conversions inside the generator (intercompany, plans)
EUR_RATE = {"EUR": 1.0, "DKK": 7.46, "NOK": 11.6, "SEK": 11.3, "GBP": 0.85, "CHF": 0.94, "USD": 1.08}
