from lib import *

C = []
def case(cid, group, args=("replicate", "--no-notebooks"), expect="refuse", check=None, env=None, user=None):
    def deco(prep):
        C.append(dict(id=cid, group=group, prep=prep, args=list(args), expect=expect, check=check, env=env, user=user))
        return prep
    return deco

R = ("replicate", "--no-notebooks")
# ------------------------------------------------------------------ specs
@case("spec-table-key-typo", "spec")
def _(): sub("notes = [", "note = [")
@case("spec-column-key-typo-exlude", "spec")
def _(): sub('exclude = ["sejong"]', 'exlude = ["sejong"]')
@case("spec-column-key-estimater", "spec")
def _(): sub('estimator = "gnb"', 'estimater = "gnb"')
@case("spec-se-key-typ", "spec")
def _(): sub('se = { type = "cluster"', 'se = { typ = "cluster"')
@case("spec-se-type-unknown", "spec")
def _(): sub('type = "cluster"', 'type = "clustre"')
@case("spec-se-type-not-allowed-fgls-cluster", "spec")
def _(): sub('se = { type = "unadjusted" }\noptions = { panels = "hetero", corr = "ar1" }', 'se = { type = "cluster", groups = "region" }\noptions = { panels = "hetero", corr = "ar1" }')
@case("spec-se-type-kernel-gnb", "spec")
def _(): sub('se = { type = "oim" }', 'se = { type = "kernel" }')
@case("spec-se-groups-unknown", "spec")
def _(): sub('groups = "region"', 'groups = "province"')
@case("spec-se-groups-int", "spec")
def _(): sub('groups = "region"', 'groups = 3')
@case("spec-se-not-table", "spec")
def _(): sub('se = { type = "oim" }', 'se = "oim"')
@case("spec-bootstrap-key-typo", "spec")
def _(): sub('se = { type = "cluster", groups = "region" }\nrationale = "Robustness: GLS', 'se = { type = "cluster", groups = "region", bootstrap = { rep = 99 } }\nrationale = "Robustness: GLS')
@case("spec-bootstrap-weights-unknown", "spec")
def _(): sub('se = { type = "cluster", groups = "region" }\nrationale = "Robustness: GLS', 'se = { type = "cluster", groups = "region", bootstrap = { reps = 99, weights = "rademacer" } }\nrationale = "Robustness: GLS')
@case("spec-bootstrap-reps-string", "spec")
def _(): sub('se = { type = "cluster", groups = "region" }\nrationale = "Robustness: GLS', 'se = { type = "cluster", groups = "region", bootstrap = { reps = "99" } }\nrationale = "Robustness: GLS')
@case("spec-bootstrap-on-fgls-unadjusted", "spec")
def _(): sub('se = { type = "unadjusted" }', 'se = { type = "unadjusted", bootstrap = { reps = 99 } }')
@case("spec-options-key-typo", "spec")
def _(): sub('options = { panels = "hetero", corr = "ar1" }', 'options = { panel = "hetero", corr = "ar1" }')
@case("spec-options-value-unknown", "spec")
def _(): sub('options = { panels = "hetero", corr = "ar1" }', 'options = { panels = "hetero", corr = "ar2" }')
@case("spec-options-igls-string", "spec")
def _(): sub('options = { panels = "hetero", corr = "ar1" }', 'options = { panels = "hetero", corr = "ar1", igls = "false" }')
@case("spec-options-tol-string", "spec")
def _(): sub('options = { panels = "hetero", corr = "ar1" }', 'options = { panels = "hetero", corr = "ar1", tol = "1e-7" }')
@case("spec-options-maxiter-float", "spec")
def _(): sub('options = { panels = "hetero", corr = "ar1" }', 'options = { panels = "hetero", corr = "ar1", maxiter = 1.5 }')
@case("spec-options-on-gnb", "spec")
def _(): sub('se = { type = "oim" }', 'se = { type = "oim" }\noptions = { maxiter = 50 }')
@case("spec-options-bandwidth-negative", "spec")
def _(): sub('options = { bandwidth = 2 }', 'options = { bandwidth = -2 }')
@case("spec-options-kernel-typo", "spec")
def _(): sub('options = { bandwidth = 2 }', 'options = { bandwidth = 2, kernel = "bartlet" }')
@case("spec-options-not-table", "spec")
def _(): sub('options = { bandwidth = 2 }', 'options = "bandwidth=2"')
@case("spec-labels-nonstring", "spec")
def _(): sub('ln_rnd_l1 = "ln R&D expenditure, t-1"', 'ln_rnd_l1 = 3')
@case("spec-labels-unknown-variable", "spec", expect="either")
def _(): append('zz_not_a_variable = "Zed"', )
@case("spec-edition-key-typo", "spec")
def _(): sub("summary = ", "sumary = ")
@case("spec-edition-name-int", "spec")
def _(): sub('name = "public"', 'name = 1')
@case("spec-curve-not-array", "spec")
def _(): sub('[edition]', 'curve = "x"\n[edition]')
@case("spec-curve-entry", "spec")
def _(): append('[[curve]]\nid = "c1"\nvariabel = "x"')
@case("spec-toplevel-unknown-section", "spec")
def _(): append('[lables]\nx = "y"')
@case("spec-year-effects-string", "spec")
def _(): sub("year_effects = false", 'year_effects = "false"')
@case("spec-year-effects-int", "spec")
def _(): sub("year_effects = false", 'year_effects = 0')
@case("spec-province-effects-re", "spec")
def _(): sub('estimator = "re"\n', 'estimator = "re"\nprovince_effects = true\n')
@case("spec-fe-province-effects-false", "spec")
def _(): sub('estimator = "fe"\n', 'estimator = "fe"\nprovince_effects = false\n')
@case("spec-estimator-unknown", "spec")
def _(): sub('estimator = "gnb"', 'estimator = "gnbreg"')
@case("spec-estimator-uppercase", "spec", expect="either")
def _(): sub('estimator = "gnb"', 'estimator = "GNB"')
@case("spec-estimator-int", "spec")
def _(): sub('estimator = "gnb"', 'estimator = 3')
@case("spec-outcome-missing-variable", "spec")
def _(): sub('outcome = "patents_fintech"', 'outcome = "patents_fintek"')
@case("spec-readme-fiscal-autonomy", "spec")
def _(): sub('regressors = ["fiscal_self_reliance_l1", "ln_rnd_l1"', 'regressors = ["fiscal_autonomy_l1", "ln_rnd_l1"')
@case("spec-regressors-string", "spec")
def _(): sub('regressors = ["fiscal_self_reliance_l1", "ln_rnd_l1", "higher_ed_pct", "ln_population", "ln_grdp_pc_nominal"]', 'regressors = "fiscal_self_reliance_l1"')
@case("spec-dispersion-on-nb2", "spec")
def _(): sub('estimator = "nb2"\n', 'estimator = "nb2"\ndispersion = ["capital_region"]\n')
@case("spec-exposure-on-fgls", "spec")
def _(): sub('estimator = "fgls"\n', 'estimator = "fgls"\nexposure = "population"\n')
@case("spec-exposure-and-regressor", "spec")
def _(): sub('regressors = ["fiscal_self_reliance_l1", "ln_rnd_l1", "higher_ed_pct", "ln_grdp_pc_nominal"]', 'regressors = ["fiscal_self_reliance_l1", "ln_rnd_l1", "higher_ed_pct", "ln_population", "ln_grdp_pc_nominal"]')
@case("spec-outcome-in-regressors", "spec")
def _(): sub('regressors = ["fiscal_self_reliance_l1", "ln_rnd_l1"', 'regressors = ["patents_fintech", "ln_rnd_l1"')
@case("spec-duplicate-regressor", "spec")
def _(): sub('regressors = ["fiscal_self_reliance_l1", "ln_rnd_l1"', 'regressors = ["ln_rnd_l1", "ln_rnd_l1"')
@case("spec-years-reversed", "spec")
def _(): sub('years = [2015, 2020]', 'years = [2020, 2015]')
@case("spec-years-three", "spec")
def _(): sub('years = [2015, 2020]', 'years = [2015, 2018, 2020]')
@case("spec-years-strings", "spec")
def _(): sub('years = [2015, 2020]', 'years = ["2015", "2020"]')
@case("spec-years-empty-sample", "spec")
def _(): sub('years = [2015, 2020]', 'years = [2030, 2031]')
@case("spec-one-year-with-year-effects", "spec")
def _(): sub('years = [2015, 2020]', 'years = [2018, 2018]')
@case("spec-exclude-unknown-region", "spec")
def _(): sub('exclude = ["sejong"]', 'exclude = ["Sejon"]')
@case("spec-exclude-alias-Sejong", "spec", expect="ok")
def _(): sub('exclude = ["sejong"]', 'exclude = ["Sejong"]')
@case("spec-exclude-korean", "spec", expect="ok")
def _(): sub('exclude = ["sejong"]', 'exclude = ["세종"]')
@case("spec-exclude-everything", "spec")
def _():
    allr = ", ".join(f'"{p}"' for p in PROVS)
    sub('exclude = ["sejong"]', f'exclude = [{allr}]')
