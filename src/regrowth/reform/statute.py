"""The statutory parameters of the local consumption tax (지방소비세) reform, in one registry.

Every number the reform design uses — the tax's rate as a share of VAT by year, the
distribution weights by region type, the offsets — is a :class:`Parameter` here, with
its legal basis (law, article, amendment), the stored public source it was checked
against (URL and title) and whether that source confirms it (``confirmed``). Nothing
else in :mod:`regrowth.reform` hard-codes a statutory number; :func:`notes` prints
every unconfirmed parameter so that tables and notebooks can say so.

What the sources confirm (checked with the project's search tool, corpus "pages")
--------------------------------------------------------------------------------
* Rate (share of VAT; Value-Added Tax Act art. 72 splits the VAT, Local Tax Act art. 69
  sets the local consumption tax's base and rate): 5 % 2010-2013, 11 % 2014-2018,
  15 % 2019, 21 % 2020 and 2021, 23.7 % 2022, 25.3 % from 2023 — each from a news or
  government page below. 2021 is 21 %: the second-stage laws passed on 11 Nov 2021
  raise it "from the existing 21 %" and a Feb 2022 page says it was 21 % "until last
  year".
* Weights: the tax is distributed by provincial private final consumption with weights
  capital region (Seoul, Incheon, Gyeonggi) 100 %, non-capital metropolitan cities 200 %,
  non-capital provinces (도) 300 % (two independent pages). The article numbers
  (Local Tax Act art. 71, Enforcement Decree art. 75) are the brief's; no stored page
  quotes the article text, so ``legal_basis`` says so.
* Offsets: the capital region paid 35 % of its local consumption tax (on the original
  5 %-of-VAT part) into the regional co-prosperity fund (지역상생발전기금) 2010-2019,
  extended to 2029 by the amendment of 27 Dec 2019 (Local Government Fund Management
  Basic Act); the Phase-1 plan adds a capital-region contribution on the *increments*,
  at a rate no stored source gives (``confirmed=False``). The education grant
  (지방교육재정교부금) rate was raised from 20.27 % to 20.46 % of internal taxes in 2019
  to hold the education grant harmless (the VAT moved to the provinces shrinks the
  internal-tax base); the 2020 step came with about 3.6 trillion won of national
  subsidy programmes transferred to local governments (기능이양).

Not confirmed (``confirmed=False``, printed by :func:`notes`)
------------------------------------------------------------
* Sejong's region type. The sources name only "capital region", "non-capital
  metropolitan cities" and "non-capital provinces (도)"; Sejong (특별자치시) is neither
  a 광역시 nor a 도. The package files it with the non-capital provinces (weight 3) —
  like Jeju (특별자치도), a single-tier government that also carries the 시·군 functions —
  and flags the choice; the main samples exclude Sejong anyway.
* Whether each increment is distributed by the weighted-consumption key. The 2014
  increment (6 points) compensated the acquisition-tax cut and parts of later increments
  are allocated by other keys (compensation for transferred programmes; 시·군·구 shares
  from 2022); the dose applies the weighted-consumption key to every increment over
  11 %, as the design defines it.
* The capital region's contribution rate on the Phase-1 increments.
* The gross VAT base. Stored pages give the VAT collected as national tax (70.0 trillion
  won in 2018, 70.8 in 2019: ``vat_national_*``), which is net of the local share; the
  gross base is not stated, so the dose is expressed per 1 trillion won of VAT (the VAT
  amount is a factor common to all provinces and drops out of every estimate up to scale).
"""

from __future__ import annotations

from dataclasses import dataclass
from regrowth.errors import SpecificationError
import pandas as pd

__all__ = ["Parameter", "REGISTRY", "RATES", "WEIGHTS", "REGION_TYPES", "BASE_RATE",
           "rate", "weight", "region_type", "notes", "to_frame"]


@dataclass(frozen=True)
class Parameter:
    """One statutory parameter with where it comes from.

    name : registry key (e.g. ``"rate_2020"``).
    value : the number (a share, not a percentage: 0.21 for 21 %), or None if unknown.
    unit : what ``value`` measures.
    legal_basis : law, article and amendment (as far as the sources state it).
    effective : the year (or date) from which it applies.
    source_url, source_title : the stored public page that confirms it.
    confirmed : True if the stored source states the value.
    note : why not confirmed, or a caveat.
    """
    name: str
    value: float | None
    unit: str
    legal_basis: str
    effective: str
    source_url: str
    source_title: str
    confirmed: bool
    note: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "value": self.value, "unit": self.unit,
                "legal_basis": self.legal_basis, "effective": self.effective,
                "source_url": self.source_url, "source_title": self.source_title,
                "confirmed": self.confirmed, "note": self.note}


