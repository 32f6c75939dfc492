"""KOSIS OpenAPI: fetch full-edition tables, store them with a lock entry, read them offline.

``regrowth data kosis`` asks ``Param/statisticsParameterData.do`` (method getList, orgId,
tblId, itmId, objL1..objL8, prdSe=Y, startPrdDe/endPrdDe, format=json, jsonVD=Y) for each
table of :data:`regrowth.sources.registry.KOSIS_API`, and stores what it received as
``data/raw/kosis/<TBL_ID>.json`` with an entry in ``data/raw/kosis/kosis.lock.toml``
(the request without the key, the retrieval date, the sha256 and the number of rows).
Later runs -- and ``regrowth panel`` -- read the stored file offline; a stored file whose
sha256 differs from its lock entry is refused.

**The key** is read from ``$KOSIS_API_KEY`` only. It is never logged, printed, cached or
written: the stored rows and the lock hold no request URL; every message this module makes
is scrubbed of it (httpx's messages embed the URL, so they are never chained or re-raised);
the ``httpx``/``httpcore`` loggers get a filter that masks it while a client is open; no
redirect is followed.

**What the real service does** (``../shared/testdata/kosis_api/``, SOURCES.md "Test
material"): a JSON array of rows whose every value is a string (``DT`` ``"-"`` is missing,
``PRD_SE`` ``"A"`` for annual data, the nation coded ``00`` or ``000``, provinces under
their old or new names, 시군구 rows with 5-digit codes and other categories on the same
axis); errors come as HTTP 200 with ``{"err": "30", "errMsg": ...}``, sometimes with
unquoted keys (``{err:"30",errMsg:"..."}``), as ``{"errCode": ...}`` or a bare
``{"errMsg": ...}``. Codes: 10/11 key missing/invalid (the message says how to get a key),
20 a classification axis is missing (axes are added one at a time as ``ALL``), 21 no such
table, 30 no data (an empty result), 31 over 40,000 cells (the period is split in halves
and each half asked again), 40-42 call limits and 50 server error (backed off and retried
a bounded number of times).

**Limits**: at most ``rate`` calls (200) in any 60 s; every call has a connect/read timeout
and an overall deadline, so a server that hangs or trickles ends with a message naming the
table.

**Transactions**: nothing is written until every requested table has been fetched and
verified. The responses are staged in a hidden folder beside ``data/raw/kosis/`` and read
back with the full-edition verification (:func:`regrowth.sources.full_edition.read_slot`:
table id, unit, item, 17 provinces, value ranges) and the published anchors
(:data:`regrowth.sources.registry.ANCHORS`); only then are the files and the lock
published together by one :class:`regrowth.files.Transaction` (its lock serialises concurrent
runs; its journal finishes an interrupted publication). An error or a killed process leaves
``data/raw/kosis/`` as it was.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import ipaddress
import json
import logging
import math
import os
import re
import shutil
import tempfile
import time
import tomllib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence
from urllib.parse import quote, quote_plus, urlsplit

import pandas as pd

from regrowth import regions
from regrowth.errors import DataError, UnknownRegionError
from regrowth.files import Transaction

__all__ = ["KOSIS_BASE", "ENV_KEY", "LOCK_NAME", "KosisApiError", "KosisClient", "FetchReport",
           "fetch_tables", "read_stored", "table_from_rows", "parse_body", "read_lock",
           "api_key"]

KOSIS_BASE = "https://kosis.kr/openapi/Param/statisticsParameterData.do"
ENV_KEY = "KOSIS_API_KEY"
LOCK_NAME = "kosis.lock.toml"
KEY_HELP = ("get a key (or renew an expired one) at https://kosis.kr/openapi/ : sign up for "
            "KOSIS 공유서비스 (OpenAPI), 활용신청 -> 인증키 발급, then `export "
            f"{ENV_KEY}=<your key>` and run again")
#: first pause (s) before a retry; doubled at each further retry
BACKOFF = 2.0
#: error codes after which the same call is tried again, after a pause
RETRY_CODES = {"40", "41", "42", "50"}
_MISSING = {"", "-", "…", "...", "x", "X"}

_log = logging.getLogger(__name__)


class KosisApiError(DataError):
    """A KOSIS OpenAPI call or its response failed; the message names the table."""


# ------------------------------------------------------------------------- the key

def api_key(environ: dict | None = None) -> str | None:
    """The key from ``$KOSIS_API_KEY`` (stripped), or None."""
    value = (environ if environ is not None else os.environ).get(ENV_KEY, "")
    return value.strip() or None


def _scrubber(key: str | None) -> Callable[[str], str]:
    forms = sorted({f for f in (key, quote(key or "", safe=""), quote_plus(key or ""))
                    if f}, key=len, reverse=True) if key else []

    def scrub(text: str) -> str:
        text = str(text)
        for f in forms:
            text = text.replace(f, "***")
        # whatever the key, never show an apiKey parameter's value
        return re.sub(r"(apiKey=)[^&\s\"']*", r"\1***", text, flags=re.IGNORECASE)
    return scrub


class _ScrubFilter(logging.Filter):
    def __init__(self, scrub: Callable[[str], str]):
        super().__init__()
        self.scrub = scrub

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: keep only its template
            message = str(record.msg)
        record.msg, record.args = self.scrub(message), None
        return True


@contextlib.contextmanager
def _scrubbed_logs(scrub: Callable[[str], str]):
    loggers = [logging.getLogger(n) for n in ("httpx", "httpcore", __name__)]
    filt = _ScrubFilter(scrub)
    for lg in loggers:
        lg.addFilter(filt)
    try:
        yield
    finally:
        for lg in loggers:
            lg.removeFilter(filt)


# ------------------------------------------------------------------------- bodies

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BARE_KEY = re.compile(r"([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)(\s*:)")


def _quote_keys(text: str) -> str:
    """``{err:"30",errMsg:"..."}`` -> ``{"err":"30","errMsg":"..."}`` (strings untouched)."""
    out, last = [], 0
    for m in _JSON_STRING.finditer(text):
        out.append(_BARE_KEY.sub(r'\1"\2"\3', text[last:m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append(_BARE_KEY.sub(r'\1"\2"\3', text[last:]))
    return "".join(out)


def parse_body(body: bytes) -> Any:
    """The JSON value of a response body; unquoted keys are accepted.

    Raises ValueError (with a short reason) for a body that is not JSON (an HTML page, a
    truncated array).
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = body.decode("cp949")
        except UnicodeDecodeError:
            raise ValueError("the body is neither UTF-8 nor CP949 text") from None
    text = text.strip()
    if not text:
        raise ValueError("the body is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as first:
        try:
            return json.loads(_quote_keys(text))
        except json.JSONDecodeError:
            kind = ("truncated JSON" if text[0] in "[{" else
                    "an HTML page" if text[:1] == "<" else "not JSON")
            raise ValueError(f"{kind} ({len(body)} bytes; {first.msg} at character "
                             f"{first.pos})") from None


def error_of(value: Any) -> tuple[str, str] | None:
    """``(code, message)`` of a KOSIS error body, or None for data.

    Accepts ``{"err", "errMsg"}``, ``{"errCode", "errMsg"}`` and a bare ``{"errMsg"}``
    (code ``""``); an object that is neither an error nor a row is an error with code ``?``.
    """
    if isinstance(value, list):
        return None
    if isinstance(value, dict):
        lower = {str(k).casefold(): v for k, v in value.items()}
        code = lower.get("err", lower.get("errcode", lower.get("error_code")))
        msg = lower.get("errmsg", lower.get("errormessage", lower.get("message", "")))
        if code is None and "errmsg" not in lower:
            if "TBL_ID" in value or "DT" in value:  # a single row, not in an array
                return None
            return "?", f"an object with keys {sorted(value)[:8]}"
        return str(code if code is not None else "").strip(), str(msg or "").strip()
    return "?", f"a JSON {type(value).__name__}"


# ------------------------------------------------------------------------- client

@dataclass
class Call:
    """One request made (parameters without the key) and what came back."""

    params: dict[str, str]
    status: str          # "rows", "empty (30)", "split (31)", "retry (40)", ...
    rows: int = 0


class _RateLimiter:
    """At most ``calls`` calls in any ``per`` seconds (a sliding window)."""

    def __init__(self, calls: int, per: float, clock: Callable[[], float],
                 sleep: Callable[[float], None]):
        self.calls, self.per, self.clock, self.sleep = calls, per, clock, sleep
        self.stamps: deque[float] = deque()

    def wait(self) -> float:
        """Block until a call is allowed; return the seconds waited."""
        waited = 0.0
        while True:
            now = self.clock()
            while self.stamps and now - self.stamps[0] >= self.per:
                self.stamps.popleft()
            if len(self.stamps) < self.calls:
                self.stamps.append(now)
                return waited
            pause = self.per - (now - self.stamps[0])
            self.sleep(pause)
            waited += pause


def _loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


SERVICE_PATH = urlsplit(KOSIS_BASE).path   # /openapi/Param/statisticsParameterData.do


def check_base(url: str) -> str:
    """The API address, refused unless HTTPS (plain http only for a loopback test server).

    An address without a path (``http://127.0.0.1:8080``) gets the service's path.
    """
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        parts = parts._replace(path=SERVICE_PATH)
        url = parts.geturl()
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
        return url
    raise KosisApiError(f"the KOSIS API address {url!r} is not HTTPS (the key travels in the "
                        "query string; plain http is accepted only for a local test server on "
                        "127.0.0.1/localhost)", hint=f"use the default {KOSIS_BASE}")


class KosisClient:
    """Calls ``statisticsParameterData.do`` for one table at a time.

    ``timeout`` bounds connecting and every read; ``deadline`` bounds a whole call
    (a server that trickles bytes); ``retries`` bounds the retries after codes 40-42/50,
    HTTP 429/5xx and unreadable bodies, each after ``backoff * 2**attempt`` seconds;
    ``rate`` calls per ``per`` seconds at most. ``clock``/``sleep`` are for tests.
    """

    def __init__(self, key: str, *, base: str = KOSIS_BASE, timeout: float = 20.0,
                 deadline: float | None = None, retries: int = 3, backoff: float | None = None,
                 rate: int = 200, per: float = 60.0, max_bytes: int = 200_000_000,
                 progress: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, transport=None):
        import httpx

        if not key:
            raise KosisApiError(f"no KOSIS API key: ${ENV_KEY} is not set", hint=KEY_HELP)
        self._key = key
        self.scrub = _scrubber(key)
        self.base = check_base(base)
        self.timeout = float(timeout)
        self.deadline = float(deadline) if deadline is not None else 3 * self.timeout
        self.retries, self.max_bytes = int(retries), max_bytes
        self.backoff = float(BACKOFF if backoff is None else backoff)
        self.limiter = _RateLimiter(rate, per, clock, sleep)
        self.clock, self.sleep = clock, sleep
        self.progress = progress or (lambda text: None)
        self.calls: list[Call] = []
        self._httpx = httpx
        self._client = httpx.Client(timeout=httpx.Timeout(self.timeout), follow_redirects=False,
                                    transport=transport,
                                    # proxies and CA settings of the environment apply to the
                                    # real service, never to a local test server
                                    trust_env=not _loopback(urlsplit(self.base).hostname or ""),
                                    headers={"User-Agent": "regrowth (KOSIS OpenAPI client)"})
        self._logs = _scrubbed_logs(self.scrub)
        self._logs.__enter__()

    def __repr__(self) -> str:  # never show the key
        return f"KosisClient(base={self.base!r})"

    def close(self) -> None:
        self._client.close()
        self._logs.__exit__(None, None, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- one HTTP request ------------------------------------------------------------------
    def _get(self, params: dict[str, str], table: str) -> bytes:
        """The body of one GET; transport failures become KosisApiError (scrubbed)."""
        httpx = self._httpx
        query = {"method": "getList", "apiKey": self._key, **params}
        self.limiter.wait()
        t0 = self.clock()
        chunks, size = [], 0
        try:
            with self._client.stream("GET", self.base, params=query) as resp:
                for chunk in resp.iter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise KosisApiError(
                            f"KOSIS table {table}: the response exceeds {self.max_bytes:,} "
                            "bytes", hint="ask for fewer years (the request is split "
                                          "automatically only on error 31)")
                    if self.clock() - t0 > self.deadline:
                        raise _Deadline()
                status = resp.status_code
        except _Deadline:
            raise self._timeout(table, params, f"the server was still sending after "
                                               f"{self.deadline:g} s ({size:,} bytes)") from None
        except httpx.TimeoutException as exc:
            what = type(exc).__name__
            raise self._timeout(table, params, f"no answer within {self.timeout:g} s "
                                               f"({what})") from None
        except httpx.HTTPError as exc:
            raise KosisApiError(
                f"KOSIS table {table}: the request failed ({type(exc).__name__}: "
                f"{self.scrub(str(exc))[:200]})",
                hint="check the internet connection (or --api-base) and run again") from None
        body = b"".join(chunks)
        if status != 200:
            raise _HttpStatus(status, body)
        return body

    def _timeout(self, table: str, params: dict, what: str) -> KosisApiError:
        period = f"{params.get('startPrdDe', '?')}-{params.get('endPrdDe', '?')}"
        return KosisApiError(
            f"KOSIS table {table} ({period}): timed out: {what}",
            hint="the KOSIS service is slow or unreachable; run `regrowth data kosis --table "
                 f"{table}` again later (data/raw/kosis/ was not changed)")

    # -- one table ---------------------------------------------------------------------------
    def fetch(self, table: str, org: str, *, itm_id: str = "ALL",
              obj: Sequence[str] = ("ALL",), start: int, end: int) -> list[dict]:
        """Every row of ``table`` for ``start``..``end`` (splitting and retrying as needed)."""
        obj = list(obj)
        rows: list[dict] = []
        pending = [(int(start), int(end))]
        while pending:
            y0, y1 = pending.pop(0)
            got, obj = self._fetch_span(table, org, itm_id, obj, y0, y1)
            if got is None:      # 31: too many cells -> halves
                if y0 >= y1:
                    raise KosisApiError(
                        f"KOSIS table {table}: the year {y0} alone exceeds KOSIS's 40,000 "
                        "cells per call (error 31)",
                        hint="narrow the request in regrowth.sources.registry.KOSIS_API "
                             "(itmId or objL codes instead of ALL)")
                mid = (y0 + y1) // 2
                self.progress(f"kosis: {table} {y0}-{y1}: over 40,000 cells (31), split into "
                              f"{y0}-{mid} and {mid + 1}-{y1}")
                pending[:0] = [(y0, mid), (mid + 1, y1)]
                continue
            rows.extend(got)
        return rows

    def _params(self, table, org, itm_id, obj, y0, y1) -> dict[str, str]:
        p = {"orgId": org, "tblId": table, "itmId": itm_id}
        for k, code in enumerate(obj, start=1):
            p[f"objL{k}"] = code
        p.update({"format": "json", "jsonVD": "Y", "prdSe": "Y", "startPrdDe": str(y0),
                  "endPrdDe": str(y1)})
        return p

    def _fetch_span(self, table, org, itm_id, obj, y0, y1):
        attempt = 0
        while True:
            params = self._params(table, org, itm_id, obj, y0, y1)
            label = f"kosis: {table} {y0}-{y1}"
            try:
                body = self._get(params, table)
                value = parse_body(body)
            except _HttpStatus as exc:
                if (exc.status == 429 or exc.status >= 500) and attempt < self.retries:
                    attempt += 1
                    self._pause(label, f"HTTP {exc.status}", attempt, params)
                    continue
                raise KosisApiError(f"KOSIS table {table}: HTTP status {exc.status}",
                                    hint="check --api-base, or run again later") from None
            except ValueError as exc:
                if attempt < self.retries:
                    attempt += 1
                    self._pause(label, f"unreadable response: {exc}", attempt, params)
                    continue
                raise KosisApiError(
                    f"KOSIS table {table} ({y0}-{y1}): the response is not usable JSON: "
                    f"{self.scrub(str(exc))}",
                    hint="the download was cut off or the service answered with an error "
                         "page; run `regrowth data kosis --table "
                         f"{table}` again (data/raw/kosis/ was not changed)") from None
            err = error_of(value)
            if err is None:
                rows = value if isinstance(value, list) else [value]
                self.calls.append(Call(params, "rows", len(rows)))
                self.progress(f"{label}: {len(rows)} rows")
                return rows, obj
            code, msg = err
            msg = self.scrub(msg)
            if code == "30":
                self.calls.append(Call(params, "empty (30)"))
                self.progress(f"{label}: no data (30)")
                return [], obj
            if code == "31":
                self.calls.append(Call(params, "split (31)"))
                return None, obj
            if code in RETRY_CODES and attempt < self.retries:
                attempt += 1
                self.calls.append(Call(params, f"retry ({code})"))
                self._pause(label, f"error {code} {msg}", attempt, params)
                continue
            if code == "20" and len(obj) < 8:
                self.calls.append(Call(params, "axis added (20)"))
                obj = [*obj, "ALL"]
                self.progress(f"{label}: a classification is missing (20: {msg}); asking "
                              f"again with objL{len(obj)}=ALL")
                continue
            raise self._error(table, org, code, msg, y0, y1)

    def _pause(self, label: str, why: str, attempt: int, params: dict) -> None:
        pause = self.backoff * 2 ** (attempt - 1)
        self.progress(f"{label}: {self.scrub(why)[:160]}; retry {attempt}/{self.retries} in "
                      f"{pause:g} s")
        self.sleep(pause)

    def _error(self, table, org, code, msg, y0, y1) -> KosisApiError:
        said = f"KOSIS answered error {code or '(no code)'}: {msg or '(no message)'}"
        if code in ("10", "11"):
            return KosisApiError(f"KOSIS table {table}: the API key was refused ({said})",
                                 hint=KEY_HELP)
        if code == "21":
            return KosisApiError(
                f"KOSIS table {table} (orgId {org}) does not exist ({said})",
                hint="check the table id (and its orgId in regrowth.sources.registry) on "
                     f"https://kosis.kr/statHtml/statHtml.do?orgId={org}&tblId={table}")
        if code == "20":
            return KosisApiError(f"KOSIS table {table}: a required parameter is missing even "
                                 f"with objL1-objL8 ({said})",
                                 hint="check the table's itmId/objL in "
                                      "regrowth.sources.registry.KOSIS_API")
        if code in RETRY_CODES:
            return KosisApiError(f"KOSIS table {table} ({y0}-{y1}): still refused after "
                                 f"{self.retries} retries ({said})",
                                 hint="the daily call limit may be used up; run again later")
        return KosisApiError(f"KOSIS table {table} ({y0}-{y1}): {said}",
                             hint="check the request in regrowth.sources.registry.KOSIS_API "
                                  "and run again")


class _Deadline(Exception):
    pass


class _HttpStatus(Exception):
    def __init__(self, status: int, body: bytes):
        super().__init__(status)
        self.status, self.body = status, body


# ------------------------------------------------------------------------- rows -> table

def _year(text: str) -> int | None:
    m = re.fullmatch(r"\s*(\d{4})\s*", str(text))
    return int(m.group(1)) if m else None


def table_from_rows(rows: list, table_id: str, *, file: str,
                    select: dict[str, str] | None = None, itm_id: str = "ALL"):
    """A :class:`regrowth.sources.kosis.KosisTable` of the province rows of a response.

    The province axis is the classification (C1..C8) whose names are provinces; rows of the
    nation (code 00/000 or a nation name), of 시군구 (numeric codes of 3+ digits other than
    000) and of other categories on that axis (non-numeric codes, e.g. A00) are left out and
    counted in the notes. ``select`` keeps only one code of another axis; ``itm_id`` (the
    request's, unless ``ALL``) keeps only those items where a response holds more. Raises DataError
    naming the table (and the JSON row) for anything else.
    """
    from regrowth.sources.kosis import KosisTable

    where = f"data/raw/kosis/{table_id}.json"
    if not isinstance(rows, list):
        raise KosisApiError(f"KOSIS table {table_id}: the response is not a list of rows",
                            file=file)
    if not rows:
        raise KosisApiError(f"KOSIS table {table_id}: no rows (the service said there is no "
                            "data for the years asked)", file=file,
                            hint="check the start year in regrowth.sources.registry.KOSIS_API")
    axes = sorted({int(m.group(1)) for r in rows if isinstance(r, dict)
                   for m in [re.fullmatch(r"C([1-8])", str(k)) for k in r] if m})
    need = ("TBL_ID", "PRD_DE", "DT")
    stated = set()
    for i, r in enumerate(rows, start=1):
        if not isinstance(r, dict) or any(k not in r for k in need):
            miss = [k for k in need if not isinstance(r, dict) or k not in r]
            raise KosisApiError(f"KOSIS table {table_id}: JSON row {i} lacks {miss}", file=file,
                                row=i, hint=f"run `regrowth data kosis --refresh --table "
                                            f"{table_id}`")
        stated.add(str(r["TBL_ID"]).strip())
    wrong = sorted(s for s in stated if s.upper() != table_id.upper())
    if wrong:
        raise KosisApiError(
            f"the response stored for KOSIS table {table_id} holds rows of table "
            f"{', '.join(wrong)}", file=file,
            hint=f"check --api-base and the table id; run `regrowth data kosis --refresh "
                 f"--table {table_id}`")
    # the province axis: the classification with the most rows naming a province
    def province(name) -> bool:
        try:
            regions.lookup(name)
            return True
        except UnknownRegionError:
            return False

    score = {k: sum(1 for n in {str(r.get(f"C{k}_NM", "")) for r in rows} if province(n))
             for k in axes}
    if not score or max(score.values()) == 0:
        raise KosisApiError(f"KOSIS table {table_id}: no classification of the response names "
                            "the provinces (시도)", file=file,
                            hint="check the table id and its objL codes in "
                                 "regrowth.sources.registry.KOSIS_API")
    rax = max(axes, key=lambda k: (score[k], -k))
    # a selection applies where the response has that code (else every series is kept and
    # the full-edition verification refuses a table holding several)
    active = {}
    for ax, wants in (select or {}).items():
        for want in ([wants] if isinstance(wants, str) else list(wants)):
            hit = {str(r.get(ax, "")).strip() for r in rows
                   if want in (str(r.get(ax, "")).strip(), str(r.get(f"{ax}_NM", "")).strip())}
            if hit:
                active[ax] = hit.pop()
                break
    asked = set(itm_id.split()) - {"ALL"}
    items = asked if asked and any(str(r.get("ITM_ID", "")).strip() in asked for r in rows) \
        else set()
    records, notes, skipped = [], [], {"nation": 0, "sub-province": 0, "other": 0,
                                        "selected out": 0}
    units: dict[str, set[str]] = {}
    periods = set()
    for i, r in enumerate(rows, start=1):
        code = str(r.get(f"C{rax}", "")).strip()
        name = str(r.get(f"C{rax}_NM", "")).strip()
        if code in ("00", "000") or regions.is_nation(name):
            skipped["nation"] += 1
            continue
        if re.fullmatch(r"\d{3,}", code):
            skipped["sub-province"] += 1
            continue
        if code and not re.fullmatch(r"\d{1,2}", code) and not province(name):
            skipped["other"] += 1
            continue
        if any(str(r.get(ax, "")).strip() != want for ax, want in active.items()) or (
                items and str(r.get("ITM_ID", "")).strip() not in items):
            skipped["selected out"] += 1
            continue
        se = str(r.get("PRD_SE", "A")).strip()
        if se not in ("A", "Y", "년", ""):
            raise KosisApiError(f"KOSIS table {table_id}: JSON row {i} has period type "
                                f"{se!r}; only annual data (PRD_SE 'A') is read", file=file,
                                row=i, column="PRD_SE",
                                hint="ask for prdSe=Y (annual) in the request")
        year = _year(r["PRD_DE"])
        if year is None:
            raise KosisApiError(f"KOSIS table {table_id}: JSON row {i} has period "
                                f"{r['PRD_DE']!r}, not a year", file=file, row=i,
                                column="PRD_DE", hint="ask for annual data (prdSe=Y)")
        periods.add(year)
        raw = r["DT"]
        text = str(raw).strip().replace(",", "") if raw is not None else ""
        if text in _MISSING:
            value = math.nan
        else:
            try:
                value = float(text)
            except ValueError:
                raise KosisApiError(f"KOSIS table {table_id}: JSON row {i} ({name} {year}) "
                                    f"has the value {str(raw)[:40]!r}, not a number",
                                    file=file, row=i, column="DT",
                                    hint=f"run `regrowth data kosis --refresh --table "
                                         f"{table_id}`") from None
        item = str(r.get("ITM_NM", r.get("ITM_ID", ""))).strip()
        unit = str(r.get("UNIT_NM", "")).strip()
        if unit:
            units.setdefault(item, set()).add(unit)
        labels = [name] + [str(r.get(f"C{k}_NM", "")).strip() for k in axes if k != rax]
        codes = [code] + [str(r.get(f"C{k}", "")).strip() for k in axes if k != rax]
        records.append((*labels, *codes, year, item, raw, value, i, "DT"))
    if not records:
        raise KosisApiError(f"KOSIS table {table_id}: no province rows in the response "
                            f"({', '.join(f'{v} {k}' for k, v in skipped.items() if v)} rows "
                            "left out)", file=file,
                            hint="check the table id and its select/objL codes in "
                                 "regrowth.sources.registry.KOSIS_API")
    first = next(r for r in rows)
    label_names = [str(first.get(f"C{rax}_OBJ_NM", "") or f"C{rax}")] + [
        str(first.get(f"C{k}_OBJ_NM", "") or f"C{k}") for k in axes if k != rax]
    cols = [f"label_{k}" for k in range(len(label_names))]
    codes = [f"code_{k}" for k in range(len(label_names))]   # the KOSIS codes of the labels
    cells = pd.DataFrame.from_records(records, columns=[*cols, *codes, "year", "item", "raw",
                                                       "value", "row", "column"])
    cells["raw"] = cells["raw"].astype(object)
    item_units = {item: sorted(u)[0] for item, u in units.items() if len(u) == 1}
    several = {item: sorted(u) for item, u in units.items() if len(u) > 1}
    if several:
        item, us = next(iter(several.items()))
        raise KosisApiError(f"KOSIS table {table_id}: item {item!r} comes in several units "
                            f"{us}", file=file, column="UNIT_NM",
                            hint="check the table and its itmId in "
                                 "regrowth.sources.registry.KOSIS_API")
    distinct = set(item_units.values())
    unit = next(iter(distinct)) if len(distinct) == 1 else None
    left = [f"{v} {k} rows" for k, v in skipped.items() if v]
    if left:
        notes.append(f"{table_id} (KOSIS OpenAPI): left out {', '.join(left)}")
    return KosisTable(file=file, layout="long", cells=cells, label_names=label_names,
                      label_letters=[f"C{rax}"] + [f"C{k}" for k in axes if k != rax],
                      header_rows=1, table_id=stated.pop(), unit=unit,
                      unit_source="the response's UNIT_NM" if unit else None,
                      table_id_source="the response's TBL_ID", item_units=item_units,
                      notes=notes, meta={"stored": where})


# ------------------------------------------------------------------------- lock + store

def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_lock(kosis_dir: str | Path) -> dict[str, dict]:
    """``{table id: entry}`` of ``kosis.lock.toml`` (empty if there is none)."""
    path = Path(kosis_dir) / LOCK_NAME
    if not path.is_file():
        return {}
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"the lock file cannot be read ({exc})", file=f"data/raw/kosis/{LOCK_NAME}",
                        hint="restore it from a backup, or delete it together with the "
                             "data/raw/kosis/*.json files it lists and run `regrowth data "
                             "kosis` again") from None
    return dict(doc.get("tables", {}))


def _toml_str(text: str) -> str:
    return json.dumps(str(text), ensure_ascii=True)


def lock_text(entries: dict[str, dict]) -> str:
    """The lock file for ``entries`` (sorted, deterministic)."""
    lines = ["# KOSIS OpenAPI downloads in this folder, written by `regrowth data kosis`.",
             "# One entry per table: the request parameters (never the key), the retrieval",
             "# date, the sha256 and number of rows of <table>.json. A stored file whose",
             "# sha256 differs is refused; `regrowth data kosis --refresh` fetches it again.",
             "", "[tables]"]
    for tid in sorted(entries):
        e = entries[tid]
        lines += ["", f"[tables.{tid}]"]
        for k in ("file", "sha256", "rows", "retrieved", "api", "org_id", "years"):
            if k in e:
                v = e[k]
                if isinstance(v, bool):
                    val = "true" if v else "false"
                elif isinstance(v, int):
                    val = str(v)
                elif isinstance(v, (list, tuple)):
                    val = "[" + ", ".join(str(x) if isinstance(x, int) else _toml_str(x)
                                          for x in v) + "]"
                else:
                    val = _toml_str(v)
                lines.append(f"{k} = {val}")
        for req in e.get("requests", []):
            lines += ["", f"[[tables.{tid}.requests]]"]
            for k, v in req.items():
                lines.append(f"{k} = {_toml_str(v)}")
    return "\n".join(lines) + "\n"


def rows_bytes(rows: list[dict]) -> bytes:
    """The stored form of the rows: a JSON array, one row per line, keys as received."""
    body = ",\n".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in rows)
    return ("[\n" + body + "\n]\n").encode("utf-8")