@case("spec-exclude-string-not-list", "spec")
def _(): sub('exclude = ["sejong"]', 'exclude = "sejong"')
@case("spec-drop-if-nonflag", "spec")
def _(): sub('exclude = ["sejong"]', 'exclude = ["sejong"], drop_if = ["ln_population"]')
@case("spec-drop-if-unknown", "spec")
def _(): sub('exclude = ["sejong"]', 'exclude = ["sejong"], drop_if = ["capitol_region"]')
@case("spec-sample-key-typo", "spec")
def _(): sub('sample = { years = [2015, 2020]', 'sample = { year = [2015, 2020]')
@case("spec-table-id-path", "spec")
def _(): sub('id = "table1_innovation"', 'id = "../../evil"')
@case("spec-table-id-absolute", "spec")
def _(): sub('id = "table1_innovation"', 'id = "/tmp/evil"')
@case("spec-table-id-uppercase", "spec")
def _(): sub('id = "table1_innovation"', 'id = "Table1"')
@case("spec-column-id-slash", "spec")
def _(): sub('id = "gnb_main"', 'id = "gnb/main"')
@case("spec-duplicate-table-id", "spec")
def _(): sub('id = "table2_growth"', 'id = "table1_innovation"')
@case("spec-duplicate-column-id", "spec")
def _(): sub('id = "gnb_no_year"', 'id = "gnb_main"')
@case("spec-column-id-missing", "spec")
def _(): sub('id = "gnb_no_year"\n', '')
@case("spec-table-no-columns", "spec")
def _(): append('[[table]]\nid = "table9_empty"\ntitle = "Empty"')
@case("spec-focus-unknown-term", "spec")
def _(): sub('notes = [\n  "Dependent variable: fintech', 'focus = ["fiscal_self_reliance_l2"]\nnotes = [\n  "Dependent variable: fintech')
@case("spec-toml-syntax", "spec")
def _(): sub('year_effects = true', 'year_effects = tru')
@case("spec-file-missing", "spec", args=("replicate", "--no-notebooks", "--specs", "specs/nope.toml"))
def _(): pass
@case("spec-file-empty", "spec")
def _(): SPEC.write_text("")
@case("spec-column-unknown-key-weights", "spec")
def _(): sub('estimator = "poisson"\n', 'estimator = "poisson"\nweights = "population"\n')
@case("spec-label-formula-injection", "spec", expect="ok",
      check=lambda o, e: csv_check("table1_innovation.csv", "=HYPERLINK"))
def _(): sub('label = "(1)"', 'label = "=HYPERLINK(\\"http://x\\")"')
@case("spec-title-formula-injection", "spec", expect="ok",
      check=lambda o, e: csv_check("table1_innovation.csv", "+cmd"))
def _(): sub('title = "Table 1.', 'title = "+cmd|Table 1.')
@case("spec-notes-formula-injection", "spec", expect="ok",
      check=lambda o, e: csv_check("table1_innovation.csv", "@SUM(A1)"))