_VAT_ACT = "Value-Added Tax Act (부가가치세법) art. 72(1) (VAT / local consumption tax split)"
_LTA_69 = "Local Tax Act (지방세법) art. 69 (base and rate of the local consumption tax)"
_SRC_HK_DIC = ("https://dic.hankyung.com/economy/view/?seq=14096",
               "한국경제 경제용어사전: 지방소비세율 (15% 2019, 21% 2020, 23.7% 2022, 25.3% 2023)")

_PARAMS: tuple[Parameter, ...] = (
    # ---------------------------------------------------------------- rates
    Parameter("rate_2010", 0.05, "share of VAT", f"{_LTA_69}; introduced 2010", "2010",
              "http://www.gaok.or.kr/webzine/201811/page04.html",
              "손희준, 지역상생발전기금의 운용 성과와 향후 활용 방향 (감사원 webzine 2018-11)", True),
    Parameter("rate_2014", 0.11, "share of VAT",
              f"{_LTA_69}; {_VAT_ACT}; amendments passed Dec 2013 (acquisition-tax compensation)",
              "2014",
              "https://mbn.co.kr/pages/news/newsView.php?news_seq_no=1575272&uagent=m",
              "매일경제/MBN 2013-12-09: 지방소비세율 5%에서 11%로, 내년부터 적용", True,
              "the 6-point increment compensated the permanent acquisition-tax cut; its "
              "allocation key is not the weighted-consumption key (not confirmed from a stored "
              "source)"),
    Parameter("rate_2019", 0.15, "share of VAT",
              f"{_LTA_69}; {_VAT_ACT}; amendments passed 7 Dec 2018 (Phase-1 fiscal "
              "decentralization)", "2019",
              "http://www.sijung.co.kr/news/articleView.html?idxno=223186",
              "시정일보 2018-12-10: 지방소비세율 11→15% 인상… 3조3천억원 지방이양", True),
    Parameter("rate_2020", 0.21, "share of VAT",
              f"{_LTA_69}; {_VAT_ACT}; Phase-1 second step (plan of 30 Oct 2018)", "2020",
              "https://app.kyeonggi.com/article/202001051108180",
              "경기일보 2020-01-05: 올해 지방소비세율을 부가가치세의 15%에서 21%로 인상", True),
    Parameter("rate_2021", 0.21, "share of VAT", f"{_LTA_69} (unchanged in 2021)", "2021",
              "https://wcmsm.kpinews.kr/amp/179548208303095",
              "KPI뉴스 2022-02-11: 지난해까지 21%이던 세율을 2023년까지 25.3%로", True,
              "also: 한국경제 2021-11-11 (https://www.hankyung.com/article/202111113267Y), "
              "'기존 21%에서 2023년 25.3%로'"),
    Parameter("rate_2022", 0.237, "share of VAT",
              f"{_LTA_69}; {_VAT_ACT}; amendments passed 11 Nov 2021 (Phase-2), in force "
              "1 Jan 2022", "2022", "https://wcmsm.kpinews.kr/amp/179548208303095",
              "KPI뉴스 2022-02-11: 올해는 23.7%의 비율이 적용된다", True,
              "part of the Phase-2 increment goes to 시·군·구 directly (hankyung 2021-11-11); "
              "allocation key of that part not confirmed"),
    Parameter("rate_2023", 0.253, "share of VAT",
              f"{_LTA_69}; {_VAT_ACT}; amendments passed 11 Nov 2021 (Phase-2)", "2023",
              *_SRC_HK_DIC, True),
    # ---------------------------------------------------------------- weights
    Parameter("weight_capital", 1.0, "distribution weight (100 %)",
              "Local Tax Act art. 71 and Enforcement Decree (지방세법 시행령) art. 75 (article "
              "text not in a stored source; numbers as the brief gives them)", "2010",
              "http://www.gaok.or.kr/webzine/201811/page04.html",
              "손희준 (감사원 webzine 2018-11): 수도권(서울, 인천, 경기)은 100%", True,
              "also 경기도 뉴스포털 (https://gnews.gg.go.kr/briefing/brief_gongbo_view.do?"
              "BS_CODE=S017&number=19095): 수도권 100%, 비수도권 광역시 200%, 비수도권 도 300%"),
    Parameter("weight_metropolitan", 2.0, "distribution weight (200 %)",
              "Local Tax Act art. 71; Enforcement Decree art. 75 (as above)", "2010",
              "http://www.gaok.or.kr/webzine/201811/page04.html",
              "손희준 (감사원 webzine 2018-11): 비수도권 광역시는 200%", True),
    Parameter("weight_province", 3.0, "distribution weight (300 %)",
              "Local Tax Act art. 71; Enforcement Decree art. 75 (as above)", "2010",
              "http://www.gaok.or.kr/webzine/201811/page04.html",
              "손희준 (감사원 webzine 2018-11): 비수도권 도(道)는 300%", True),
    Parameter("sejong_type", None, "region type of Sejong (특별자치시)",
              "Enforcement Decree art. 75 (not seen)", "2012", "", "", False,
              "no stored source says whether Sejong (특별자치시, neither 광역시 nor 도) is "
              "weighted as a metropolitan city (2) or a province (3); the package files it "
              "with the non-capital provinces (3), like Jeju; main samples exclude Sejong"),
    Parameter("key_all_increments", None, "allocation key of each increment",
              "Enforcement Decree art. 75", "2014", "", "", False,
              "the dose distributes every increment over 11 % by the weighted-consumption "
              "key; parts of the 2020 and 2022-23 increments are allocated by other keys "
              "(compensation for transferred programmes, 시·군·구 shares), not confirmed from "
              "a stored source"),
    # ---------------------------------------------------------------- offsets
    Parameter("fund_capital_share", 0.35, "share of the capital region's local consumption tax "
              "(original 5 % part) paid into the 지역상생발전기금",
              "Local Government Fund Management Basic Act (지방자치단체 기금관리기본법); "
              "2010-2019, extended to 31 Dec 2029 by the amendment passed 27 Dec 2019", "2010",
              "https://app.kyeonggi.com/article/202001051108180",
              "경기일보 2020-01-05: 수도권 3개 시·도가 지방소비세 수입의 35%를 출연… 2029년까지 연장",
              True, "also 경기연구원 이슈&진단 398 (https://gri.re.kr/web/contents/issdiag.do?"
              "schM=view&schProjectNo=20190078): 지방소비세 세율 5%분에 대하여 35% 출연"),
    Parameter("fund_capital_share_increment", None,
              "capital region's contribution rate on the Phase-1 increments",
              "Local Government Fund Management Basic Act (amended Dec 2019)", "2020",
              "http://webarchives.pa.go.kr/19th/www.pcad.go.kr/section/board/bbs_view.html?"
              "PID=data&goto_page=4&seq=6485",
              "자치분권위원회 archive: 수도권 자치단체로 하여금 지방소비세 세율 추가 인상분에 대한 "
              "지역상생발전기금 출연", False,
              "the contribution on the increments is confirmed, its rate is not; the dose is "
              "gross of it"),
    Parameter("education_grant_rate_2018", 0.2027, "share of internal taxes (내국세)",
              "Local Education Finance Grants Act (지방교육재정교부금법) art. 3", "2018",
              "http://www.sijung.co.kr/news/articleView.html?idxno=223186",
              "시정일보 2018-12-10: 교부율 내국세의 20.27%에서 20.46%로", True),
    Parameter("education_grant_rate_2019", 0.2046, "share of internal taxes (내국세)",
              "Local Education Finance Grants Act art. 3, amended Dec 2018", "2019",
              "http://www.sijung.co.kr/news/articleView.html?idxno=223186",
              "시정일보 2018-12-10: 교부율 0.19%p 인상 (지방소비세율 인상에 따른 내국세 감소 보전)", True,
              "raised so that the education grant is not cut when VAT moves to the provinces"),
    Parameter("transferred_programmes_2020", 3.6e12, "won per year (national subsidy "
              "programmes transferred to local governments with the 2020 step)",
              "Phase-1 fiscal decentralization plan (관계부처 합동, 30 Oct 2018)", "2020",
              "https://kiss.kstudy.com/Detail/Ar?key=3936545",
              "이상훈·김경민, 문재인 정부의 재정분권 효과 분석: 약 3.6조 원 규모의 국고보조사업을 "
              "지방자치단체 사무로 전환", True,
              "the dose is gross of this offset (its incidence by province is not in the data)"),
    Parameter("vat_national_2018", 70.0e12, "won (VAT collected as national tax, 2018)",
              "National Tax Service, 국세통계연보 2019 (early release)", "2018",
              "https://newstomato.com/ReadNews.aspx?no=910252",
              "뉴스토마토 2019-07-26: 부가가치세는 70조원으로 전년(67조1000억) 대비 2조9000억원 늘었다",
              True, "the national-tax part, i.e. after the local consumption tax share (11 % in "
              "2018); not used by the dose"),
    Parameter("vat_national_2019", 70.8e12, "won (VAT collected as national tax, 2019)",
              "National Tax Service, 국세통계 1차 조기공개 2020", "2019",
              "https://ilyo.co.kr/?ac=article_view&entry_id=375188",
              "일요신문: 부가가치세(24.9%·70조8000억여원) (2019년 국세청 세수)", True,
              "the national-tax part (after the 15 % local share); not used by the dose"),
    Parameter("vat_revenue", None, "won per year (gross VAT base of the local consumption tax)",
              "—", "—", "", "", False,
              "no stored source gives the gross VAT base the rate applies to (the national "
              "figures above are net of the local share; gross = national / (1 - rate) is an "
              "inference, not a source); the dose is expressed per 1 trillion won of VAT (a "
              "common factor)"),
)