def read_stored(path: str | Path, *, raw_dir: str | Path | None = None):
    """Read a stored response (``data/raw/kosis/<TBL_ID>.json``) offline as a KosisTable.

    Refused unless ``kosis.lock.toml`` beside it has an entry for the table whose sha256
    equals the file's.
    """
    from regrowth.sources.registry import KOSIS_API

    path = Path(path)
    file = f"kosis/{path.name}"
    table_id = path.stem.split(".")[0]
    lock = read_lock(path.parent)
    entry = next((e for t, e in lock.items() if t.upper() == table_id.upper()), None)
    if entry is None or entry.get("file") != path.name:
        raise DataError(f"{path.name} is not recorded in data/raw/kosis/{LOCK_NAME}, so its "
                        "origin cannot be checked", file=file,
                        hint=f"fetch it with `regrowth data kosis --refresh --table {table_id}` "
                             "(or remove the file)")
    data = path.read_bytes()
    if _sha256(data) != entry.get("sha256"):
        raise DataError(f"{path.name} differs from the download recorded in {LOCK_NAME} "
                        f"(sha256 {_sha256(data)[:12]}…, recorded {str(entry.get('sha256'))[:12]}…)",
                        file=file, hint=f"the file was changed after download; fetch it again "
                                        f"with `regrowth data kosis --refresh --table {table_id}`")
    try:
        rows = parse_body(data)
    except ValueError as exc:
        raise DataError(f"{path.name} is not JSON ({exc})", file=file,
                        hint=f"`regrowth data kosis --refresh --table {table_id}`") from None
    req = next((r for r in KOSIS_API if r.table_id.upper() == table_id.upper()), None)
    table = table_from_rows(rows, table_id, file=file,
                            select=dict(req.select) if req else {},
                            itm_id=req.itm_id if req else "ALL")
    if req is not None and req.share is not None:
        table = share_table(table, req.share, table_id, file=file)
    return table


