"""`regrowth data kosis`: the KOSIS OpenAPI client against a local server on 127.0.0.1.

The server (tests/data/kosis_mock.py) serves the real recorded response and error bodies of
``../shared/testdata/kosis_api/`` (read in place) and synthetic rows in the same shape
(marked ``"SYNTHETIC": "Y"``). No test touches the internet; timeouts are 0.5 s.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

import pytest

from regrowth import cli
from regrowth.errors import DataError, RegrowthError
from regrowth.sources import full_edition, kosis_api
from regrowth.sources import kosis_store
from regrowth.sources.kosis_api import KosisApiError
from regrowth.sources.registry import ANCHORS, KOSIS_API, by_table

sys.path.insert(0, str(Path(__file__).parent))
from kosis_mock import (  # noqa: E402
    KEYS, PROVINCES, MockKosis, Reply, by_period, error_reply, find_testdata, json_reply, synthetic_rows,
)

KEY = "TESTKEY-7f3a9c-do-not-leak-51e0"
FAST = {"timeout": 0.5, "deadline": 1.0, "backoff": 0.01, "retries": 2}
END = 2024
CODES = [c for c, *_ in PROVINCES]


# ----------------------------------------------------------------------------- helpers

@pytest.fixture(scope="session")
def testdata(data_mirror) -> Path:
    """``../shared/testdata/kosis_api``, found beside the data mirror (tests/conftest.py)."""
    folder = find_testdata(data_mirror)
    if folder is None:
        pytest.skip("no testdata/kosis_api beside the data mirror")
    return folder


def recorded_error(testdata: Path, code: str) -> dict:
    """The transcribed KOSIS error body with this code (TRANSCRIBED_error_bodies.json)."""
    doc = json.loads((testdata / "TRANSCRIBED_error_bodies.json").read_text(encoding="utf-8"))
    return next(b["body"] for b in doc["bodies"] if b["body"]["err"] == code)


def patents_value(key, year, combo=()):
    """Synthetic patent counts; 2023 equals the KIPO yearbook where it prints a value."""
    anchor = ANCHORS[0]
    if year == anchor.year and key in anchor.values and (not combo or combo[0][0] == "15138AG1AA"):
        return anchor.values[key]
    if key == "sejong" and year < 2012:
        return None
    base = 100 * (KEYS.index(key) + 1) + (year - 2000)
    return base if not combo or combo[0][0] == "15138AG1AA" else base // 10


PATENT_AXES = (("출원유형", [("15138AG1AA", "특허"), ("15138AG1AB", "실용신안")]),)


def patent_rows(years=range(2000, END + 1), **kw):
    kw.setdefault("unit", "건")
    return synthetic_rows("DT_1YL202109E", years, patents_value, item=("T001", "특허출원건수"),
                          axes=PATENT_AXES, nation_code="000", **kw)


def autonomy_value(key, year, combo=()):
    if key == "sejong" and year < 2013:
        return None
    return round(40 + KEYS.index(key) * 2.5 + (year - 2001) * 0.1, 1)


def autonomy_rows(years=range(2001, END + 1)):
    return synthetic_rows("DT_1YL20891", years, autonomy_value,
                          item=("T10", "재정자주도(세입과목개편전)"), unit="%",
                          extra_c1=[("11110", "종로구"), ("26710", "기장군")])


def level_rows(table, years=range(2000, END + 1), axes=(), unit="백만원", org="101"):
    return synthetic_rows(table, years, lambda k, y, c=(): 1000 * (KEYS.index(k) + 1) + y,
                          item=("T1", "금액"), unit=unit, axes=axes, org=org)


GRDP_AXES = (("경제활동별", [("Z10", "지역내총생산(시장가격)"), ("C", "제조업"), ("A", "농업, 임업 및 어업")]),)


def grdp_value(key, year, combo=()):
    total = 10_000 * (KEYS.index(key) + 1) + 7 * year
    if key == "sejong" and year < 2013:
        return None
    return {"Z10": total, "C": round(total * (0.2 + KEYS.index(key) / 100)), "A": 11}[combo[0][0]]


def grdp_rows(years=range(2000, END + 1), unit="백만원"):
    return synthetic_rows("DT_1C81", years, grdp_value, item=("T1", "당해년가격"), unit=unit,
                          axes=GRDP_AXES)


def served_share(rows):
    """{(region key, year): 100 x 제조업 / 지역내총생산} of the served rows (independently)."""
    cell = {(r["C1"], r["PRD_DE"], r["C2"]): r["DT"] for r in rows}
    out = {}
    for (c1, year, c2), dt in cell.items():
        if c2 == "C" and c1 in CODES and dt != "-":
            out[(KEYS[CODES.index(c1)], int(year))] = round(
                100 * float(dt) / float(cell[(c1, year, "Z10")]), 6)
    return out


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes (to show a folder did not change)."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def mock():
    server = MockKosis()
    yield server
    server.close()


@pytest.fixture
def raw(tmp_path, monkeypatch):
    """A project's data/raw with one table already stored (its bytes must survive failures)."""
    monkeypatch.setenv(kosis_api.ENV_KEY, KEY)
    monkeypatch.chdir(tmp_path)
    raw = tmp_path / "data" / "raw"
    (raw / "kosis").mkdir(parents=True)
    return raw