REGISTRY: dict[str, Parameter] = {p.name: p for p in _PARAMS}

#: The rate (share of VAT) in force in each year 2010-2025 (the last amendment holds on).
RATES: dict[int, float] = {}
for _y in range(2010, 2026):
    _last = max(int(p.effective) for p in _PARAMS if p.name.startswith("rate_")
                and int(p.effective) <= _y)
    RATES[_y] = REGISTRY[f"rate_{_last}"].value  # type: ignore[assignment]

#: The pre-reform rate against which the dose counts increments.
BASE_RATE: float = REGISTRY["rate_2014"].value  # type: ignore[assignment]

#: Distribution weight by region type.
WEIGHTS: dict[str, float] = {"capital": REGISTRY["weight_capital"].value,  # type: ignore[dict-item]
                             "metropolitan": REGISTRY["weight_metropolitan"].value,
                             "province": REGISTRY["weight_province"].value}

#: Region type of each province (package keys). Sejong: see ``sejong_type`` (unconfirmed).
REGION_TYPES: dict[str, str] = {
    "seoul": "capital", "incheon": "capital", "gyeonggi": "capital",
    "busan": "metropolitan", "daegu": "metropolitan", "gwangju": "metropolitan",
    "daejeon": "metropolitan", "ulsan": "metropolitan",
    "gangwon": "province", "chungbuk": "province", "chungnam": "province",
    "jeonbuk": "province", "jeonnam": "province", "gyeongbuk": "province",
    "gyeongnam": "province", "jeju": "province",
    "sejong": "province",
}


