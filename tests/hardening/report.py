import json, re, sys
from collections import Counter
before = {r["id"]: r for r in json.load(open("/tmp/harness/rows-before.json"))}
after = {r["id"]: r for r in json.load(open("/tmp/harness/rows-after.json"))}
for f, d in (("/tmp/harness/rows-before-extra.json", before), ("/tmp/harness/rows-after-extra.json", after),
             ("/tmp/harness/rows-before-fe.json", before), ("/tmp/harness/rows-after-fe.json", after),
             ("/tmp/harness/rows-after-macro.json", after), ("/tmp/harness/rows-after-unit.json", after), ("/tmp/harness/rows-before-real.json", before), ("/tmp/harness/rows-after-real.json", after), ("/tmp/harness/rows-after-real2.json", after), ("/tmp/harness/rows-after-msg.json", after)):
    try:
        for r in json.load(open(f)): d[r["id"]] = r
    except FileNotFoundError: pass
# judgement of cases the automatic rule misreads (reason in the table's note column)
OVR_BEFORE = {
 "spec-exposure-and-regressor": ("good", "exposure=population with ln_population as regressor is a valid model (tests elasticity 1); the same variable in both is refused"),
 "spec-estimator-uppercase": ("good", "estimator names are case-insensitive aliases"),
 "spec-one-year-with-year-effects": ("bad", "BoundaryWarning only in the log; table showed the estimates as if clean"),
 "processed-parquet-edited-values": ("good", "replicate fits the panel it is given (documented); not an error"),
 "fe-footnote-marks": ("good", "41.2¹ read as 41.2"),
 "fe-xlsx-meta-wrong-id": ("bad", "meta sheet without '○' ignored: file of DT_1YL20921 read as 'id not verified'"),
 "fe-title-rows": ("good", "refused naming row 1 and the header row; hint: delete the title rows or re-download"),
 "fe-xlsx-meta-right-id": ("weak", "refused for the (단위: %) row above the header; hint says delete it, losing the unit"),
 "fe-patents-thousand-unit": ("weak", "(단위: 천건) row above header: hint says delete it -> 천건 would then be read as 건"),
 "fe-wrong-unit": ("weak", "(단위: 천원) row refused as a title row; hint says delete it (the unit is then unchecked)"),
 "ro-processed-panel": ("weak", "read-only data/processed reported only after every source was parsed"),
 "data-fetch-corrupt-repair": ("good", "a changed file is never overwritten: named, hint delete it and rerun"),
 "py-gnb-nan-exog": ("good", "the NaN row is dropped (nobs 79), as documented"),
 "py-fgls-one-panel": ("good", "one panel is a valid xtgls fit"),
 "cli-raw-dir-missing": ("good", "--raw-dir data/nope is created and filled from the mirror (under data/)"),
 "raw-file-missing": ("good", "the missing file is re-acquired from the mirror and verified"),
 "fe-spec-uses-full-edition": ("weak", "table notes did not say the full-edition coverage (codebook only)"),
 "spec-se-groups-macro-region": ("weak", "ValueError traceback from the descriptives table after fitting (text cluster column); nothing written"),
 "fe-text-in-value-cell": ("good", "'n/a' is a documented missing marker; the log says 50 values (not 51)"),
 "fe-real-population-in-patents-slot": ("weak", "a 시군구 population file in the patents slot: only 'unknown region name (Ulsan-si); did you mean Busan-si'"),
 "failing-fit-keeps-last-good": ("good", "fgls_correlated with year effects fails (singular); table4 keeps its last good files; exit 1"),
}
OVR_AFTER = {k: v for k, v in OVR_BEFORE.items() if v[0] == "good"}
OVR_AFTER.update({
 "spec-one-year-with-year-effects": ("good", "table notes: 'Column (1) (gnb_main): BoundaryWarning: ...'"),
 "fe-xlsx-meta-right-id": ("good", "refused; the hint now says to move '(단위: %)' into the header cell"),
 "fe-patents-thousand-unit": ("good", "refused; hint: keep the unit as '행정구역별(단위: 천건)' (then converted x1000)"),
 "fe-wrong-unit": ("good", "refused; names the unit 천원 in the row; once in the header, refused as a wrong unit"),
})
def verdict(d, ovr, k):
    if k not in d: return None, ""
    if k in ovr and (d[k]["verdict"] != "good" or ovr[k][0] != "good" or d is before):
        return ovr[k]
    return d[k]["verdict"], d[k].get("note", "")
def esc(t): return str(t).replace("|", "\\|").replace("\n", " ")
ids = list(before) + [k for k in after if k not in before]
lines, cb, ca = [], Counter(), Counter()
for i, k in enumerate(ids, 1):
    vb, nb = verdict(before, OVR_BEFORE, k); va, na = verdict(after, OVR_AFTER, k)
    if vb: cb[vb] += 1
    if va: ca[va] += 1
    r = after.get(k) or before[k]
    msg = re.sub(r"^regrowth: error: ", "", r["msg"])[:150]
    note = na or (("before: " + nb) if nb and vb != va else nb)
    lines.append(f"| {i} | {r['group']} | `{k}` | {vb or '-'} | {va or '-'} | {esc(msg)}{' — ' + esc(note) if note and note not in ('exit 0',) else ''} |")
json.dump({"before": cb, "after": ca}, open("/tmp/harness/counts.json", "w"))
print(len(ids), "before", dict(cb), "after", dict(ca), file=sys.stderr)
print("\n".join(lines))