def fetch(raw, mock, tables, **kw):
    return kosis_store.fetch_tables(raw, tables, base=mock.url, end_year=END,
                                  **{**FAST, **kw})


def store_autonomy(raw, mock):
    """Fetch DT_1YL20891 once so that later failures have something to leave alone."""
    mock.routes["DT_1YL20891"] = by_period(autonomy_rows())
    fetch(raw, mock, ["DT_1YL20891"])
    return tree(raw)


# ----------------------------------------------------------------------------- real bodies

def test_real_recorded_response_becomes_a_province_table(testdata):
    rows = json.loads((testdata / "clafact__kosis_real_response.json").read_bytes())
    table = kosis_store.table_from_rows(rows, "DT_1EA1019", file="kosis/DT_1EA1019.json")
    assert table.table_id == "DT_1EA1019" and table.unit == "가구"
    cells = table.cells
    # 17 provinces x 15 items x 3 years; 전국 (code 000) and the farm-size categories
    # (codes A00...) on the same axis are left out and counted
    assert len(cells) == 17 * 15 * 3
    assert len(set(cells["label_0"])) == 17 and set(cells["year"]) == {2022, 2023, 2024}
    assert "45 nation rows" in table.notes[0] and "other rows" in table.notes[0]
    seoul = [r for r in rows if r["C1"] == "11" and r["ITM_ID"] == "T00" and r["PRD_DE"] == "2023"]
    got = cells[(cells["label_0"] == "서울특별시") & (cells["item"] == "계")
                & (cells["year"] == 2023)]
    assert got["value"].tolist() == [float(seoul[0]["DT"])]          # "5785" -> 5785.0


@pytest.mark.parametrize("code", ["11", "20", "21", "30", "31"])
def test_recorded_error_bodies_are_recognised(testdata, code):
    body = json.dumps(recorded_error(testdata, code), ensure_ascii=False).encode()
    assert kosis_api.error_of(kosis_api.parse_body(body))[0] == code


@pytest.mark.parametrize("body, code", [
    (b'{err:"30",errMsg:"\xeb\x8d\xb0\xec\x9d\xb4\xed\x84\xb0: none, a:b"}', "30"),  # unquoted keys
    (b'{"errCode":"21","errMsg":"x"}', "21"),
    (b'{"errMsg":"something failed"}', ""),
])
def test_error_body_variants(body, code):
    assert kosis_api.error_of(kosis_api.parse_body(body))[0] == code


def test_strings_dash_and_names_old_and_new():
    rows = patent_rows(years=[2011, 2023, 2024])
    table = kosis_store.table_from_rows(rows, "DT_1YL202109E", file="f",
                                      select={"C2": "15138AG1AA"})
    cells = table.cells
    assert {"강원도", "강원특별자치도", "전라북도", "전북특별자치도"} <= set(cells["label_0"])
    sejong = cells[(cells["label_0"] == "세종특별자치시") & (cells["year"] == 2011)]
    assert sejong["raw"].tolist() == ["-"] and math.isnan(sejong["value"].iloc[0])
    assert set(cells["label_1"]) == {"특허"}               # the other C2 series selected out