def share_table(table, share, table_id: str, *, file: str):
    """The KosisTable of ``100 x numerator / denominator`` (two series on ``share.axis``)."""
    import dataclasses

    letters = table.label_letters
    if share.axis not in letters:
        raise KosisApiError(f"KOSIS table {table_id}: the response has no classification "
                            f"{share.axis} to derive {share.item!r} from", file=file,
                            hint="check the request (objL) in regrowth.sources.registry.KOSIS_API")
    k = letters.index(share.axis)
    cells = table.cells

    def pick(alternatives, what):
        for alt in alternatives:
            mask = (cells[f"code_{k}"] == alt) | (cells[f"label_{k}"] == alt)
            if mask.any():
                return cells[mask], alt
        found = sorted(set(cells[f"label_{k}"]))[:12]
        raise KosisApiError(f"KOSIS table {table_id}: no {what} series "
                            f"({' / '.join(alternatives)}) on {share.axis}; found {found}",
                            file=file, column=share.axis,
                            hint="check the table, or the codes in "
                                 "regrowth.sources.registry.KOSIS_API (share)")
    num, num_name = pick(share.numerator, "numerator")
    den, den_name = pick(share.denominator, "denominator")
    units = {table.item_units.get(i) for i in set(num["item"]) | set(den["item"])}
    if len(units) != 1 or None in units:
        raise KosisApiError(f"KOSIS table {table_id}: {num_name!r} and {den_name!r} do not "
                            f"state one unit ({sorted(map(str, units))})", file=file,
                            column="UNIT_NM", hint="check the table and its itmId")
    unit = units.pop()
    if not any(full_unit_key(unit) == full_unit_key(u) for u in share.input_units):
        raise KosisApiError(f"KOSIS table {table_id}: unit {unit!r} of {num_name!r} is not an "
                            f"amount of money ({', '.join(share.input_units)})", file=file,
                            column="UNIT_NM", hint="check the table and its itmId")
    key = ["label_0", "year"]
    for part, name in ((num, num_name), (den, den_name)):
        dup = part.duplicated(key)
        if dup.any():
            r = part[dup].iloc[0]
            raise KosisApiError(f"KOSIS table {table_id}: {name!r} has two values for "
                                f"{r['label_0']} {r['year']} (several items?)", file=file,
                                row=int(r["row"]), hint="ask for one item (itmId)")
    both = num.merge(den[[*key, "value"]], on=key, how="left", suffixes=("", "_den"))
    ratio = both["value"] / both["value_den"].where(both["value_den"] != 0)
    out = pd.DataFrame({"label_0": both["label_0"], "code_0": both["code_0"],
                        "year": both["year"], "item": share.item,
                        "raw": both["raw"].astype(str) + " / " + both["value_den"].astype(str),
                        "value": (100 * ratio).round(6), "row": both["row"],
                        "column": both["column"]})
    out["raw"] = out["raw"].astype(object)
    note = (f"{share.item}: {num_name} / {den_name} x 100 of the KOSIS {table_id} response "
            f"(both in {unit})")
    return dataclasses.replace(table, cells=out, label_names=table.label_names[:1],
                               label_letters=letters[:1], unit="%",
                               unit_source=f"the share {num_name} / {den_name} x 100 (both "
                                           f"in UNIT_NM {unit!r})",
                               item_units={share.item: "%"}, notes=[*table.notes, note])