def _(): sub('notes = [\n  "Dependent variable: fintech', 'notes = [\n  "@SUM(A1)", "Dependent variable: fintech')
@case("spec-labels-formula-injection", "spec", expect="ok",
      check=lambda o, e: csv_check("table1_innovation.csv", "-2+3"))
def _(): sub('ln_rnd_l1 = "ln R&D expenditure, t-1"', 'ln_rnd_l1 = "-2+3 R&D"')
# ------------------------------------------------------------------ --only and CLI
@case("only-unknown", "cli", args=("replicate", "--no-notebooks", "--only", "table9"))
def _(): pass
@case("only-prefix", "cli", args=("replicate", "--no-notebooks", "--only", "table1"))
def _(): pass
@case("only-twice-same", "cli", args=("replicate", "--no-notebooks", "--only", "table1_innovation", "--only", "table1_innovation"), expect="ok")
def _(): pass
@case("only-column-id", "cli", args=("replicate", "--no-notebooks", "--only", "gnb_main"))
def _(): pass
@case("only-valid-keeps-others", "cli", args=("replicate", "--no-notebooks", "--only", "table2_growth"), expect="ok",
      check=lambda o, e: same_tree("results"))
def _(): pass
@case("cli-unknown-flag", "cli", args=("replicate", "--no-notebookz"))
def _(): pass
@case("cli-unknown-command", "cli", args=("replicat",))
def _(): pass
@case("cli-show-unknown", "cli", args=("show", "table9"))
def _(): pass
@case("cli-allow-partial-unknown-id", "cli", args=("panel", "--allow-partial", "DT_XXXX"))
def _(): pass
@case("cli-processed-dir-missing", "cli", args=("replicate", "--no-notebooks", "--processed-dir", "data/nope"))
def _(): pass
@case("cli-raw-dir-missing", "cli", args=("--raw-dir", "data/nope", "panel"), expect="either")
def _(): pass
@case("cli-results-dir-is-file", "cli", args=("replicate", "--no-notebooks", "--results-dir", "README.md"))
def _(): pass
# ------------------------------------------------------------------ raw data
P = ("panel",)
RAW = PROJ / "data" / "raw"
def rawfile(rel):
    p = RAW / rel
    os.chmod(p, 0o644)
    return p
@case("raw-file-missing", "data", args=P, expect="ok")
def _(): rawfile("kosis_grdp_population/Resident_Population_by_City__County__and_District_1992-2020.csv").unlink()
@case("raw-file-corrupt-byte", "data", args=P)
def _():
    p = rawfile("kosis_fiscal_self_reliance/fiscal_autonomy_DT_1YL20921_sido_rows_excerpt.csv")
    b = bytearray(p.read_bytes()); b[200] = ord("9") if b[200] != ord("9") else ord("8"); p.write_bytes(bytes(b))
@case("raw-file-empty", "data", args=P)
def _(): rawfile("real_grdp_per_capita/GRDP_09WON_state.csv").write_bytes(b"")
@case("raw-xlsx-truncated", "data", args=P)
def _():
    p = rawfile("kipris_fintech_and_kosis_2014_2023/kongzhi3_TECyanfafei2014-2023.xlsx"); p.write_bytes(p.read_bytes()[:500])
@case("manifest-checksum-edited", "data", args=P)
def _():
    m = PROJ / "data/raw/MANIFEST.toml"; t = m.read_text()
    i = t.index('sha256 = "') + 10; m.write_text(t[:i] + ("0" if t[i] != "0" else "1") + t[i+1:])
@case("data-verify-corrupt", "data", args=("data", "verify"))
def _():
    p = rawfile("real_grdp_per_capita/GRDP_09WON_state.csv"); p.write_bytes(p.read_bytes() + b"\n")
@case("data-fetch-no-mirror", "data", args=("data", "fetch"), env={"REGROWTH_DATA_MIRROR": "/nonexistent"})
def _(): rawfile("real_grdp_per_capita/GRDP_09WON_state.csv").unlink()
@case("data-fetch-corrupt-repair", "data", args=("data", "fetch"), expect="ok",
      check=lambda o, e: ("good", "") if hashlib.sha256((RAW/"real_grdp_per_capita/GRDP_09WON_state.csv").read_bytes()).hexdigest()[:12] == hashlib.sha256((BASE/"raw/real_grdp_per_capita/GRDP_09WON_state.csv").read_bytes()).hexdigest()[:12] else ("bad", "not repaired"))
def _():
    p = rawfile("real_grdp_per_capita/GRDP_09WON_state.csv"); p.write_bytes(p.read_bytes() + b"\n")
@case("processed-missing", "data")
def _(): shutil.rmtree(PROJ / "data/processed")
@case("processed-parquet-corrupt", "data")
def _(): (PROJ / "data/processed/panel.parquet").write_bytes(b"PAR1garbage")
@case("processed-parquet-missing-column", "data")
def _():
    import pandas as pd
    p = PROJ / "data/processed/panel.parquet"; df = pd.read_parquet(p); df.drop(columns=["ln_rnd_l1"]).to_parquet(p)
@case("processed-parquet-edited-values", "data")
def _():
    import pandas as pd
    p = PROJ / "data/processed/panel.parquet"; df = pd.read_parquet(p); df["ln_rnd_l1"] = df["ln_rnd_l1"] * 2; df.to_parquet(p)
@case("processed-codebook-missing", "data", expect="either")
def _(): (PROJ / "data/processed/codebook.csv").unlink()
# ------------------------------------------------------------------ full edition drop-ins
K = RAW / "kosis"
def kcsv(name="DT_1YL20891.csv", provs=PROVS, years=(2018, 2019, 2020), enc="cp949", head="행정구역별",
         fmt=lambda i, y: f"{40 + i + (y - 2018)}", pre=(), post=(), ycol=lambda y: str(y)):
    K.mkdir(exist_ok=True)
    lines = list(pre) + [",".join([head] + [ycol(y) for y in years])]
    for i, r in enumerate(provs):
        lines.append(",".join([r] + [fmt(i, y) for y in years]))
    lines += list(post)
    (K / name).write_bytes(("\r\n".join(lines) + "\r\n").encode(enc))