# ----------------------------------------------------------------------------- protocol

def test_split_on_31_and_retry_on_40(raw, mock):
    rows = patent_rows()
    serve = by_period(rows)

    def route(params, n):
        if n == 0:
            return error_reply("40", "호출가능건수 제한")            # back off, same call again
        y0, y1 = int(params["startPrdDe"]), int(params["endPrdDe"])
        if y1 - y0 + 1 > 7:
            return error_reply("31", "셀 최대 개수(40,000)를 초과하였습니다.")
        return serve(params, n)

    mock.routes["DT_1YL202109E"] = route
    lines = []
    fetch(raw, mock, ["DT_1YL202109E"], progress=lines.append)
    spans = [(int(p["startPrdDe"]), int(p["endPrdDe"])) for _, p in mock.requests]
    assert spans[:3] == [(2000, 2024), (2000, 2024), (2000, 2012)]
    asked = sorted(s for s in spans[1:] if s[1] - s[0] + 1 <= 7)
    assert [y for a, b in asked for y in range(a, b + 1)] == list(range(2000, END + 1))
    stored = json.loads((raw / "kosis" / "DT_1YL202109E.json").read_bytes())
    assert sorted(map(json.dumps, stored)) == sorted(map(json.dumps, rows))
    assert any("split" in line for line in lines) and any("retry 1/2" in line for line in lines)


def test_retries_are_bounded(raw, mock):
    before = store_autonomy(raw, mock)
    mock.routes["DT_1C81"] = lambda p, n: error_reply("42", "사용자별 이용 제한")
    with pytest.raises(KosisApiError, match="DT_1C81.*still refused after 2 retries"):
        fetch(raw, mock, ["DT_1C81"])
    assert mock.counts["DT_1C81"] == 3 and tree(raw) == before


def test_missing_axis_20_adds_objl_one_at_a_time(raw, mock):
    rows = level_rows("DT_KBA0019", axes=(("연구주체", [("0", "계")]),), org="127")

    def route(params, n):
        if "objL2" not in params:
            return error_reply("20", "필수요청변수값이 누락되었습니다. (objL)")
        return by_period(rows)(params, n)

    mock.routes["DT_KBA0019"] = route
    fetch(raw, mock, ["DT_KBA0019"])
    sent = [p for _, p in mock.requests]
    assert "objL2" not in sent[0] and sent[1]["objL2"] == "ALL" and "objL3" not in sent[1]
    assert sent[1]["orgId"] == "127" and sent[1]["prdSe"] == "Y" and sent[1]["jsonVD"] == "Y"


def test_rate_limit_of_calls_per_minute():
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    limiter = kosis_api._RateLimiter(200, 60.0, lambda: now[0], sleep)
    for _ in range(200):
        limiter.wait()
        now[0] += 0.01
    assert slept == []
    limiter.wait()                                # the 201st call waits for the first to age
    assert slept and math.isclose(now[0], 60.0)


def test_client_defaults_to_200_calls_a_minute():
    with kosis_api.KosisClient(KEY, base="https://kosis.kr/x") as client:
        assert (client.limiter.calls, client.limiter.per) == (200, 60.0)
        assert (client.timeout, client.deadline) == (20.0, 60.0) and KEY not in repr(client)


def test_https_only_except_a_loopback_test_server():
    assert kosis_api.check_base(kosis_api.KOSIS_BASE) == kosis_api.KOSIS_BASE
    assert kosis_api.check_base("http://127.0.0.1:8080/x")
    with pytest.raises(KosisApiError, match="not HTTPS"):
        kosis_api.check_base("http://kosis.kr/openapi/Param/statisticsParameterData.do")
    # a bare address gets the service's path
    assert kosis_api.check_base("http://127.0.0.1:8080") == \
        "http://127.0.0.1:8080/openapi/Param/statisticsParameterData.do"