def rate(year: int) -> float:
    """The local consumption tax rate (share of VAT) in force in ``year`` (2010-2025)."""
    try:
        return RATES[int(year)]
    except KeyError:
        raise SpecificationError(f"no local consumption tax rate for {year}: the registry covers "
                                 f"{min(RATES)}-{max(RATES)} (the tax began in 2010)") from None


def region_type(region: str, types: dict[str, str] | None = None) -> str:
    """The region type ("capital", "metropolitan", "province") of a province key."""
    table = REGION_TYPES if types is None else types
    if region not in table:
        raise SpecificationError(f"province {region!r} has no region type for the local "
                                 "consumption tax weights; give it one of "
                                 f"{sorted(WEIGHTS)} (known: {sorted(table)})")
    kind = table[region]
    if kind not in WEIGHTS:
        raise SpecificationError(f"province {region!r}: region type {kind!r} is not one of "
                                 f"{sorted(WEIGHTS)}")
    return kind


def weight(region: str, types: dict[str, str] | None = None) -> float:
    """The distribution weight of a province (1, 2 or 3)."""
    return WEIGHTS[region_type(region, types)]


def notes() -> list[str]:
    """One line per parameter the stored sources do not confirm (for tables and notebooks)."""
    return [f"{p.name}: not confirmed from a stored source — {p.note}"
            for p in _PARAMS if not p.confirmed]


def to_frame():
    """The registry as a DataFrame (one row per parameter)."""
    return pd.DataFrame([p.to_dict() for p in _PARAMS])
