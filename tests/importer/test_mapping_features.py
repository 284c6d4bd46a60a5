"""Unit tests of the mapping features on tiny exports: formats, units, time zones and DST,
rejects with line and reason, derived registries, idempotent re-imports, mapping errors."""

from __future__ import annotations

import csv
import json

import pytest

from orchestration.contract import SOURCES
from orchestration.importer import ExportError, LandingConflict, MappingError, import_export

from .helpers import HEADER, by_id, export, mapping, tree


def rejects_report(out, name="tiny__export"):
    with open(out / "_import_rejects" / f"{name}.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------- formats and numbers


def test_semicolon_delimiter_and_decimal_comma(tmp_path):
    src = export(
        tmp_path,
        HEADER + "1;A;1;01.06.2019 10:00;01.06.2019 12:30;12,75\n"
        "2;A;1;02.06.2019 10:00;02.06.2019 11:00;1.234,5\n"
        "3;A;1;03.06.2019 10:00;03.06.2019 11:00;2 345,5\n",
    )
    m = mapping(tmp_path, sessions={"kwh": {"column": "kwh", "unit": "Wh"}})
    s = import_export(m, src, tmp_path / "out")
    # a thousands separator is only accepted when declared (spaces always are: 2 345,5)
    assert s["sessions_written"] == 2 and s["rejects_by_reason"] == {"unparseable kwh": 1}
    assert s["rejects"][0]["detail"] == "'1.234,5' is not a number with decimal mark ','"
    recs = by_id(tmp_path / "out")
    assert (recs["s-1"]["kwh"], recs["s-3"]["kwh"]) == (0.01275, 2.3455)

    m2 = mapping(tmp_path, name="tiny2", input={"thousands": "."}, sessions={"kwh": {"column": "kwh", "unit": "Wh"}})
    s2 = import_export(m2, src, tmp_path / "out2")
    assert s2["rows_rejected"] == 0
    assert by_id(tmp_path / "out2")["s-2"]["kwh"] == 1.2345


def test_decimal_point_comma_delimiter_quoted_fields_and_skip_rows(tmp_path):
    m = mapping(tmp_path, input={"delimiter": ",", "decimal": ".", "skip_rows": 2})
    src = export(
        tmp_path,
        "Export of 2019-06\nOperator: test\n"
        "id,site,cp,start,end,kwh\n"
        '1,"Garage, north",1,01.06.2019 10:00,01.06.2019 12:30,7.5\n',
    )
    s = import_export(m, src, tmp_path / "out")
    assert s["rows_read"] == 1 and s["sessions_written"] == 1
    sites = (tmp_path / "out" / "sites" / "tiny__export.csv").read_text(encoding="utf-8")
    assert '"site-Garage, north"' in sites


def test_wh_to_kwh_and_multiplier(tmp_path):
    m = mapping(
        tmp_path,
        sessions={"kwh": {"column": "kwh", "unit": "Wh"}, "price_incl_vat": {"column": "kwh", "multiply": 0.01}},
    )
    src = export(tmp_path, HEADER + "1;A;1;01.06.2019 10:00;01.06.2019 12:30;9632\n")
    import_export(m, src, tmp_path / "out")
    rec = by_id(tmp_path / "out")["s-1"]
    assert rec["kwh"] == 9.632
    assert rec["price_incl_vat"] == "96.32" and rec["currency"] == "NOK"  # money is a decimal string


def test_xlsx_with_date_cells_and_sheet(tmp_path):
    import datetime as dt

    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "other"
    ws = wb.create_sheet("data")
    ws.append(["title row"])
    ws.append(["id", "site", "cp", "start", "end", "Energy (Wh)", "plug"])
    ws.append([1, "A", 1, dt.datetime(2022, 10, 30, 1, 30), dt.datetime(2022, 10, 30, 2, 30), 1500.0, "CCS1"])
    ws.append([2, "A", 1, dt.datetime(2022, 11, 1, 8, 0), dt.datetime(2022, 11, 1, 9, 0), 2500, "CHAdeMO"])
    path = tmp_path / "export.xlsx"
    wb.save(path)
    m = mapping(
        tmp_path,
        input={"format": "xlsx", "sheet": "data", "skip_rows": 1},
        time={"zone": "Europe/Zurich"},
        sessions={
            "kwh": {"column": "Energy (Wh)", "unit": "Wh"},
            "connector_id": {"column": "plug", "map": {"CCS1": 1, "CCS2": 2}},
        },
    )
    s = import_export(m, path, tmp_path / "out")
    rec = by_id(tmp_path / "out")["s-1"]
    assert rec["kwh"] == 1.5 and rec["connector_id"] == 1
    # 01:30 CEST = 23:30Z; 02:30 on 30 Oct 2022 is ambiguous: first reading = CEST = 00:30Z
    assert rec["plugged_in_at"] == "2022-10-29T23:30:00Z" and rec["unplugged_at"] == "2022-10-30T00:30:00Z"
    # an unmapped plug name is rejected with the Excel row number
    assert s["rejects"] == [
        {
            "line": 4,
            "reason": "unmapped value",
            "session_id": "s-2",
            "detail": "connector_id: 'CHAdeMO' is not listed in the mapping's map",
        }
    ]


def test_json_and_jsonl_with_nested_keys(tmp_path):
    records = [
        {
            "id": "a",
            "loc": {"site": "A", "cp": "1"},
            "start": "2019-06-01T10:00:00+02:00",
            "end": "2019-06-01T11:00:00+02:00",
            "kwh": 3.25,
        },
        {"id": "b", "loc": {"site": "A", "cp": "1"}, "start": "2019-06-01 12:00", "end": "2019-06-01 13:00", "kwh": 1},
    ]
    over = dict(
        time={"formats": ["iso"]},
        sites={"site_id": {"template": "site-{loc.site}"}},
        charge_points={"charge_point_id": {"template": "cp-{loc.cp}"}},
    )
    m = mapping(tmp_path, input={"format": "json", "records_path": "data.sessions"}, **over)
    src = export(tmp_path, json.dumps({"data": {"sessions": records}}), "export.json")
    s = import_export(m, src, tmp_path / "out")
    assert s["sessions_written"] == 2
    recs = by_id(tmp_path / "out")
    assert recs["s-a"]["plugged_in_at"] == "2019-06-01T08:00:00Z"  # its own offset wins
    assert recs["s-b"]["plugged_in_at"] == "2019-06-01T10:00:00Z"  # naive → Europe/Oslo (CEST)
    assert recs["s-a"]["kwh"] == 3.25

    m2 = mapping(tmp_path, name="tiny2", input={"format": "jsonl"}, **over)
    src2 = export(tmp_path, "\n".join(json.dumps(r) for r in records) + "\n{not json\n", "export.jsonl")
    s2 = import_export(m2, src2, tmp_path / "out2")
    assert s2["sessions_written"] == 2
    assert s2["rejects"][0]["line"] == 3 and s2["rejects"][0]["reason"] == "not valid JSON"


# ---------------------------------------------------------------- time zones and DST


def test_local_time_to_utc_across_dst_changes(tmp_path):
    m = mapping(tmp_path)
    src = export(
        tmp_path,
        HEADER + "1;A;1;30.03.2019 22:00;31.03.2019 04:00;5\n"  # spring forward inside the session
        "2;A;1;26.10.2019 22:00;27.10.2019 04:00;7\n"  # fall back inside the session
        "3;A;1;15.01.2019 10:00;15.01.2019 11:00;1\n"  # winter: UTC+1
        "4;A;1;15.07.2019 10:00;15.07.2019 11:00;1\n",
    )  # summer: UTC+2
    s = import_export(m, src, tmp_path / "out")
    r = by_id(tmp_path / "out")
    assert (r["s-1"]["plugged_in_at"], r["s-1"]["unplugged_at"]) == ("2019-03-30T21:00:00Z", "2019-03-31T02:00:00Z")
    assert (r["s-2"]["plugged_in_at"], r["s-2"]["unplugged_at"]) == ("2019-10-26T20:00:00Z", "2019-10-27T03:00:00Z")
    assert r["s-3"]["plugged_in_at"] == "2019-01-15T09:00:00Z"
    assert r["s-4"]["plugged_in_at"] == "2019-07-15T08:00:00Z"
    assert s["time"]["ambiguous_local_times"] == 0 and s["time"]["nonexistent_local_times"] == 0


def test_ambiguous_and_nonexistent_local_times_default_policy(tmp_path):
    m = mapping(tmp_path)
    src = export(
        tmp_path,
        HEADER + "1;A;1;27.10.2019 02:30;27.10.2019 05:00;1\n"  # ambiguous → first (CEST) = 00:30Z
        "2;A;1;27.10.2019 02:50;27.10.2019 02:10;1\n"  # unplug 02:10 only makes sense as the 2nd 02:10
        "3;A;1;31.03.2019 02:30;31.03.2019 04:00;1\n",
    )  # non-existent → shifted to 03:30 CEST = 01:30Z
    s = import_export(m, src, tmp_path / "out")
    r = by_id(tmp_path / "out")
    assert r["s-1"]["plugged_in_at"] == "2019-10-27T00:30:00Z"
    assert (r["s-2"]["plugged_in_at"], r["s-2"]["unplugged_at"]) == ("2019-10-27T00:50:00Z", "2019-10-27T01:10:00Z")
    assert r["s-3"]["plugged_in_at"] == "2019-03-31T01:30:00Z"
    assert s["time"]["ambiguous_local_times"] == 3
    assert s["time"]["nonexistent_local_times"] == 1
    assert s["time"]["ambiguous_read_the_other_way"] == 1


def test_ambiguous_second_and_shift_backward(tmp_path):
    m = mapping(tmp_path, time={"ambiguous": "second", "nonexistent": "shift_backward"})
    src = export(
        tmp_path, HEADER + "1;A;1;27.10.2019 02:30;27.10.2019 05:00;1\n2;A;1;31.03.2019 02:30;31.03.2019 04:00;1\n"
    )
    import_export(m, src, tmp_path / "out")
    r = by_id(tmp_path / "out")
    assert r["s-1"]["plugged_in_at"] == "2019-10-27T01:30:00Z"  # 02:30 CET
    assert r["s-2"]["plugged_in_at"] == "2019-03-31T00:30:00Z"  # 01:30 CET


def test_ambiguous_and_nonexistent_can_be_rejected(tmp_path):
    m = mapping(tmp_path, time={"ambiguous": "reject", "nonexistent": "reject"})
    src = export(
        tmp_path,
        HEADER + "1;A;1;27.10.2019 02:30;27.10.2019 05:00;1\n"
        "2;A;1;31.03.2019 02:30;31.03.2019 04:00;1\n"
        "3;A;1;31.03.2019 04:30;31.03.2019 05:00;1\n",
    )
    s = import_export(m, src, tmp_path / "out")
    assert s["rejects_by_reason"] == {"ambiguous local time": 1, "non-existent local time": 1}
    assert [r["line"] for r in s["rejects"]] == [2, 3]


def test_year_fixups_regex_and_year_offset(tmp_path):
    header = "id;site;cp;start;end;kwh\n"
    rows = "1;A;1;0014-11-18 15:40:26;0014-11-18 17:11:04;7,78\n"
    m = mapping(
        tmp_path,
        time={
            "zone": "America/New_York",
            "formats": ["%Y-%m-%d %H:%M:%S"],
            "replace": [{"pattern": r"^00(\d\d)-", "with": r"20\1-"}],
        },
    )
    import_export(m, export(tmp_path, header + rows), tmp_path / "out")
    assert by_id(tmp_path / "out")["s-1"]["plugged_in_at"] == "2014-11-18T20:40:26Z"

    m2 = mapping(
        tmp_path, name="tiny2", time={"zone": "America/New_York", "formats": ["%Y-%m-%d %H:%M:%S"], "year_offset": 2000}
    )
    import_export(m2, export(tmp_path, header + rows), tmp_path / "out2")
    assert by_id(tmp_path / "out2")["s-1"]["unplugged_at"] == "2014-11-18T22:11:04Z"


# ---------------------------------------------------------------- rejects


def test_rejects_are_reported_with_line_and_reason_never_written(tmp_path):
    m = mapping(tmp_path, input={"null_values": ["NA"]})
    src = export(
        tmp_path,
        HEADER + "1;A;1;01.06.2019 10:00;01.06.2019 12:00;1\n"  # line 2: good
        "2;A;1;01.06.2019 10:00;NA;1\n"  # line 3: no unplug time
        "\n"  # line 4: blank, not a row
        "3;A;1;31.06.2019 10:00;01.07.2019 12:00;1\n"  # line 5: no such date
        "4;A;1;01.06.2019 12:00;01.06.2019 10:00;1\n"  # line 6: unplug before plug-in
        "5;A;1;01.06.2019 10:00;01.06.2019 12:00;-0,5\n"  # line 7: negative energy
        "6;A;1;01.06.2019 10:00;01.06.2019 12:00;600\n"  # line 8: implausible energy
        '7;A;1;"01.06.2019\n10:00";x;1\n'  # lines 9-10: a quoted newline
        "1;A;1;02.06.2019 10:00;02.06.2019 12:00;1\n"  # line 11: duplicate session id
        "8;;1;01.06.2019 10:00;01.06.2019 12:00;1\n"  # line 12: no site
        "9;A;1;01.06.2019 10:00;1\n"  # line 13: a field missing
        "10;A;1;01.06.2019 10:00;01.06.2019 10:00;0\n",
    )  # line 14: good (empty interval, 0 kWh)
    s = import_export(m, src, tmp_path / "out")
    expected = [
        (3, "missing unplugged_at"),
        (5, "unparseable plugged_in_at"),
        (6, "unplugged_at before plugged_in_at"),
        (7, "negative kwh"),
        (8, "kwh above 500"),
        (9, "unparseable unplugged_at"),
        (11, "duplicate session_id"),
        (12, "missing site_id"),
        (13, "wrong number of fields"),
    ]
    assert [(r["line"], r["reason"]) for r in s["rejects"]] == expected
    assert s["rows_read"] == 11 and s["sessions_written"] == 2 and s["rows_rejected"] == 9
    assert s["rows_read"] == s["sessions_written"] + s["rows_rejected"]
    assert s["rejects"][6]["detail"] == "first seen on line 2"
    assert "'31.06.2019 10:00' matches none of the formats %d.%m.%Y %H:%M" in s["rejects"][1]["detail"]
    report = rejects_report(tmp_path / "out")
    assert [(int(r["line"]), r["reason"]) for r in report] == expected
    assert report[0]["raw"] == "2;A;1;01.06.2019 10:00;NA;1" and report[0]["session_id"] == "s-2"
    assert report[5]["raw"] == '7;A;1;"01.06.2019\n10:00";x;1'
    assert sorted(by_id(tmp_path / "out")) == ["s-1", "s-10"]


def test_charge_point_that_breaks_the_registry_rules_rejects_its_sessions(tmp_path):
    m = mapping(tmp_path, charge_points={"max_power_kw": {"column": "kwh", "map": {"1": 11, "2": 50}}})
    src = export(
        tmp_path, HEADER + "1;A;1;01.06.2019 10:00;01.06.2019 12:00;1\n2;A;2;01.06.2019 10:00;01.06.2019 12:00;2\n"
    )
    s = import_export(m, src, tmp_path / "out")
    assert s["charge_points"] == 1 and s["sessions_written"] == 1
    assert s["rejects"] == [
        {
            "line": 3,
            "reason": "invalid charge point",
            "session_id": "s-2",
            "detail": "cp-2: max_power_kw 50 not in 1.4..44 for AC",
        }
    ]


# ---------------------------------------------------------------- registries


def test_registries_are_versioned_records_derived_from_the_sessions(tmp_path):
    m = mapping(tmp_path, sites={"name": {"template": "Garage {site}"}, "latitude": 59.9, "longitude": 10.75})
    src = export(
        tmp_path,
        HEADER + "1;A;1;05.06.2019 10:00;05.06.2019 12:00;1\n"
        "2;A;1;01.06.2019 10:00;01.06.2019 12:00;1\n"  # earliest of cp-1
        "3;A;2;10.06.2019 23:30;11.06.2019 01:00;1\n"
        "4;B;3;02.06.2019 08:00;02.06.2019 09:00;1\n",
    )
    s = import_export(m, src, tmp_path / "out")
    assert (s["operators"], s["teams"], s["sites"], s["charge_points"]) == (1, 1, 2, 3)
    out = tmp_path / "out"

    def rows(source):
        with open(out / source / "tiny__export.csv", encoding="utf-8", newline="") as f:
            r = list(csv.DictReader(f))
        assert list(r[0]) == SOURCES[source].landing_columns
        return r

    cps = {r["charge_point_id"]: r for r in rows("charge_points")}
    assert cps["cp-1"]["commissioned_at"] == "2019-06-01T08:00:00Z" == cps["cp-1"]["updated_at"]
    assert cps["cp-2"]["commissioned_at"] == "2019-06-10T21:30:00Z"
    assert cps["cp-3"]["site_id"] == "site-B"
    assert cps["cp-1"]["decommissioned_at"] == "" and cps["cp-1"]["roaming_enabled"] == "false"
    assert {r["operator_id"] for r in cps.values()} == {"op"} and {r["team_id"] for r in cps.values()} == {"team"}
    sites = {r["site_id"]: r for r in rows("sites")}
    assert sites["site-A"]["created_at"] == "2019-06-01T08:00:00Z" == sites["site-A"]["updated_at"]
    assert sites["site-A"]["name"] == "Garage A" and sites["site-A"]["time_zone"] == "Europe/Oslo"
    assert sites["site-A"]["country_code"] == "NO" and sites["site-A"]["latitude"] == "59.9"
    (op,) = rows("operators")
    assert op == {
        "operator_id": "op",
        "name": "Op",
        "parent_operator_id": "",
        "country_code": "NO",
        "currency": "NOK",
        "updated_at": "2019-06-01T08:00:00Z",
    }
    (team,) = rows("teams")
    assert team["operator_id"] == "op" and team["created_at"] == "2019-06-01T08:00:00Z"
    rec = by_id(out)["s-3"]
    assert list(rec) == SOURCES["sessions"].landing_columns
    assert rec["state"] == "completed" and rec["updated_at"] == rec["unplugged_at"] == "2019-06-10T23:00:00Z"
    assert rec["charge_point_id"] == "cp-2" and rec["paying_team_id"] is None and rec["is_roaming"] is False


def test_constant_commissioning_and_attribute_disagreements_warn(tmp_path):
    m = mapping(
        tmp_path,
        charge_points={
            "commissioned_at": "2019-01-01T00:00:00",  # local (Oslo) time
            "brand": {"column": "site"},
        },
    )
    src = export(
        tmp_path, HEADER + "1;A;1;01.06.2019 10:00;01.06.2019 12:00;1\n2;B;1;02.06.2019 10:00;02.06.2019 12:00;1\n"
    )
    s = import_export(m, src, tmp_path / "out")
    cp = (tmp_path / "out" / "charge_points" / "tiny__export.csv").read_text().splitlines()[1].split(",")
    assert cp[12] == "2018-12-31T23:00:00Z" and cp[1] == "site-A" and cp[4] == "A"
    assert any("cp-1: brand differs on 1 row(s)" in w for w in s["warnings"])
    assert any("charge point cp-1 has sessions at site(s) site-B" in w for w in s["warnings"])


def test_cases_templates_and_extra_fields(tmp_path):
    cp_case = {
        "cases": [
            {"when": {"column": "kind", "equals": "Shared"}, "then": {"template": "cp-{site}-shared"}},
            {"else": {"template": "cp-{site}-{user}"}},
        ]
    }
    m = mapping(tmp_path, charge_points={"charge_point_id": cp_case}, sessions={"extra": {"user": {"column": "user"}}})
    src = export(
        tmp_path,
        "id;site;user;kind;start;end;kwh\n"
        "1;A;u1;Private;01.06.2019 10:00;01.06.2019 12:00;1\n"
        "2;A;u2;Shared;01.06.2019 10:00;01.06.2019 12:00;1\n",
    )
    s = import_export(m, src, tmp_path / "out")
    assert s["charge_point_ids"] == ["cp-A-shared", "cp-A-u1"]
    assert by_id(tmp_path / "out")["s-1"]["user"] == "u1"


# ---------------------------------------------------------------- idempotency


def test_reimport_is_byte_identical_and_conflicts_are_refused(tmp_path):
    m = mapping(tmp_path)
    text = HEADER + "1;A;1;01.06.2019 10:00;01.06.2019 12:00;1\n2;A;1;01.06.2019 10:00;NA;1\n"
    src = export(tmp_path, text)
    out = tmp_path / "out"
    s1 = import_export(m, src, out)
    json.dumps(s1)  # the summary is plain JSON
    first = tree(out)
    assert sorted(first) == [
        "_import_rejects/tiny__export.csv",
        "charge_points/tiny__export.csv",
        "operators/tiny__export.csv",
        "sessions/tiny__export.jsonl",
        "sites/tiny__export.csv",
        "teams/tiny__export.csv",
    ]
    s2 = import_export(m, src, out)
    assert tree(out) == first
    assert {f["status"] for f in s2["files"]} == {"unchanged"}
    assert [f["sha256"] for f in s1["files"]] == [f["sha256"] for f in s2["files"]]
    # a fresh directory gets the very same bytes
    import_export(m, src, tmp_path / "other")
    assert tree(tmp_path / "other") == first

    # changed content under the same name is refused (landing files are immutable) ...
    export(tmp_path, text.replace(";1\n", ";2\n", 1))
    with pytest.raises(LandingConflict, match="sessions/tiny__export.jsonl"):
        import_export(m, src, out)
    assert tree(out) == first
    # ... unless explicitly overwritten
    import_export(m, src, out, overwrite=True)
    assert by_id(out)["s-1"]["kwh"] == 2.0


# ---------------------------------------------------------------- mapping and file errors


@pytest.mark.parametrize(
    "override, message",
    [
        ({"sessions": {"kwhh": {"column": "kwh"}}}, "sessions.kwhh: unknown field"),
        ({"operator": {"country_code": False}}, "quote the code"),
        ({"time": {"zone": "Europe/Olso"}}, "not an IANA time zone"),
        ({"time": {"ambiguous": "earliest"}}, "time.ambiguous: one of first, second, reject"),
        ({"charge_points": {"charging_type": "DC/AC"}}, "charging_type: 'DC/AC' is not one of AC, DC"),
        ({"sessions": {"kwh": {"column": "kwh", "unit": "J"}}}, "unit: one of Wh, kWh, MWh"),
        ({"sessions": {"kwh": {"colum": "kwh"}}}, "unknown key(s) colum"),
    ],
)
def test_invalid_mappings_name_the_problem(tmp_path, override, message):
    m = mapping(tmp_path, **override)
    with pytest.raises(MappingError) as e:
        import_export(m, export(tmp_path, HEADER), tmp_path / "out")
    assert message in str(e.value)


def test_export_problems_name_the_file_and_column(tmp_path):
    m = mapping(tmp_path)
    with pytest.raises(ExportError, match="column\\(s\\) 'kwh' used by the mapping are not in the header"):
        import_export(m, export(tmp_path, "id;site;cp;start;end\n"), tmp_path / "out")
    with pytest.raises(ExportError, match="looks ','-delimited"):
        import_export(m, export(tmp_path, "id,site,cp,start,end,kwh\n"), tmp_path / "out")
    (tmp_path / "export.csv").write_bytes("id;site;cp;start;end;kwh\n1;\xd8;1;x;y;1\n".encode("latin-1"))
    with pytest.raises(ExportError, match="not utf-8 text"):
        import_export(m, tmp_path / "export.csv", tmp_path / "out")
    m2 = mapping(tmp_path, name="latin", input={"encoding": "latin-1"})
    s = import_export(m2, tmp_path / "export.csv", tmp_path / "out")
    assert s["rejects"][0]["reason"] == "unparseable plugged_in_at"
    assert not (tmp_path / "out" / "sessions").exists()  # nothing mapped → no landing files


def test_per_row_time_zone_charging_times_state_and_prices(tmp_path):
    m = mapping(
        tmp_path,
        time={"zone": {"column": "tz"}},
        sites={"time_zone": None},
        sessions={
            "charging_started_at": {"column": "cs"},
            "charging_ended_at": {"column": "ce"},
            "state": {"column": "status", "map": {"done": "completed", "error": "failed"}},
            "price_excl_vat": {"column": "net"},
            "price_incl_vat": {"column": "gross"},
            "currency": {"column": "cur"},
        },
    )
    header = "id;site;cp;tz;start;cs;ce;end;kwh;status;net;gross;cur\n"
    src = export(
        tmp_path,
        header
        + "1;A;1;Europe/London;01.06.2019 10:00;01.06.2019 10:05;01.06.2019 11:00;01.06.2019 12:00;1;done;2,40;3,00;GBP\n"
        "2;B;2;America/Chicago;01.06.2019 10:00;01.06.2019 10:05;;01.06.2019 12:00;1;error;;;\n"
        "3;A;1;Europe/London;01.06.2019 10:00;01.06.2019 09:55;;01.06.2019 12:00;1;done;;;\n"
        "4;A;1;Europe/London;01.06.2019 10:00;;;01.06.2019 12:00;1;done;3,00;2,40;GBP\n"
        "5;A;1;Mars/Olympus;01.06.2019 10:00;;;01.06.2019 12:00;1;done;;;\n"
        "6;A;1;Europe/London;01.06.2019 10:00;;;01.06.2019 12:00;1;paused;;;\n",
    )
    s = import_export(m, src, tmp_path / "out")
    assert [(r["line"], r["reason"]) for r in s["rejects"]] == [
        (4, "charging_started_at before plugged_in_at"),
        (5, "price_incl_vat below price_excl_vat"),
        (6, "unknown time zone"),
        (7, "unmapped value"),
    ]
    r = by_id(tmp_path / "out")
    assert (
        r["s-1"]["plugged_in_at"] == "2019-06-01T09:00:00Z" and r["s-1"]["charging_ended_at"] == "2019-06-01T10:00:00Z"
    )
    assert (r["s-1"]["price_excl_vat"], r["s-1"]["price_incl_vat"], r["s-1"]["currency"]) == ("2.40", "3.00", "GBP")
    assert r["s-2"]["plugged_in_at"] == "2019-06-01T15:00:00Z" and r["s-2"]["state"] == "failed"
    sites = (tmp_path / "out" / "sites" / "tiny__export.csv").read_text()
    assert ",Europe/London," in sites and ",America/Chicago," in sites
    assert s["time"]["zones"] == ["America/Chicago", "Europe/London"]


# ---------------------------------------------------------------- zone names and format names


def test_zone_name_in_the_timestamp_is_read_not_replaced_by_the_mapping_zone(tmp_path):
    """ACN-Data writes `Wed, 02 Dec 2020 14:21:35 GMT`: with %Z the instant is 14:21:35 UTC, not
    14:21:35 in the mapping's zone (strptime alone drops the name: every session moved 8 hours)."""
    m = mapping(tmp_path, time={"zone": "America/Los_Angeles", "formats": ["%a, %d %b %Y %H:%M:%S %Z"]})
    src = export(
        tmp_path,
        HEADER + "1;A;1;Wed, 02 Dec 2020 14:21:35 GMT;Wed, 02 Dec 2020 16:00:00 UTC;7,5\n"
        "2;A;1;Wed, 02 Dec 2020 14:21:35 PST;Wed, 02 Dec 2020 16:00:00 PST;7,5\n",
    )
    s = import_export(m, src, tmp_path / "out")
    rec = by_id(tmp_path / "out")["s-1"]
    assert (rec["plugged_in_at"], rec["unplugged_at"]) == ("2020-12-02T14:21:35Z", "2020-12-02T16:00:00Z")
    # an abbreviation names no single offset (PST/PDT, CST in three continents): rejected, said so
    assert s["sessions_written"] == 1 and s["rejects_by_reason"] == {"unparseable plugged_in_at": 1}
    assert "%Z reads only UTC or GMT" in s["rejects"][0]["detail"]


@pytest.mark.parametrize(
    "fmt, message",
    [
        ("iso8601", "neither a format name (iso, epoch_s, epoch_ms) nor a strptime pattern"),
        ("epoch", "neither a format name"),
        ("%d.%m.%Y %Q", "unknown strptime directive %Q"),
    ],
)
def test_unknown_format_name_is_a_mapping_error_not_a_pattern(tmp_path, fmt, message):
    """A format that is no name and no pattern used to be taken as a pattern and reject every
    row; it is refused when the mapping is read, naming the format."""
    m = mapping(tmp_path, time={"zone": "Europe/Oslo", "formats": [fmt]})
    src = export(tmp_path, HEADER + "1;A;1;01.06.2019 10:00;01.06.2019 12:30;7,5\n")
    with pytest.raises(MappingError) as e:
        import_export(m, src, tmp_path / "out")
    assert message in str(e.value) and "time.formats[0]" in str(e.value)
    assert not (tmp_path / "out" / "sessions").exists()