def test_api_base_without_a_path(raw, mock):
    mock.routes["DT_1YL20891"] = by_period(autonomy_rows())
    bare = mock.url.split("/openapi")[0]
    kosis_store.fetch_tables(raw, ["DT_1YL20891"], base=bare, end_year=END, **FAST)
    assert [path for path, _ in mock.requests] == ["/openapi/Param/statisticsParameterData.do"]


# ----------------------------------------------------------------------------- store + lock

def test_stored_with_lock_then_read_offline_byte_identical(raw, mock, monkeypatch):
    store_autonomy(raw, mock)
    path = raw / "kosis" / "DT_1YL20891.json"
    data = path.read_bytes()
    lock = kosis_store.read_lock(raw / "kosis")["DT_1YL20891"]
    import hashlib
    assert lock["sha256"] == hashlib.sha256(data).hexdigest()
    assert lock["rows"] == len(json.loads(data)) and lock["retrieved"]
    assert lock["requests"][0]["tblId"] == "DT_1YL20891" and lock["requests"][0]["itmId"] == "T10"
    assert not any("apikey" in k.casefold() for r in lock["requests"] for k in r)
    # offline: no key, no server call, same bytes
    monkeypatch.delenv(kosis_api.ENV_KEY)
    n = len(mock.requests)
    report = kosis_store.fetch_tables(raw, ["DT_1YL20891"], base=mock.url)
    assert len(mock.requests) == n and "offline" in report.tables[0].status
    assert path.read_bytes() == data
    # the panel's reader gets the served values
    frame, rep = full_edition.read_slot(raw, by_table("DT_1YL20891"))
    assert rep.table_id_stated == "DT_1YL20891" and rep.unit == "%"
    got = frame.set_index(["region", "year"])["value"]
    assert got[("jeonbuk", 2024)] == autonomy_value("jeonbuk", 2024)
    assert ("sejong", 2012) not in got.index and len(rep.provinces) == 17


def test_a_stored_file_changed_after_download_is_refused(raw, mock):
    store_autonomy(raw, mock)
    path = raw / "kosis" / "DT_1YL20891.json"
    path.write_bytes(path.read_bytes().replace(b'"DT":"40', b'"DT":"41', 1))
    before = tree(raw)
    with pytest.raises(DataError, match="differs from the download recorded"):
        full_edition.read_slot(raw, by_table("DT_1YL20891"))
    with pytest.raises(DataError, match="--refresh --table DT_1YL20891"):
        kosis_store.fetch_tables(raw, ["DT_1YL20891"], base=mock.url)
    assert tree(raw) == before


# ----------------------------------------------------------------------------- bad input

def test_wrong_key_says_how_to_get_one(raw, mock, testdata):
    before = store_autonomy(raw, mock)
    mock.routes["DT_1C81"] = lambda p, n: json_reply(recorded_error(testdata, "11"), synthetic=False)
    with pytest.raises(KosisApiError) as info:
        fetch(raw, mock, ["DT_1C81"])
    text = str(info.value)
    assert "DT_1C81" in text and "API key was refused" in text and "공유서비스" in text
    assert tree(raw) == before


def test_unknown_table(raw, mock, capsys, testdata):
    before = store_autonomy(raw, mock)
    # known to the registry, unknown to the service (the recorded error 21)
    mock.routes["DT_1YL15011E"] = lambda p, n: json_reply(recorded_error(testdata, "21"), synthetic=False)
    with pytest.raises(KosisApiError, match="DT_1YL15011E .*does not exist"):
        fetch(raw, mock, ["DT_1YL15011E"])
    # unknown to the registry: the command says so before any call
    n = len(mock.requests)
    assert cli.main(["data", "kosis", "--table", "DT_NOSUCH", "--api-base", mock.url]) == 2
    err = capsys.readouterr().err
    assert "DT_NOSUCH" in err and "KOSIS_API" in err and "Traceback" not in err
    assert len(mock.requests) == n and tree(raw) == before


def test_response_of_another_table_is_refused(raw, mock):
    before = store_autonomy(raw, mock)
    mock.routes["DT_1YL202109E"] = by_period(autonomy_rows())         # DT_1YL20891's rows
    with pytest.raises(KosisApiError, match="DT_1YL202109E holds rows of table DT_1YL20891"):
        fetch(raw, mock, ["DT_1YL202109E"])
    assert tree(raw) == before


