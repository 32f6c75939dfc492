import os, random, signal, subprocess, sys, time, json, shutil
sys.path.insert(0, "/tmp/harness")
os.environ["PROJ"] = "/tmp/hard-kill"
from pathlib import Path
import lib
PROJ = Path("/tmp/hard-kill"); lib.PROJ = PROJ
ENV = dict(lib.ENV, PYTHONPATH=str(PROJ / "src"))
CD = os.environ.get("COMMIT_DELAY")
PY = lib.PY
what = sys.argv[1]; n = int(sys.argv[2])
SPEC = PROJ / "specs/models.toml"
orig = SPEC.read_text()
K = PROJ / "data/raw/kosis"
def variant(v):
    if what == "replicate":
        SPEC.write_text(orig if v == "A" else orig.replace('label = "(1)"', 'label = "(1b)"'))
    else:
        if v == "A": shutil.rmtree(K, ignore_errors=True)
        else:
            K.mkdir(exist_ok=True)
            lines = ["행정구역별,2018,2019,2020"] + [f"{p},{40+i},{41+i},{42+i}" for i, p in enumerate(lib.PROVS)]
            (K / "DT_1YL20891.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("cp949"))
args = ["replicate", "--no-notebooks"] if what == "replicate" else ["panel"]
folder = PROJ / ("results" if what == "replicate" else "data/processed")
def run(v, kill_after=None):
    variant(v)
    env = dict(ENV, REGROWTH_TEST_COMMIT_DELAY=CD) if (CD and kill_after is not None) else ENV
    p = subprocess.Popen([PY, "-m", "regrowth", *args], cwd=PROJ, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, start_new_session=True)
    if kill_after is None:
        _, err = p.communicate(); return p.returncode, err
    time.sleep(kill_after)
    os.killpg(p.pid, signal.SIGKILL); p.wait(); return None, b""
hashes = {}
for v in ("A", "B"):
    rc, err = run(v); assert rc == 0, err[-500:]
    hashes[v] = lib.tree_hash(folder)
t_full = {"replicate": 6.0, "panel": 4.5}[what]
state = "B"; counts = {"old": 0, "new": 0, "journal-then-new": 0, "journal-then-old": 0, "MIX": 0}
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
bad = []
for i in range(n):
    target = "A" if state == "B" else "B"
    d = rng.uniform(0.3, t_full) if not CD else rng.uniform(*map(float, os.environ["KILL_RANGE"].split(",")))
    run(target, kill_after=d)
    journal = (folder / ".regrowth-journal.json").exists()
    h0 = lib.tree_hash(folder)
    stray = sorted(k for k in h0 if ".staging-" in k or k.endswith(".tmp"))
    # recover as the next command would
    subprocess.run([PY, "-c", f"from regrowth import files; files.recover({str(folder)!r})"], cwd=PROJ, env=ENV, check=True)
    h = {k: v for k, v in lib.tree_hash(folder).items() if '.staging-' not in k and not k.endswith('.tmp')}
    if h == hashes[target]: r = "new"; state = target
    elif h == hashes[state]: r = "old"
    else:
        r = "MIX"; diff = sorted(k for k in set(h) | set(hashes[target]) if h.get(k) != hashes[target].get(k))
        bad.append((i, d, journal, diff[:6]))
    if journal and r != "MIX": r = "journal-then-" + r
    counts[r] += 1
    print(i, f"{d:.2f}s", r, f"(unpublished leftovers until the next run: {len(stray)})" if stray else "", bad[-1] if r == "MIX" else "", flush=True)
    # the next full run recovers and leaves no leftovers
    if i % 5 == 4:
        rc, err = run(state)
        left = [p.name for p in folder.rglob("*") if p.name.startswith(".staging-") or p.name.endswith(".tmp")]
        assert rc == 0 and lib.tree_hash(folder) == hashes[state] and not left, (rc, err[-300:], left)
print(json.dumps({"what": what, "n": n, "counts": counts, "bad": bad}))
