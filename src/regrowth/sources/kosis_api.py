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

**What the real service does** (recorded responses of the real service; the test suite's
``tests/data/kosis_mock.py`` serves responses of the same forms): a JSON array of rows
whose every value is a string (``DT`` ``"-"`` is missing, ``PRD_SE`` ``"A"`` for annual
data, the nation coded ``00`` or ``000``, provinces under
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
import ipaddress
import json
import logging
import os
import re
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Sequence
from urllib.parse import quote, quote_plus, urlsplit


from regrowth.errors import DataError

__all__ = ["KOSIS_BASE", "ENV_KEY", "LOCK_NAME", "KosisApiError", "KosisClient", "parse_body",
           "error_of", "check_base", "api_key"]

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