def test_response_in_another_unit_is_refused(raw, mock):
    before = store_autonomy(raw, mock)
    mock.routes["DT_1YL202109E"] = by_period(patent_rows(unit="명"))
    with pytest.raises(DataError, match="unit '명'.*DT_1YL202109E"):
        fetch(raw, mock, ["DT_1YL202109E"])
    assert tree(raw) == before


def test_response_in_ratios_under_a_percent_unit_is_refused(raw, mock):
    """UNIT_NM '%' with values 0.40 (a ratio) is refused by the same unit checks as a user's
    file (full_edition._check_unit); stated as '비율' the ratios are converted x100."""
    rows = synthetic_rows("DT_1YL20891", range(2001, END + 1),
                          lambda k, y, c=(): round(autonomy_value(k, y) / 100, 4)
                          if autonomy_value(k, y) is not None else None,
                          item=("T10", "재정자주도(세입과목개편전)"), unit="%")
    mock.routes["DT_1YL20891"] = by_period(rows)
    with pytest.raises(DataError) as err:
        fetch(raw, mock, ["DT_1YL20891"])
    text = str(err.value)
    assert "kosis/DT_1YL20891.json" in text and "every value is between -1 and 1" in text
    assert "the unit '%' stated in the response's UNIT_NM" in text
    assert tree(raw) == {}
    for r in rows:
        r["UNIT_NM"] = r["UNIT_NM_ENG"] = "비율"
    report = fetch(raw, mock, ["DT_1YL20891"])
    assert "unit '비율' stated in the response's UNIT_NM, converted x100" in report.lines()[0]


def test_anchor_mismatch_names_the_cell(raw, mock):
    before = store_autonomy(raw, mock)
    rows = patent_rows()
    for r in rows:
        if r["C1"] == "31" and r["PRD_DE"] == "2023" and r["C2"] == "15138AG1AA":
            r["DT"] = "61622"
    mock.routes["DT_1YL202109E"] = by_period(rows)
    with pytest.raises(KosisApiError) as info:
        fetch(raw, mock, ["DT_1YL202109E"])
    text = str(info.value)
    assert "경기도 2023 is 61,622" in text and "61,623" in text and "KIPO 지식재산통계연보 2023" in text
    assert tree(raw) == before


@pytest.mark.parametrize("reply, message", [
    (Reply(b'[{"TBL_ID":"DT_1C81","PRD_DE":"2020","DT":"1'), "truncated JSON"),
    (Reply(b"<html><body>Service Unavailable</body></html>"), "an HTML page"),
    (Reply(b'[{"TBL_ID":"DT_1C81","DT":"1"}]' * 3, mode="cut"), "the request failed"),
    (Reply(b"", mode="hang"), r"timed out: no answer within 0.5 s"),
    (Reply(b"", mode="trickle"), r"timed out: the server was still sending after 1 s"),
], ids=["truncated", "not-json", "connection-cut", "hang", "trickle"])
def test_broken_responses_name_the_table_and_change_nothing(raw, mock, reply, message):
    before = store_autonomy(raw, mock)
    mock.routes["DT_1C81"] = lambda p, n: reply
    t0 = time.monotonic()
    with pytest.raises(KosisApiError, match=message) as info:
        fetch(raw, mock, ["DT_1C81"], retries=0)
    assert time.monotonic() - t0 < 3
    assert "DT_1C81" in str(info.value) and "What to do" in str(info.value)
    assert tree(raw) == before


def test_a_killed_download_leaves_the_folder_as_it_was(raw, mock):
    before = store_autonomy(raw, mock)
    mock.routes["DT_1C81"] = lambda p, n: Reply(b"", mode="hang")
    env = {**os.environ, kosis_api.ENV_KEY: KEY, "PYTHONHASHSEED": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "regrowth", "--raw-dir", str(raw), "data",
                             "kosis", "--refresh", "--table", "DT_1YL20891", "--table", "DT_1C81",
                             "--api-base", mock.url, "--timeout", "20"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while mock.counts.get("DT_1C81", 0) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mock.counts.get("DT_1C81") == 1          # it fetched DT_1YL20891 again, then hung
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=5)
    assert tree(raw) == before