def kxlsx(name="DT_1YL20891.xlsx", meta_id=None, unit=None, formula=False, first_sheet=None, provs=PROVS):
    import openpyxl
    K.mkdir(exist_ok=True)
    wb = openpyxl.Workbook(); ws = wb.active
    if first_sheet == "notes":
        ws.title = "주석"; ws.append(["이 통계표는 ..."]); ws = wb.create_sheet("데이터")
    elif first_sheet == "empty":
        ws.title = "Sheet0"; ws = wb.create_sheet("데이터")
    else:
        ws.title = "데이터"
    if unit: ws.append([f"(단위: {unit})"])
    ws.append(["행정구역별", "2018", "2019", "2020"])
    for i, r in enumerate(provs):
        if formula: ws.append([r, f"={40+i}+0", f"={41+i}+0", f"={42+i}+0"])
        else: ws.append([r, 40.0 + i, 41.0 + i, 42.0 + i])
    if meta_id:
        m = wb.create_sheet("메타정보"); m.append(["통계표ID", meta_id]); m.append(["통계표명", "재정자주도"]); m.append(["단위", unit or "%"])
    wb.save(K / name)
def fe_ok_check(o, e):
    import pandas as pd
    book = pd.read_csv(PROJ / "data/processed/codebook.csv").set_index("name")
    # the full-edition slot of DT_1YL20891 fills fiscal_autonomy_kosis (fiscal_autonomy is the
    # public e-jibangjipyo series, which a download must not overwrite)
    if "fiscal_autonomy_kosis" not in book.index: return ("bad", "fiscal_autonomy_kosis not in codebook")
    p = pd.read_parquet(PROJ / "data/processed/panel.parquet").set_index(["region", "year"])
    v = p.loc[("busan", 2019), "fiscal_autonomy_kosis"]
    if v != 42.0: return ("bad", f"busan2019={v}, expected 42")
    return ("good", f"busan2019={v}; notes={str(book.loc['fiscal_autonomy_kosis','notes'])[:80]}")
@case("fe-cp949-ok", "full", args=P, expect="ok", check=fe_ok_check)
def _(): kcsv()
@case("fe-utf8-ok", "full", args=P, expect="ok", check=fe_ok_check)
def _(): kcsv(enc="utf-8")
@case("fe-utf8-bom-ok", "full", args=P, expect="ok", check=fe_ok_check)
def _(): kcsv(enc="utf-8-sig")
@case("fe-english-export", "full", args=P, expect="ok", check=fe_ok_check)
def _(): kcsv(provs=ENG, head="By administrative district", enc="utf-8")
@case("fe-code-included", "full", args=P, expect="ok", check=fe_ok_check)
def _(): kcsv(provs=[f"{11+i} {p}" for i, p in enumerate(PROVS)], head="행정구역별", ycol=lambda y: f"Y{y} {y}")
@case("fe-title-rows", "full", args=P, expect="ok", check=fe_ok_check)
def _(): kcsv(pre=["재정자주도(시도)", "(단위: %)", ""])
@case("fe-footnote-marks", "full", args=P)
def _(): kcsv(fmt=lambda i, y: f"{40 + i}.2¹", enc="utf-8")
@case("fe-wrong-unit", "full", args=P)
def _(): kcsv(pre=["(단위: 천원)"])
@case("fe-xlsx-meta-wrong-id", "full", args=P)
def _(): kxlsx(meta_id="DT_1YL20921")
@case("fe-xlsx-meta-right-id", "full", args=P, expect="ok", check=fe_ok_check)
def _(): kxlsx(meta_id="DT_1YL20891", unit="%")
@case("fe-xlsx-formula-no-cache", "full", args=P)
def _(): kxlsx(formula=True)
@case("fe-xlsx-notes-first-sheet", "full", args=P, expect="either")
def _(): kxlsx(first_sheet="notes")
@case("fe-xlsx-empty-first-sheet", "full", args=P, expect="either")
def _(): kxlsx(first_sheet="empty")
@case("fe-duplicate-download-(1)", "full", args=P)
def _(): kcsv(); kcsv(name="DT_1YL20891 (1).csv")
@case("fe-csv-and-xlsx", "full", args=P)
def _(): kcsv(); kxlsx()
@case("fe-near-name-DT_1YL208910", "full", args=P, expect="ok",
      check=lambda o, e: ("good", "not read, listed") if "DT_1YL208910" in o + e else ("weak", "file not mentioned"))
def _(): kcsv(name="DT_1YL208910.csv")
@case("fe-partial-coverage", "full", args=P)
def _(): kcsv(provs=PROVS[:10])
@case("fe-partial-allowed", "full", args=("panel", "--allow-partial", "DT_1YL20891"), expect="ok")
def _(): kcsv(provs=PROVS[:10])
@case("fe-monthly-periods", "full", args=P)
def _(): kcsv(years=(2020, 2021, 2022), ycol=lambda y: f"2020.{y-2019:02d}")
@case("fe-duplicate-province-rows", "full", args=P)
def _(): kcsv(provs=PROVS + ["서울특별시"])
@case("fe-empty-file", "full", args=P)
def _(): K.mkdir(exist_ok=True); (K / "DT_1YL20891.csv").write_bytes(b"")
@case("fe-binary-garbage", "full", args=P)
def _(): K.mkdir(exist_ok=True); (K / "DT_1YL20891.xlsx").write_bytes(os.urandom(3000))
@case("fe-saved-in-raw-root", "full", args=P)
def _(): kcsv(); (K / "DT_1YL20891.csv").rename(RAW / "DT_1YL20891.csv")
@case("fe-real-migest-in-wrong-slot", "full", args=P)
def _():
    K.mkdir(exist_ok=True); shutil.copy(PROJ / "tests/data/files/real/migest_DT_1B26003_A01_annual_code_included.xlsx", K / "DT_1YL20891.xlsx")
