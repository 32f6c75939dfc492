"""A local stand-in for KOSIS OpenAPI (``Param/statisticsParameterData.do``) on 127.0.0.1.

It serves, per ``tblId``, whatever a *route* returns: the real recorded bodies from
``../shared/testdata/kosis_api/`` (read from there, never copied into the project), or
**synthetic** rows that :func:`synthetic_rows` writes in the real shape (every value a
string, ``PRD_SE`` "A", the nation as ``00``/``000``, old and new province names, ``DT`` "-"
for a province that did not exist yet). Synthetic rows carry ``"SYNTHETIC": "Y"`` and
synthetic responses the header ``X-Regrowth-Synthetic: yes``.

A route is ``route(params: dict, n: int) -> Reply`` (n counts that table's calls from 0).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

TESTDATA_NAME = "testdata/kosis_api"


def find_testdata(mirror: Path | None) -> Path | None:
    """``../shared/testdata/kosis_api`` beside the data mirror that tests/conftest.py finds."""
    if mirror is None:
        return None
    folder = mirror.parent / TESTDATA_NAME
    return folder if (folder / "SHA256SUMS").is_file() else None


@dataclass
class Reply:
    body: bytes = b""
    status: int = 200
    mode: str = "normal"        # normal | hang | trickle | cut (close mid-body)
    synthetic: bool = True


def json_reply(value, *, synthetic: bool = True, raw: str | None = None) -> Reply:
    body = raw.encode("utf-8") if raw is not None else \
        json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Reply(body, synthetic=synthetic)


def error_reply(code: str, msg: str, *, unquoted: bool = False) -> Reply:
    if unquoted:   # the real service sometimes leaves the keys unquoted
        return json_reply(None, raw=f'{{err:"{code}",errMsg:"{msg}"}}')
    return json_reply({"err": code, "errMsg": msg})


# the 17 provinces as KOSIS prints them: (code, old name, new name, year of the new name)
PROVINCES = [
    ("11", "서울특별시", None, None), ("21", "부산광역시", None, None),
    ("22", "대구광역시", None, None), ("23", "인천광역시", None, None),
    ("24", "광주광역시", None, None), ("25", "대전광역시", None, None),
    ("26", "울산광역시", None, None), ("29", "세종특별자치시", None, None),
    ("31", "경기도", None, None), ("32", "강원도", "강원특별자치도", 2023),
    ("33", "충청북도", None, None), ("34", "충청남도", None, None),
    ("35", "전라북도", "전북특별자치도", 2024), ("36", "전라남도", None, None),
    ("37", "경상북도", None, None), ("38", "경상남도", None, None),
    ("39", "제주특별자치도", None, None),
]
KEYS = ["seoul", "busan", "daegu", "incheon", "gwangju", "daejeon", "ulsan", "sejong",
        "gyeonggi", "gangwon", "chungbuk", "chungnam", "jeonbuk", "jeonnam", "gyeongbuk",
        "gyeongnam", "jeju"]


def province_name(code_index: int, year: int) -> str:
    code, old, new, since = PROVINCES[code_index]
    return new if new and year >= since else old


def synthetic_rows(table_id: str, years, value, *, item=("T1", "합계"), unit="건",
                   nation_code="00", axes=(), extra_c1=(), org="101", tbl_nm="synthetic"):
    """Rows in the real response's shape. ``value(key, year, combo) -> float|None`` (None
    prints "-"); ``axes`` = ((objname, [(code, name), ...]), ...) for C2, C3...; ``extra_c1``
    = [(code, name)] more C1 rows (시군구, categories) with value 1."""
    rows = []
    combos = [()]
    for _, codes in axes:
        combos = [c + (x,) for c in combos for x in codes]
    for year in years:
        c1 = [(nation_code, "전국", None)] + [
            (PROVINCES[i][0], province_name(i, year), KEYS[i]) for i in range(17)] + [
            (c, n, "extra") for c, n in extra_c1]
        for code, name, key in c1:
            for combo in combos:
                if key is None:
                    v = sum((value(k, year, combo) or 0) for k in KEYS)
                elif key == "extra":
                    v = 1
                else:
                    v = value(key, year, combo)
                row = {"TBL_ID": table_id, "TBL_NM": tbl_nm, "ORG_ID": org, "PRD_SE": "A",
                       "PRD_DE": str(year), "C1": code, "C1_NM": name, "C1_NM_ENG": name,
                       "C1_OBJ_NM": "시도별", "ITM_ID": item[0], "ITM_NM": item[1],
                       "ITM_NM_ENG": item[1], "UNIT_NM": unit, "UNIT_NM_ENG": unit,
                       "DT": "-" if v is None else (f"{v:g}" if float(v) != int(v) else
                                                    str(int(v))),
                       "LST_CHN_DE": "2025-01-01", "SYNTHETIC": "Y"}
                for k, ((objname, _), (ccode, cname)) in enumerate(zip(axes, combo), start=2):
                    row.update({f"C{k}": ccode, f"C{k}_NM": cname, f"C{k}_NM_ENG": cname,
                                f"C{k}_OBJ_NM": objname})
                rows.append(row)
    return rows


def by_period(rows):
    """A route serving the rows whose year lies in the request's startPrdDe..endPrdDe."""
    def route(params, n):
        y0, y1 = int(params["startPrdDe"]), int(params["endPrdDe"])
        part = [r for r in rows if y0 <= int(r["PRD_DE"]) <= y1]
        return json_reply(part) if part else error_reply("30", "데이터가 존재하지 않습니다.")
    return route


@dataclass
class MockKosis:
    """The server; ``routes[tblId]``; ``requests`` lists (path, params) of every call."""

    routes: dict = field(default_factory=dict)
    requests: list = field(default_factory=list)
    trickle_bytes: int = 400
    trickle_pause: float = 0.05

    def __post_init__(self):
        self.release = threading.Event()
        self.counts: dict[str, int] = {}
        mock = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):   # keep the test output clean
                pass

            def do_GET(self):
                parts = urlsplit(self.path)
                params = dict(parse_qsl(parts.query, keep_blank_values=True))
                mock.requests.append((parts.path, params))
                table = params.get("tblId", "")
                n = mock.counts.get(table, 0)
                mock.counts[table] = n + 1
                route = mock.routes.get(table)
                reply = route(params, n) if route else \
                    error_reply("21", "해당하는 통계표가 존재하지 않습니다.")
                try:
                    self._send(reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _send(self, reply: Reply):
                if reply.mode == "hang":
                    mock.release.wait(10)
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                if reply.synthetic:
                    self.send_header("X-Regrowth-Synthetic", "yes")
                if reply.mode == "trickle":
                    self.send_header("Content-Length", str(mock.trickle_bytes))
                    self.end_headers()
                    for _ in range(mock.trickle_bytes):
                        if mock.release.is_set():
                            return
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(mock.trickle_pause)
                    return
                if reply.mode == "cut":
                    self.send_header("Content-Length", str(len(reply.body) * 2))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/openapi/Param/statisticsParameterData.do"

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