def test_no_key_is_a_message_and_exit_2(raw, mock, monkeypatch, capsys):
    monkeypatch.delenv(kosis_api.ENV_KEY)
    assert cli.main(["data", "kosis", "--api-base", mock.url]) == 2
    err = capsys.readouterr().err
    assert "KOSIS_API_KEY is not set" in err and "kosis.kr/openapi" in err
    assert "Traceback" not in err and mock.requests == []


# ----------------------------------------------------------------------------- the key

def test_the_key_appears_nowhere(raw, mock, capsys, caplog):
    """Successful and failing runs: no file, log record, output or traceback holds the key."""
    caplog.set_level(logging.DEBUG)                  # httpx logs each request URL at INFO
    store_autonomy(raw, mock)
    texts = []
    cases = {
        "DT_1C81": lambda p, n: Reply(b"", mode="hang"),
        "DT_KBA0019": lambda p, n: Reply(b'[{"TBL_ID":', synthetic=True),
        # a server that echoes the request in its message
        "DT_1YL15011E": lambda p, n: error_reply("11", f"유효하지 않은 인증KEY입니다: {p['apiKey']} "
                                                       f"(apiKey={p['apiKey']})"),
        "DT_1YL202109E": lambda p, n: Reply(b"oops", status=500),
    }
    mock.routes.update(cases)
    for table in cases:
        try:
            fetch(raw, mock, [table], retries=1)
        except RegrowthError as exc:
            texts.append("".join(traceback.format_exception(exc)))
            texts.append(repr(exc))
        else:
            pytest.fail(f"{table} should fail")
        assert cli.main(["--raw-dir", str(raw), "data", "kosis", "--table", table, "--refresh",
                         "--api-base", mock.url, "--timeout", "0.5", "--retries", "0"]) == 2
    assert any(p.get("apiKey") == KEY for _, p in mock.requests)     # it was sent, though
    out = capsys.readouterr()
    texts += [out.out, out.err, caplog.text] + [r.getMessage() for r in caplog.records]
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)
    for text in texts:
        assert KEY not in text
    files = [p for p in raw.parent.parent.rglob("*") if p.is_file()]
    assert files and not [p for p in files if KEY.encode() in p.read_bytes()]


# ----------------------------------------------------------------------------- the full path

def serve_full_edition(mock):
    """Synthetic responses for every table `data kosis` fetches, with the service's habits."""
    patents, autonomy = patent_rows(), autonomy_rows()
    grdp = grdp_rows()
    rnd = level_rows("DT_KBA0019", org="127")
    tax = level_rows("DT_1YL15011E")

    def patents_route(params, n):          # more than 12 years is over 40,000 cells
        if int(params["endPrdDe"]) - int(params["startPrdDe"]) >= 12:
            return error_reply("31", "셀 최대 개수(40,000)를 초과하였습니다.", unquoted=True)
        return by_period(patents)(params, n)

    def autonomy_route(params, n):          # the first call meets the call limit
        return error_reply("40", "호출가능건수 제한") if n == 0 else by_period(autonomy)(params, n)

    mock.routes.update({"DT_1YL202109E": patents_route, "DT_1YL20891": autonomy_route,
                        "DT_1C81": by_period(grdp), "DT_KBA0019": by_period(rnd),
                        "DT_1YL15011E": by_period(tax)})
    return {"DT_1YL202109E": patents, "DT_1YL20891": autonomy, "DT_1C81": grdp}


def variable(table_id: str) -> str:
    """The panel variable the registry's slot of ``table_id`` fills."""
    return by_table(table_id).variable_names[0]


def expected(served) -> dict:
    """{variable: {(region, year): value}} of what was served, parsed independently."""
    return {variable("DT_1YL202109E"): served_values(served["DT_1YL202109E"], "15138AG1AA"),
            variable("DT_1YL20891"): served_values(served["DT_1YL20891"]),
            variable("DT_1C81"): served_share(served["DT_1C81"])}