@case("fe-real-grdp-xlsx-in-slot", "full", args=P)
def _():
    K.mkdir(exist_ok=True); shutil.copy(BASE / "raw/kosis_grdp_population/Regional_GDP__Gross_regional_income_and_Individual_income_20231118124541.xlsx", K / "DT_1YL20891.xlsx")
@case("fe-real-fiscal-self-reliance-in-slot", "full", args=P)
def _():
    K.mkdir(exist_ok=True); shutil.copy(BASE / "raw/kosis_fiscal_self_reliance/fiscal_autonomy_DT_1YL20921_sido_rows_excerpt.csv", K / "DT_1YL20891.csv")
@case("fe-patents-thousand-unit", "full", args=P, expect="ok",
      check=lambda o, e: patents_check())
def _(): kcsv(name="DT_1YL202109E.csv", pre=["(단위: 천건)"], fmt=lambda i, y: f"{1 + i/10:.1f}")
@case("fe-sejong-zero-before-2012", "full", args=P, expect="ok",
      check=lambda o, e: sejong_check())
def _(): kcsv(years=(2010, 2011, 2012, 2013), fmt=lambda i, y: "0" if (PROVS[i].startswith("세종") and y < 2012) else f"{40+i}")
@case("fe-provisional-p", "full", args=P, expect="ok")
def _(): kcsv(ycol=lambda y: f"{y} p)" if y == 2020 else str(y))
@case("fe-spec-uses-full-edition", "full", expect="ok", check=lambda o, e: fe_note_check())
def _():
    # the spec declares the full-edition column (Table 3 (7), edition = "full"): the
    # download alone makes it run
    kcsv(years=tuple(range(2013, 2021)))
    subprocess.run([PY, "-m", "regrowth", "panel"], cwd=PROJ, env=ENV, capture_output=True)
def csv_check(name, needle):
    t = (PROJ / "results/tables" / name).read_text()
    for line in t.splitlines():
        for cell in line.split(","):
            c = cell.strip().strip('"')
            if c.startswith(needle): return ("bad", f"unescaped cell {c[:30]}")
    return ("good", "escaped") if needle in t else ("weak", "text not in csv")
def same_tree(sub):
    return ("good", "")
def patents_check():
    import pandas as pd
    p = pd.read_parquet(PROJ / "data/processed/panel.parquet").set_index(["region", "year"])
    if "patents_all" not in p.columns: return ("bad", "no patents_all")
    return ("good", f"seoul2019={p.loc[('seoul', 2019), 'patents_all']}")
def sejong_check():
    import pandas as pd
    p = pd.read_parquet(PROJ / "data/processed/panel.parquet").set_index(["region", "year"])
    v = p.loc[("sejong", 2011), "fiscal_autonomy_kosis"] if ("sejong", 2011) in p.index else "absent"
    return ("good" if str(v) in ("nan", "absent", "<NA>") else "bad", f"sejong2011={v}")
def fe_note_check():
    t = (PROJ / "results/tables/table3_innovation_robustness.csv").read_text()
    ok = "DT_1YL20891" in t or "fiscal autonomy" in t.lower() and "provinces" in t
    return ("good" if "DT_1YL20891" in t else "weak", "table notes name coverage" if "DT_1YL20891" in t else "table notes do not say full-edition coverage")
# ------------------------------------------------------------------ outputs and faults
def ro_prep(*dirs):
    subprocess.run(["chown", "-R", "nobody", str(PROJ / "results"), str(PROJ / "data/processed")])
    for d in dirs:
        subprocess.run(["chmod", "-R", "a-w", str(PROJ / d)])
def ro_restore():
    return
    subprocess.run(["chown", "-R", "root", str(PROJ / "results"), str(PROJ / "data/processed")])
@case("ro-results", "fault", user="results", check=lambda o, e: ("good" if "fitted" not in o and "[1/" not in o else "weak", "before fitting?"))
def _(): pass
@case("ro-results-tables-only", "fault", user="results/tables")
def _(): pass
@case("ro-processed-panel", "fault", args=P, user="data/processed",
      check=lambda o, e: ("good" if "parse" not in o.lower() and "read" not in o.lower() else "weak", "reported after building?"))
def _(): pass
@case("user-file-in-results-tables", "fault", expect="ok",
      check=lambda o, e: ("good", "") if (PROJ / "results/tables/my_notes.md").exists() else ("bad", "user file deleted"))
def _(): (PROJ / "results/tables/my_notes.md").write_text("mine\n")
@case("user-file-only-and-prune", "fault", args=("replicate", "--no-notebooks", "--only", "table1_innovation"), expect="ok",
      check=lambda o, e: ("good", "") if (PROJ / "results/tables/my_notes.md").exists() and (PROJ/"results/tables/table2_growth.md").exists() else ("bad", "file lost"))
def _(): (PROJ / "results/tables/my_notes.md").write_text("mine\n")
@case("user-file-in-processed", "fault", args=P, expect="ok",
      check=lambda o, e: ("good", "") if (PROJ / "data/processed/my.csv").exists() else ("bad", "user file deleted"))
def _(): (PROJ / "data/processed/my.csv").write_text("a\n")
@case("leftover-staging-and-tmp", "fault", expect="ok",
      check=lambda o, e: ("good", "") if not list((PROJ/"results").glob(".staging-*")) and not (PROJ/"results/tables/.t.md.abcd1234.tmp").exists() else ("bad", "leftovers stay"))
def _():
    (PROJ / "results/.staging-99999/tables").mkdir(parents=True); (PROJ / "results/.staging-99999/tables/t.md").write_text("x")
    (PROJ / "results/tables/.t.md.abcd1234.tmp").write_text("x")
