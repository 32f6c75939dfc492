"""Hardening harness (issue 8; see tests/HARDENING.md): not collected by pytest.

Setup, once: a scratch clone of the project in $PROJ (default /tmp/hard-proj) with
`regrowth data fetch`, `panel`, `replicate --no-notebooks` run, and a copy of its results/,
data/processed/ and data/raw/ in /tmp/harness/base/{results,processed,raw} (the state every
case is reset to). Then, from this folder: `PROJ=... python run.py [case-prefix ...]`
(writes $OUT or /tmp/harness/rows-<prefix>.json) and `python kill.py replicate|panel N SEED`.
Runs as root use `unshare -m` read-only bind mounts for the read-only cases.
"""
import hashlib, json, os, re, shutil, subprocess, sys, time
from pathlib import Path

PROJ = Path(os.environ.get("PROJ", "/tmp/hard-proj"))
BASE = Path("/tmp/harness/base")
PY = "/work/main/.venv/bin/python"
ENV = dict(os.environ, REGROWTH_DATA_MIRROR="/work/shared/data", MPLBACKEND="Agg",
           PYTHONHASHSEED="0", PYTHONPATH=str(PROJ / "src"))
SPEC = PROJ / "specs" / "models.toml"
PROVS = ["서울특별시", "부산광역시", "대구광역시", "인천광역시", "광주광역시", "대전광역시", "울산광역시",
         "세종특별자치시", "경기도", "강원도", "충청북도", "충청남도", "전라북도", "전라남도", "경상북도",
         "경상남도", "제주특별자치도"]
ENG = ["Seoul", "Busan", "Daegu", "Incheon", "Gwangju", "Daejeon", "Ulsan", "Sejong", "Gyeonggi-do",
       "Gangwon-do", "Chungcheongbuk-do", "Chungcheongnam-do", "Jeollabuk-do", "Jeollanam-do",
       "Gyeongsangbuk-do", "Gyeongsangnam-do", "Jeju-do"]


def tree_hash(d: Path) -> dict:
    out = {}
    if not d.exists():
        return out
    for p in sorted(d.rglob("*")):
        if p.is_file() and p.name != ".regrowth.lock":
            out[str(p.relative_to(d))] = hashlib.sha256(p.read_bytes()).hexdigest()[:12]
    return out


def git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain"], cwd=PROJ, capture_output=True,
                          text=True).stdout


def restore():
    subprocess.run(["git", "checkout", "-q", "--", "."], cwd=PROJ)
    subprocess.run(["git", "clean", "-fdq"], cwd=PROJ)
    for sub in ("results", "data/processed", "data/raw"):
        tgt = PROJ / sub
        subprocess.run(["chmod", "-R", "u+w", str(tgt)], capture_output=True)
        shutil.rmtree(tgt, ignore_errors=True)
        shutil.copytree(BASE / Path(sub).name if sub != "data/raw" else BASE / "raw", tgt,
                        symlinks=True)


def sub(old, new, count=1, path=SPEC):
    t = path.read_text()
    assert old in t, old
    path.write_text(t.replace(old, new, count))


def append(text, path=SPEC):
    path.write_text(path.read_text() + "\n" + text + "\n")


def run(args, env=None, timeout=300, user=None):
    cmd = [PY, "-m", "regrowth", *args]
    if user:  # user = folders to mount read-only
        mounts = " && ".join(f"mount --bind -o ro {PROJ/d} {PROJ/d}" for d in user.split(","))
        cmd = ["unshare", "-m", "sh", "-c", mounts + ' && exec "$@"', "sh", *cmd]
    r = subprocess.run(cmd, cwd=PROJ, env=dict(ENV, **(env or {})), capture_output=True,
                       text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def pyrun(code, timeout=120):
    r = subprocess.run([PY, "-c", code], cwd=PROJ, env=ENV, capture_output=True, text=True,
                       timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def msg_of(out, err):
    txt = (err.strip() or out.strip())
    lines = [l for l in txt.splitlines() if l.strip()]
    tb = "Traceback (most recent call last)" in txt
    # the first error line
    key = [l for l in lines if re.search(r"error|Error|refus|cannot|not |unknown|must", l)]
    m = (key[0] if key else (lines[-1] if lines else "")).strip()
    if m.endswith(":") and m in lines[0] and len(lines) > 1:  # "2 problems ...:" -> first problem
        i = [l.strip() for l in lines].index(m.strip()) if m.strip() in [l.strip() for l in lines] else 0
        m = m + " " + lines[i + 1].strip()
    return m[:230], tb