def full_unit_key(text: str) -> str:
    from regrowth.sources.full_edition import _unit_key
    return _unit_key(text)


# ------------------------------------------------------------------------- anchors

def check_anchors(frame: pd.DataFrame, table_id: str, *, file: str) -> list[str]:
    """Compare the tidy frame of a table with its published anchors; raise on a mismatch."""
    from regrowth.sources.registry import ANCHORS

    done = []
    for a in ANCHORS:
        if a.table_id != table_id:
            continue
        part = frame[(frame["variable"] == a.variable) & (frame["year"] == a.year)]
        if part.empty:
            done.append(f"anchor {a.year} not checked: the table has no {a.year}")
            continue
        got = dict(zip(part["region"], part["value"]))
        for region, want in a.values.items():
            have = got.get(region)
            if have is None or not math.isclose(have, want, rel_tol=0, abs_tol=1e-9):
                raise KosisApiError(
                    f"KOSIS table {table_id}: {regions.get(region).name_ko} {a.year} is "
                    f"{'missing' if have is None else f'{have:,.0f}'}, but {a.printed_in} "
                    f"prints {want:,.0f}", file=file, column=f"{region} {a.year}",
                    hint="the response is not the published table (wrong table, item or "
                         f"unit?); check the request, then `regrowth data kosis --refresh "
                         f"--table {table_id}`")
        done.append(f"anchor {a.year} ({', '.join(a.values)}) equals {a.printed_in.split(' (')[0]}")
    return done