@case("results-manifest-corrupt", "fault", expect="either")
def _(): (PROJ / "results/.regrowth-manifest.json").write_text("{not json")
@case("results-journal-corrupt", "fault", expect="either")
def _(): (PROJ / "results/.regrowth-journal.json").write_text("{not json")
@case("results-deleted", "fault", expect="ok")
def _(): shutil.rmtree(PROJ / "results")
@case("failing-fit-keeps-last-good", "fault", expect="either",
      check=lambda o, e: ("good", "kept") if (PROJ/"results/tables/table2_growth.md").read_text() == (BASE/"results/tables/table2_growth.md").read_text() else ("bad", "table2 changed after a failed fit"))
def _(): sub('sample = { years = [2002, 2017], exclude = ["sejong"] }\nse = { type = "unadjusted" }\noptions = { panels = "correlated", corr = "ar1" }', 'year_effects = true\nsample = { years = [2002, 2017], exclude = ["sejong"] }\nse = { type = "unadjusted" }\noptions = { panels = "correlated", corr = "ar1" }')
@case("concurrent-replicate", "fault", expect="ok", check=lambda o, e: concurrent())
def _(): pass
# ------------------------------------------------------------------ estimators from Python
PYCASES = {
 "py-gnb-constant-outcome": "import numpy as np,pandas as pd\nfrom regrowth.models import GeneralizedNegativeBinomial as G\nX=pd.DataFrame({'c':1.0,'x':np.arange(50.)});y=pd.Series(3.0,index=X.index)\nprint(G(y,X).fit().params)",
 "py-gnb-all-zero": "import numpy as np,pandas as pd\nfrom regrowth.models import GeneralizedNegativeBinomial as G\nX=pd.DataFrame({'c':1.0,'x':np.arange(50.)});y=pd.Series(0.0,index=X.index)\nprint(G(y,X).fit().params)",
 "py-gnb-misaligned": "import numpy as np,pandas as pd\nfrom regrowth.models import GeneralizedNegativeBinomial as G\nX=pd.DataFrame({'c':1.0,'x':np.arange(50.)});y=pd.Series(np.arange(50)%5,index=X.index+1)\nprint(G(y,X).fit().params)",
 "py-gnb-one-cluster": "import numpy as np,pandas as pd\nfrom regrowth.models import GeneralizedNegativeBinomial as G\nr=np.random.default_rng(0);X=pd.DataFrame({'c':1.0,'x':r.normal(size=80)});y=pd.Series(r.poisson(3,80))\nprint(G(y,X).fit(cov_type='cluster',cov_kwds={'groups':np.zeros(80)}).bse)",
 "py-gnb-nan-exog": "import numpy as np,pandas as pd\nfrom regrowth.models import GeneralizedNegativeBinomial as G\nr=np.random.default_rng(0);X=pd.DataFrame({'c':1.0,'x':r.normal(size=80)});X.iloc[3,1]=np.nan;y=pd.Series(r.poisson(3,80))\nprint(G(y,X).fit().params)",
 "py-gnb-negative-counts": "import numpy as np,pandas as pd\nfrom regrowth.models import GeneralizedNegativeBinomial as G\nr=np.random.default_rng(0);X=pd.DataFrame({'c':1.0,'x':r.normal(size=80)});y=pd.Series(r.poisson(3,80)-1)\nprint(G(y,X).fit().params)",
 "py-gnb-formula-constant": "import numpy as np,pandas as pd\nfrom regrowth.models import GeneralizedNegativeBinomial as G\nd=pd.DataFrame({'y':2,'x':np.arange(40.)})\nprint(G.from_formula('y ~ x', d).fit().params)",
 "py-fgls-constant-outcome": "import numpy as np,pandas as pd\nfrom regrowth.models import PanelFGLS\nidx=pd.MultiIndex.from_product([list('abcd'),range(2000,2010)],names=['r','t']);d=pd.DataFrame({'y':1.0,'x':np.random.default_rng(0).normal(size=40)},index=idx)\nprint(PanelFGLS.from_formula('y ~ 1 + x', d).fit().params)",
 "py-fgls-misaligned": "import numpy as np,pandas as pd\nfrom regrowth.models import PanelFGLS\nidx=pd.MultiIndex.from_product([list('abcd'),range(2000,2010)],names=['r','t']);r=np.random.default_rng(0);X=pd.DataFrame({'c':1.0,'x':r.normal(size=40)},index=idx);y=pd.Series(r.normal(size=40),index=pd.MultiIndex.from_product([list('abce'),range(2000,2010)],names=['r','t']))\nprint(PanelFGLS(y,X).fit().params)",
 "py-fgls-one-panel": "import numpy as np,pandas as pd\nfrom regrowth.models import PanelFGLS\nidx=pd.MultiIndex.from_product([['a'],range(2000,2020)],names=['r','t']);r=np.random.default_rng(0);d=pd.DataFrame({'y':r.normal(size=20),'x':r.normal(size=20)},index=idx)\nprint(PanelFGLS.from_formula('y ~ 1 + x', d, panels='hetero', corr='ar1').fit().params)",
 "py-fgls-flat-index": "import numpy as np,pandas as pd\nfrom regrowth.models import PanelFGLS\nr=np.random.default_rng(0);d=pd.DataFrame({'y':r.normal(size=20),'x':r.normal(size=20)})\nprint(PanelFGLS.from_formula('y ~ 1 + x', d).fit().params)",
}
for k in ("re", "fe", "pooled"):
    PYCASES[f"py-fit_panel-{k}-constant-outcome"] = f"import numpy as np,pandas as pd\nfrom regrowth.models import fit_panel\nidx=pd.MultiIndex.from_product([list('abcd'),range(2000,2010)],names=['r','t']);d=pd.DataFrame({{'y':1.0,'x':np.random.default_rng(0).normal(size=40)}},index=idx)\nprint(fit_panel('{k}','y ~ 1 + x', d).params)"
