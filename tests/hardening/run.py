import sys, json, traceback
sys.path.insert(0, "/tmp/harness")
from cases import *

only = sys.argv[1:]
rows = []
for c in C:
    if only and not any(c["id"].startswith(o) for o in only):
        continue
    restore()
    try:
        if "py" in c:
            rc, out, err = pyrun(c["py"])
            m, tb = msg_of(out, err)
            if rc == 0: verdict, note = "bad", "accepted: " + out.strip().replace("\n", " ")[:120]
            elif tb and not any(x in err for x in ("regrowth.errors", "SpecificationError", "DataError", "ValueError: ")):
                verdict, note = "weak", "traceback"
            else: verdict, note = "good", ""
            lasterr = [l for l in err.strip().splitlines() if l.strip()]
            m = lasterr[-1][:230] if lasterr else m
            rows.append(dict(id=c["id"], group=c["group"], rc=rc, verdict=verdict, note=note, msg=m)); print(rows[-1], flush=True); continue
        c["prep"]()
        before_git = git_status(); before_r = tree_hash(PROJ / "results"); before_p = tree_hash(PROJ / "data/processed")
        if c["id"] == "concurrent-replicate":
            rc, out, err = 0, "", ""
        else:
            rc, out, err = run(c["args"], env=c.get("env"), user=c.get("user"))
        if c.get("user"): ro_restore()
        m, tb = msg_of(out, err)
        after_git = git_status(); after_r = tree_hash(PROJ / "results"); after_p = tree_hash(PROJ / "data/processed")
        notes = []
        if rc != 0 and after_git != before_git: notes.append("git status changed: " + after_git.strip().replace("\n", "; ")[:100])
        verdict = "good"
        if c["expect"] == "refuse":
            if rc == 0: verdict = "bad"; notes.append("exit 0")
            elif tb: verdict = "weak"; notes.append("traceback")
            if rc != 0 and (after_r != before_r or after_p != before_p):
                verdict = "bad"; notes.append("outputs changed on a refused run")
        elif c["expect"] == "ok":
            if rc != 0: verdict = "weak" if not tb else "weak"; notes.append(f"refused rc={rc}")
        else:
            if tb: verdict = "weak"; notes.append("traceback")
        if rc != 0 and after_git != before_git: verdict = "bad"
        if c.get("check") and rc == 0 or c["id"] == "concurrent-replicate":
            v2, n2 = c["check"](out, err)
            if v2 != "good": verdict = v2 if verdict == "good" or v2 == "bad" else verdict
            notes.append(n2)
        rows.append(dict(id=c["id"], group=c["group"], rc=rc, verdict=verdict, note="; ".join(n for n in notes if n), msg=m))
    except Exception as ex:
        rows.append(dict(id=c["id"], group=c["group"], rc=None, verdict="harness-error", note=repr(ex)[:200], msg=""))
    print(rows[-1], flush=True)
restore()
tag = sys.argv[1] if len(sys.argv) > 1 else "all"
json.dump(rows, open(os.environ.get("OUT", f"/tmp/harness/rows-{tag}.json"), "w"), ensure_ascii=False, indent=1)