# ------------------------------------------------------------------------- the command

@dataclass
class TableResult:
    table_id: str
    status: str            # "fetched", "stored (offline)"
    rows: int = 0
    summary: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class FetchReport:
    tables: list[TableResult] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"{t.table_id}: {t.status}, {t.rows} rows" + (f"; {t.summary}" if t.summary else "")
                + "".join(f"; {n}" for n in t.notes) for t in self.tables]


def _verify(staged_raw: Path, table_id: str, *, allow_partial: bool) -> tuple[str, list[str]]:
    """Verify a staged (or stored) table like a user's download; return (summary, notes)."""
    from regrowth.sources import full_edition
    from regrowth.sources.registry import by_table

    source = by_table(table_id)
    path = staged_raw / "kosis" / f"{table_id}.json"
    if not source.variables:
        # no parser yet: the stored rows are checked for table id and unit only
        table = read_stored(path)
        unit = table.unit
        if source.units and unit is not None:
            keys = {full_edition._unit_key(u) for u in source.units}
            if full_edition._unit_key(unit) not in keys:
                raise KosisApiError(f"KOSIS table {table_id}: unit {unit!r} is not one of "
                                    f"{sorted(source.units)}", file=f"kosis/{table_id}.json")
        return (f"table id {table.table_id} verified; unit {unit!r}; not read into the panel "
                "(no parser for this table yet)", table.notes)
    frame, rep = full_edition.read_slot(staged_raw, source, allow_partial=allow_partial)
    notes = check_anchors(frame, table_id, file=rep.file)
    return rep.summary().split(": ", 1)[-1], notes