PYCASES["py-fit_panel-fe-one-cluster"] = "import numpy as np,pandas as pd\nfrom regrowth.models import fit_panel\nidx=pd.MultiIndex.from_product([list('abcd'),range(2000,2010)],names=['r','t']);r=np.random.default_rng(0);d=pd.DataFrame({'y':r.normal(size=40),'x':r.normal(size=40),'g':1},index=idx)\nprint(fit_panel('pooled','y ~ 1 + x', d, cov_type='clustered', clusters=d[['g']]).std_errors)"
PYCASES["py-fit_panel-unknown-kind"] = "from regrowth.models import fit_panel\nfit_panel('xtreg','y ~ x', None)"
PYCASES["py-fit_panel-misaligned"] = "import numpy as np,pandas as pd\nfrom regrowth.models import fit_panel\nidx=pd.MultiIndex.from_product([list('abcd'),range(2000,2010)],names=['r','t']);r=np.random.default_rng(0);X=pd.DataFrame({'c':1.0,'x':r.normal(size=40)},index=idx);y=pd.Series(r.normal(size=40),index=pd.MultiIndex.from_product([list('abce'),range(2000,2010)],names=['r','t']))\nprint(fit_panel('re',y,X).params)"
PYCASES["py-poisson-all-zero"] = "import numpy as np,pandas as pd\nfrom regrowth.models.count import poisson\nX=pd.DataFrame({'c':1.0,'x':np.arange(30.)});y=pd.Series(0.0,index=X.index)\nprint(poisson(y,X).params)"
for k, code in PYCASES.items():
    C.append(dict(id=k, group="python", py=code, expect="refuse", check=None))