def served_values(rows, select=None):
    """{(region key, year): value} of the province rows served (parsed independently)."""
    out = {}
    for r in rows:
        if r["C1"] not in CODES:
            continue
        if select and r.get("C2") != select:
            continue
        if r["DT"] != "-":
            out[(KEYS[CODES.index(r["C1"])],
                 int(r["PRD_DE"]))] = float(r["DT"])
    return out


def test_full_path_fetch_store_verify_scan(raw, mock, capsys, monkeypatch):
    monkeypatch.setattr(kosis_api, "BACKOFF", 0.01)        # the pause after error 40
    served = serve_full_edition(mock)
    assert cli.main(["--raw-dir", str(raw), "data", "kosis", "--api-base", mock.url,
                     "--timeout", "2"]) == 0
    out = capsys.readouterr().out
    assert "5 of 5 tables stored and verified" in out
    assert "anchor 2023 (gyeonggi, seoul, daejeon, sejong) equals KIPO" in out
    assert sorted(kosis_store.read_lock(raw / "kosis")) == sorted(r.table_id for r in KOSIS_API)
    report = full_edition.scan(raw)
    assert report["DT_1YL202109E"] and report["DT_1YL20891"]
    tidy = {v: f.set_index(["region", "year"])["value"].to_dict()
            for f in report.frames for v in set(f["variable"])}
    assert tidy == expected(served)
    # a second run is offline and changes nothing
    before = tree(raw)
    n = len(mock.requests)
    assert cli.main(["--raw-dir", str(raw), "data", "kosis", "--api-base", mock.url]) == 0
    assert len(mock.requests) == n and tree(raw) == before


def test_full_path_into_the_panel(raw, mock, data_mirror):
    """fetch -> store -> `regrowth panel`: the panel's cells are what the server sent."""
    import pandas as pd

    from regrowth import acquire, panel

    served = serve_full_edition(mock)
    kosis_store.fetch_tables(raw, None, base=mock.url, end_year=END, **{**FAST, "timeout": 2})
    acquire.fetch(Path(__file__).resolve().parents[2] / "data" / "raw" / "MANIFEST.toml", raw,
                  data_mirror, allow_download=False)
    built = panel.build(raw, raw.parent / "processed")
    frame = pd.read_parquet(raw.parent / "processed" / "panel.parquet").set_index(
        ["region", "year"])
    for name, want in expected(served).items():
        got = frame[name].dropna()
        assert {k: float(v) for k, v in got.items()} == want
    assert "kosis/DT_1YL202109E.json" in built.reports["full_edition"].summary()


def test_30_is_an_empty_part_not_a_failure(raw, mock):
    rows = level_rows("DT_KBA0019", years=range(2013, END + 1), org="127")

    def route(params, n):
        y0, y1 = int(params["startPrdDe"]), int(params["endPrdDe"])
        if y1 - y0 >= 13:
            return error_reply("31", "셀 최대 개수(40,000)를 초과하였습니다.")
        if y1 < 2013:      # the real service's unquoted keys
            return error_reply("30", "데이터가 존재하지 않습니다.", unquoted=True)
        return by_period(rows)(params, n)

    mock.routes["DT_KBA0019"] = route
    fetch(raw, mock, ["DT_KBA0019"])
    stored = json.loads((raw / "kosis" / "DT_KBA0019.json").read_bytes())
    assert stored == rows
    spans = [(r["startPrdDe"], r["endPrdDe"])
             for r in kosis_store.read_lock(raw / "kosis")["DT_KBA0019"]["requests"]]
    assert spans == [("2000", "2012"), ("2013", "2024")]     # the empty part is recorded too


def test_value_outside_the_variables_range_is_refused(raw, mock):
    before = store_autonomy(raw, mock)
    rows = autonomy_rows()
    assert rows[41]["C1"] == "11"
    rows[41]["DT"] = "140.2"                     # a ratio in percent above 100
    mock.routes["DT_1YL20891"] = by_period(rows)
    with pytest.raises(DataError, match="140.2") as info:
        fetch(raw, mock, ["DT_1YL20891"], refresh=True)
    assert "DT_1YL20891" in str(info.value) and tree(raw) == before