def fetch_tables(raw_dir: str | Path = "data/raw", tables: Iterable[str] | None = None, *,
                 refresh: bool = False, base: str = KOSIS_BASE, key: str | None = None,
                 end_year: int | None = None, allow_partial: Iterable[str] = (),
                 progress: Callable[[str], None] | None = None,
                 today: _dt.date | None = None, **client_kw) -> FetchReport:
    """Fetch (or check offline) the full-edition tables; store them with lock entries.

    ``key`` defaults to ``$KOSIS_API_KEY``; it is needed only when a table is not stored
    yet (or ``refresh``). Nothing under ``raw_dir/kosis/`` changes unless every table
    was fetched and verified.
    """
    from regrowth.sources import full_edition
    from regrowth.sources.registry import KOSIS_API, by_table, kosis_request

    progress = progress or (lambda text: None)
    raw_dir = Path(raw_dir)
    kosis_dir = raw_dir / "kosis"
    wanted = [kosis_request(t).table_id for t in tables] if tables else \
        [r.table_id for r in KOSIS_API]
    wanted = list(dict.fromkeys(wanted))
    partial = {t.upper() for t in allow_partial}
    lock = read_lock(kosis_dir)
    report = FetchReport()
    todo = []
    for tid in wanted:
        others = [p.name for p in full_edition.slot_files(raw_dir, tid) if p.suffix != ".json"]
        if others:
            raise KosisApiError(
                f"KOSIS table {tid}: data/raw/kosis/ already holds a download of it "
                f"({', '.join(others)}); the panel reads one file per table",
                file=f"kosis/{others[0]}",
                hint=f"move {others[0]} out of data/raw/kosis/ to use the OpenAPI, or leave "
                     f"{tid} out (--table for the others)")
        stored = kosis_dir / f"{tid}.json"
        if not refresh and tid in lock and stored.is_file():
            summary, notes = _verify(raw_dir, tid, allow_partial=tid.upper() in partial)
            report.tables.append(TableResult(tid, f"stored {lock[tid].get('retrieved', '?')} "
                                                  "(offline)", int(lock[tid].get("rows", 0)),
                                             summary, notes))
            progress(f"kosis: {tid}: stored on {lock[tid].get('retrieved', '?')}, read offline")
        else:
            todo.append(tid)
    if not todo:
        return report
    key = key if key is not None else api_key()
    if not key:
        raise KosisApiError(
            f"KOSIS_API_KEY is not set, and {', '.join(todo)} "
            f"{'is' if len(todo) == 1 else 'are'} not stored in data/raw/kosis/ yet",
            hint=KEY_HELP)
    scrub = _scrubber(key)
    end = int(end_year or (today or _dt.date.today()).year)
    retrieved = (today or _dt.date.today()).isoformat()
    fetched: dict[str, tuple[bytes, dict]] = {}
    try:
        with KosisClient(key, base=base, progress=progress, **client_kw) as client:
            for tid in todo:
                req, src = kosis_request(tid), by_table(tid)
                n0 = len(client.calls)
                rows = client.fetch(tid, src.org_id, itm_id=req.itm_id, obj=req.obj,
                                    start=req.start, end=end)
                calls = client.calls[n0:]
                data = rows_bytes(rows)
                requests = [{k: v for k, v in c.params.items() if k.casefold() != "apikey"}
                            for c in calls if c.status in ("rows", "empty (30)")]
                fetched[tid] = (data, {
                    "file": f"{tid}.json", "sha256": _sha256(data), "rows": len(rows),
                    "retrieved": retrieved,
                    "api": urlsplit(client.base)._replace(query="", fragment="").geturl(),
                    "org_id": src.org_id, "years": [req.start, end], "requests": requests})
        # stage beside data/raw/kosis/, verify exactly as the panel will read, then commit
        raw_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".kosis-staging-", dir=raw_dir))
        try:
            (staging / "kosis").mkdir()
            staged_lock = {**lock, **{t: e for t, (d, e) in fetched.items()}}
            for tid, (data, entry) in fetched.items():
                (staging / "kosis" / entry["file"]).write_bytes(data)
            (staging / "kosis" / LOCK_NAME).write_text(lock_text(staged_lock), encoding="utf-8")
            results = []
            for tid in todo:
                summary, notes = _verify(staging, tid, allow_partial=tid.upper() in partial)
                results.append(TableResult(tid, "fetched", fetched[tid][1]["rows"], summary,
                                           notes))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except DataError as exc:
        # the key never reaches a message; the original (httpx) exception is not chained
        raise type(exc)(scrub(exc.message), file=exc.file, row=exc.row, column=exc.column,
                        hint=scrub(exc.hint) if exc.hint else None) from None
    # publish: one transaction (regrowth.files) -- the files and the lock appear together, a
    # concurrent run waits, and the lock is re-read inside so no other run's entry is lost
    with Transaction(kosis_dir, prune=False) as tx:
        current = read_lock(kosis_dir)
        for tid, (data, entry) in fetched.items():
            tx.write_bytes(entry["file"], data)
        tx.write_text(LOCK_NAME, lock_text({**current, **{t: e for t, (d, e) in fetched.items()}}))
    for r in results:
        progress(f"kosis: {r.table_id}: stored data/raw/kosis/{r.table_id}.json ({r.rows} rows)")
    report.tables.extend(results)
    return report


def clean_staging(raw_dir: str | Path) -> list[str]:
    """Remove staging folders a killed run left in ``raw_dir``; return their names."""
    gone = []
    for p in Path(raw_dir).glob(".kosis-staging-*"):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
            gone.append(p.name)
    return gone