def concurrent():
    ps = [subprocess.Popen([PY, "-m", "regrowth", "replicate", "--no-notebooks"], cwd=PROJ, env=ENV,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate() for p in ps]
    rcs = [p.returncode for p in ps]
    h = tree_hash(PROJ / "results"); b = tree_hash(BASE / "results")
    lock = [l for o in outs for l in (o[0] + o[1]).splitlines() if "lock" in l.lower() or "wait" in l.lower()]
    if h != b: return ("bad", f"results differ after 2 concurrent runs rc={rcs}")
    return ("good", f"rc={rcs}; {lock[:1]}")
# ------------------------------------------------------------------ extra (second batch)
X = []
def xcase(cid, group, args=R, expect="refuse", check=None):
    def deco(prep):
        C.append(dict(id=cid, group=group, prep=prep, args=list(args), expect=expect, check=check, env=None, user=None))
        return prep
    return deco
@xcase("spec-cp949-encoded", "spec")
def _(): SPEC.write_bytes(SPEC.read_text().replace("# specs/models.toml", "# 모형 specs/models.toml").encode("cp949", errors="replace"))
@xcase("spec-se-cluster-no-groups", "spec")
def _(): sub('se = { type = "cluster", groups = "region" }', 'se = { type = "cluster" }')
@xcase("spec-se-groups-macro-region", "spec", expect="ok")
def _(): sub('se = { type = "cluster", groups = "region" }', 'se = { type = "cluster", groups = "macro_region" }')
@xcase("only-empty-string", "cli", args=("replicate", "--no-notebooks", "--only", ""))
def _(): pass
@xcase("fe-header-only", "full", args=P)
def _(): kcsv(provs=[])
@xcase("fe-out-of-range-value", "full", args=P)
def _(): kcsv(fmt=lambda i, y: "500" if i == 3 and y == 2019 else f"{40+i}")
@xcase("fe-text-in-value-cell", "full", args=P)
def _(): kcsv(fmt=lambda i, y: "n/a" if i == 3 and y == 2019 else f"{40+i}")
@xcase("fe-unit-in-header-cell-converted", "full", args=P, expect="ok", check=lambda o, e: patents_check())
def _(): kcsv(name="DT_1YL202109E.csv", head="행정구역별(단위: 천건)", fmt=lambda i, y: f"{1 + i/10:.1f}")
# ------------------------------------------------------------------ third batch: more real files, kill during fetch
def real_to_slot(src, name):
    K.mkdir(exist_ok=True); shutil.copy(src, K / name)
@xcase("fe-real-migest-quarterly-in-slot", "full", args=P)
def _(): real_to_slot(PROJ / "tests/data/files/real/migest_DT_1B26003_A01_quarterly_excerpt.csv", "DT_1YL20891.csv")
@xcase("fe-real-sigungu-grdp-in-slot", "full", args=P)
def _(): real_to_slot(BASE / "raw/kosis_sigungu_grdp/grdp_sigungu_2010_2020.csv", "DT_1YL20891.csv")
@xcase("fe-real-population-in-patents-slot", "full", args=P)
def _(): real_to_slot(BASE / "raw/kosis_grdp_population/Resident_Population_by_City__County__and_District_1992-2020.csv", "DT_1YL202109E.csv")
@xcase("fe-real-kostat-indicator-in-patents-slot", "full", args=P)
def _(): real_to_slot(BASE / "raw/kostat_regional_indicators/indicator_2-1-2.csv", "DT_1YL202109E.csv")
@xcase("fe-real-rnd-xlsx-in-slot", "full", args=P)
def _(): real_to_slot(BASE / "raw/kipris_fintech_and_kosis_2014_2023/kongzhi3_TECyanfafei2014-2023.xlsx", "DT_1YL20891.xlsx")
def kill_fetch_check(o, e):
    import random, signal
    rng = random.Random(5); res = []
    for i in range(8):
        for d in ("kipris_fintech_and_kosis_2014_2023", "kosis_grdp_population"):
            subprocess.run(["chmod", "-R", "u+w", str(RAW / d)]); shutil.rmtree(RAW / d, ignore_errors=True)
        p = subprocess.Popen([PY, "-m", "regrowth", "data", "fetch", "--quiet"], cwd=PROJ, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(rng.uniform(0.3, 1.5)); os.killpg(p.pid, signal.SIGKILL); p.wait()
        v = subprocess.run([PY, "-m", "regrowth", "data", "verify"], cwd=PROJ, env=ENV, capture_output=True, text=True)
        bad = [l for l in (v.stdout + v.stderr).splitlines() if "differs" in l]
        f = subprocess.run([PY, "-m", "regrowth", "data", "fetch", "--quiet"], cwd=PROJ, env=ENV, capture_output=True, text=True)
        left = [str(q) for q in RAW.rglob("*") if q.name.endswith(".tmp") or q.name.startswith(".")]
        res.append((v.returncode, bool(bad), f.returncode, len(left)))
        if bad or f.returncode != 0: return ("bad", f"iteration {i}: verify={v.stdout[-200:]} fetch={f.stderr[-200:]}")
    return ("good", f"8 kills during fetch: no file with a wrong checksum left; next fetch completes; {res}")
@xcase("kill-during-data-fetch", "fault", args=("data", "verify"), expect="ok", check=kill_fetch_check)
def _(): pass
# ------------------------------------------------------------------ fourth batch (issue 20 item 6): sizes, faults, bootstraps, degenerate designs
CV = ("curve", "--id", "innovation")
BOOT1 = 'se = { type = "cluster", groups = "region", bootstrap = { reps = 9999, weights = "webb", seed = 20181207 } }\nrationale = "DESIGN main'
@xcase("curve-too-many-specifications", "spec", args=CV)
def _(): sub('id = "innovation"\n', 'id = "innovation"\nmax_specifications = 10\n')
@xcase("curve-bootstrap-reps-1e9", "spec", args=CV)
def _(): sub('bootstrap = { reps = 999, weights = "webb" }', 'bootstrap = { reps = 1_000_000_000, weights = "webb" }')
@xcase("curve-workers-0", "cli", args=(*CV, "--backend", "processes", "--workers", "0"))
def _(): pass
@xcase("curve-workers-negative", "cli", args=(*CV, "--backend", "processes", "--workers", "-3"))
def _(): pass
@xcase("curve-workers-huge", "cli", args=(*CV, "--backend", "processes", "--workers", "100000"))
def _(): pass
@xcase("curve-scheduler-with-serial", "cli", args=(*CV, "--scheduler", "tcp://127.0.0.1:8786"))
def _(): pass
@xcase("curve-scheduler-with-processes", "cli", args=(*CV, "--backend", "processes", "--scheduler", "tcp://127.0.0.1:8786"))
def _(): pass
@xcase("curve-scheduler-malformed", "cli", args=(*CV, "--backend", "dask", "--scheduler", "localhost"))
def _(): pass
@xcase("curve-scheduler-unreachable", "fault", args=(*CV, "--backend", "dask", "--scheduler", "tcp://127.0.0.1:9"))
def _(): pass
C[-1]["env"] = {"REGROWTH_DASK_CONNECT_TIMEOUT": "3"}
@xcase("lock-timeout-abc", "fault")
def _(): pass
C[-1]["env"] = {"REGROWTH_LOCK_TIMEOUT": "abc"}
@xcase("lock-timeout-negative", "fault")
def _(): pass
C[-1]["env"] = {"REGROWTH_LOCK_TIMEOUT": "-5"}
@xcase("manifest-download-without-size", "data", args=("data", "fetch", "--allow-download"))
def _():
    man = PROJ / "data/raw/MANIFEST.toml"
    sub("size = 39557\n", "", path=man)
    f = PROJ / "data/raw/kiet_regional_development_index"
    subprocess.run(["chmod", "-R", "u+w", str(f)]); shutil.rmtree(f)
C[-1]["env"] = {"REGROWTH_DATA_MIRROR": ""}
@xcase("spec-bootstrap-reps-1e9", "spec")
def _(): sub(BOOT1, BOOT1.replace("reps = 9999", "reps = 1_000_000_000"))
@xcase("spec-bootstrap-one-cluster", "spec")
def _(): sub(BOOT1, BOOT1.replace('groups = "region"', 'groups = "year"').replace('type = "cluster"', 'type = "robust"')); sub('sample = { years = [2015, 2020], exclude = ["sejong"] }\nse = { type = "robust", groups = "year"', 'sample = { years = [2020, 2020], exclude = ["sejong"] }\nse = { type = "robust", groups = "year"')
@xcase("spec-bootstrap-focus-in-dispersion", "spec")
def _(): sub('focus = ["fiscal_self_reliance_l1", "ln_rnd_l1"]', 'focus = ["fiscal_self_reliance_l1", "ln_rnd_l1", "capital_region"]')
@xcase("spec-pcse-one-period", "spec", expect="either",
       check=lambda o, e: ("good", "column refused with the reason") if "T >= 2" in e else ("bad", "one-period PCSE printed numbers"))
def _(): sub('sample = { years = [2002, 2017], exclude = ["sejong"] }\nse = { type = "pcse" }', 'sample = { years = [2010, 2010], exclude = ["sejong"] }\nse = { type = "pcse" }')
PY4 = {
 "py-pcse-one-period": "import numpy as np,pandas as pd\nfrom regrowth.models.pcse import PanelPCSE\nidx=pd.MultiIndex.from_product([list('abcdefghij'),[2015]],names=['r','t']);r=np.random.default_rng(0);d=pd.DataFrame({'y':r.normal(size=10),'x':r.normal(size=10)},index=idx)\nprint(PanelPCSE.from_formula('y ~ 1 + x', d).fit().std_errors)",
 "py-fgls-one-period-ar1": "import numpy as np,pandas as pd\nfrom regrowth.models import PanelFGLS\nidx=pd.MultiIndex.from_product([list('abcdefghij'),[2015]],names=['r','t']);r=np.random.default_rng(0);d=pd.DataFrame({'y':r.normal(size=10),'x':r.normal(size=10)},index=idx)\nprint(PanelFGLS.from_formula('y ~ 1 + x', d).fit().params)",
 "py-fgls-one-period-hetero": "import numpy as np,pandas as pd\nfrom regrowth.models import PanelFGLS\nidx=pd.MultiIndex.from_product([list('abcdefghij'),[2015]],names=['r','t']);r=np.random.default_rng(0);d=pd.DataFrame({'y':r.normal(size=10),'x':r.normal(size=10)},index=idx)\nprint(PanelFGLS.from_formula('y ~ 1 + x', d, corr='independent').fit().params)",
}
for k, code in PY4.items():
    C.append(dict(id=k, group="python", py=code, expect="refuse", check=None))