def test_a_users_export_in_the_slot_is_not_shadowed(raw, mock):
    (raw / "kosis" / "DT_1YL20891.csv").write_text("행정구역별,2020\n서울특별시,70\n", encoding="utf-8")
    before = tree(raw)
    with pytest.raises(KosisApiError, match="already holds a download of it .DT_1YL20891.csv"):
        fetch(raw, mock, ["DT_1YL20891"])
    assert mock.requests == [] and tree(raw) == before


def test_series_selected_by_name_when_the_code_differs():
    axes = (("출원유형", [("1", "특허"), ("2", "실용신안")]),)
    rows = synthetic_rows("DT_1YL202109E", [2020], lambda k, y, c=(): 5 if c[0][0] == "1" else 7,
                          item=("T001", "특허출원건수"), axes=axes)
    req = next(r for r in KOSIS_API if r.table_id == "DT_1YL202109E")
    table = kosis_store.table_from_rows(rows, "DT_1YL202109E", file="f", select=dict(req.select))
    assert set(table.cells["label_1"]) == {"특허"} and set(table.cells["value"]) == {5.0}


def test_manufacturing_share_needs_both_series_in_one_money_unit(raw, mock):
    before = store_autonomy(raw, mock)
    rows = [r for r in grdp_rows() if r["C2"] != "Z10"]              # no GRDP total
    mock.routes["DT_1C81"] = by_period(rows)
    with pytest.raises(KosisApiError, match="DT_1C81: no denominator series .*지역내총생산"):
        fetch(raw, mock, ["DT_1C81"])
    mock.routes["DT_1C81"] = by_period(grdp_rows(unit="명"))
    with pytest.raises(KosisApiError, match="DT_1C81: unit '명' .* is not an amount of money"):
        fetch(raw, mock, ["DT_1C81"])
    assert tree(raw) == before


def test_only_the_requested_item_is_kept_when_the_service_sends_more(raw, mock):
    """DT_1YL20891 is asked for itmId T10 (old basis); a response with T20 too keeps T10."""
    t10 = autonomy_rows()
    t20 = [{**r, "ITM_ID": "T20", "ITM_NM": "재정자주도(세입과목개편후)", "DT": "12.5"} for r in t10]
    mock.routes["DT_1YL20891"] = by_period(t10 + t20)
    fetch(raw, mock, ["DT_1YL20891"])
    frame, _ = full_edition.read_slot(raw, by_table("DT_1YL20891"))
    assert frame.set_index(["region", "year"])["value"].to_dict() == served_values(t10)


def test_a_run_publishing_meanwhile_keeps_its_lock_entry(raw, mock):
    """Run B stores DT_1C81 while run A is still fetching DT_1YL20891: both entries survive."""
    mock.routes["DT_1YL20891"] = by_period(autonomy_rows())
    mock.routes["DT_1C81"] = by_period(grdp_rows())
    done = []

    def progress(line):
        if not done:
            done.append(fetch(raw, mock, ["DT_1C81"]))      # run B, start to finish
    fetch(raw, mock, ["DT_1YL20891"], progress=progress)   # run A
    assert sorted(kosis_store.read_lock(raw / "kosis")) == ["DT_1C81", "DT_1YL20891"]
    for table in ("DT_1C81", "DT_1YL20891"):
        full_edition.read_slot(raw, by_table(table))         # each matches its lock entry


def test_the_real_recorded_response_through_the_client(mock, testdata):
    """The recorded response, served byte for byte, comes back row for row."""
    body = (testdata / "clafact__kosis_real_response.json").read_bytes()
    mock.routes["DT_1EA1019"] = lambda p, n: Reply(body, synthetic=False)
    with kosis_api.KosisClient(KEY, base=mock.url, **FAST) as client:
        rows = client.fetch("DT_1EA1019", "101", start=2022, end=2024)
    assert rows == json.loads(body) and len(rows) == 2565
    assert mock.requests[0][1]["apiKey"] == KEY and mock.requests[0][1]["method"] == "getList"
    table = kosis_store.table_from_rows(rows, "DT_1EA1019", file="kosis/DT_1EA1019.json")
    assert len(set(table.cells["label_0"])) == 17
