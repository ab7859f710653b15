"""Demo data for the quick start and the tests: the logic behind ``manage.py seed_demo``.

What is loaded, and the choices made where the seeds say nothing
-----------------------------------------------------------------
Reference data (created when missing, never overwritten):

* Units: Jiujiang's 15 units of 附件1 in its order, and Xuzhou's 市本级 plus the seven
  counties of the 2022 工惠贷 report. Codes are slugs (``jj-xiushui``, ``xz-city``).
* Banks: the four partner banks of the 九工贷 notice (section 一) with the review channels of
  section 二 (建设银行 online only, 江西银行 offline only, 邮储银行 and 九江银行 both), and
  江苏银行徐州分行 (the report's partner; online and offline).
* Programs:

  - ``jgd-2020`` 2020年九工贷: every number of the notice (target 3000万元, caps 4.75% online
    / 5.80% offline, limits 30/50/50万元, pool 80万元 plus a provincial 20万元, thresholds
    80%/120%, interest share 100% for all loan types, no premium).
  - ``jgd-2019`` 2019年九工贷: 3000万元 is 76.5% more than 2019 (notice section 四), so its
    target is 1700万元; its unit tasks are the 2020 table scaled to that total, rounded to
    5万元. The demo holds only a sample (about 40%) of its lending: the loans that
    mature in 2020 and are renewed (续贷) under ``jgd-2020`` or repaid.
  - ``ghd-2021`` / ``ghd-2022`` 2021年/2022年工惠贷 (徐州市): credit loans get the premium
    subsidy only (interest for guaranteed and mortgage loans, premium 1.00% at 100% for
    credit and guaranteed loans). The demo holds about a quarter of the report's volume
    (2021: 9290万元, 2022: 15078万元), so the targets are scaled alike: 2500万元 and
    4000万元, split between 市本级 and the counties in about the proportions of the
    report's 2022 results (市本级 ~73%). Jiujiang's allocation formula does not apply in
    Xuzhou: its pool and provincial amount are 0. 2022 caps follow the lower LPR (4.35% /
    5.50%); 2021 keeps the defaults.

* Quotas for every program × unit of its city; two reallocations of ``jgd-2020`` after the
  2020-07-30 deadline (庐山管理局 → 浔阳区 20万元, 德安县 → 永修县 10万元).
* Users: ``admin`` (superuser), ``county`` (修水县), ``city``, ``bank`` (九江银行) and
  ``manager`` with fixed demo passwords, plus one officer per other bank (no password)
  who authors that bank's records. A password is set only when the user is created, so a
  rerun never resets a password somebody changed.

Transactional data (created only when no demo application exists yet), all drawn from
``random.Random(seed)``:

* Each unit's disbursed loans are drawn until its subsidised principal reaches a planned
  completion rate of its adjusted task. For ``jgd-2020`` the rates are fixed per unit
  (with a small jitter) and span 64%–137%, so the allocation formula meets units below
  80%, within the band and above 120%; the city-wide total slightly exceeds the target.
* Founder classes 35/37/8/20% (the Xuzhou report), ~10% model workers, ~3% relatives of
  frontline epidemic workers (2020 on), industries mostly C/F/H/L/O/I/A/G/M (some
  emerging), a few applications in excluded industries (E, K, P, 8051, 9013, 9011) that end
  rejected, every application status, all three channels, the review channel the bank
  offers, rates at or below the cap (about a fifth exactly at it), principals 5万–60万元 in
  whole 千元 (some above the borrower's limit: leveraged amount), renewals of the previous
  year's loans in their maturity month, repayments with interest = principal × rate ×
  days / 360, quarterly follow-ups, the three opinions, the six stored pre-loan checks
  (computed by ``run_pre_loan_checks`` in the order events happened, with an override
  reason wherever a failed check did not stop the application) and the timeline events.
"""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.choices import Role
from accounts.services import assign_role
from gonghui.history import bulk_create_audited, bulk_update_audited
from gonghui.money import round_fen, to_wan, wan
from loans.choices import (
    ApplicationChannel,
    ApplicationStatus,
    BorrowerClass,
    CheckRule,
    FounderClass,
    LoanPurpose,
    LoanStatus,
    LoanType,
    OperatingStatus,
    OpinionKind,
    ReviewChannel,
    UnitKind,
)
from loans.models import (
    Applicant,
    Application,
    ApplicationEvent,
    Bank,
    EligibilityCheck,
    Enterprise,
    FollowUp,
    Loan,
    Opinion,
    Program,
    Repayment,
    Unit,
)
from loans.services.applications import estimate_subsidy
from loans.services.eligibility import CheckResult, run_pre_loan_checks
from loans.services.identity import CREDIT_CODE_ALPHABET, make_credit_code, make_resident_id
from loans.services.rules import add_months, split_principal
from quotas.models import Quota, Reallocation
from reports.models import MonthlySnapshot
from reports.services import build_monthly_snapshot
from subsidies.models import SubsidyClaim
from subsidies.services.claims import create_due_claims

DEFAULT_SEED = 2020
TZ = ZoneInfo("Asia/Shanghai")

S = ApplicationStatus
C = ApplicationChannel
REFERRALS = (C.UNION_REFERRAL, C.BANK_REFERRAL)

JIUJIANG = "九江市"
XUZHOU = "徐州市"

# --- reference data ------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitSpec:
    """A demo unit; ``places`` are (GB/T 2260 region code, district name) of its residents."""

    code: str
    name: str
    city: str
    kind: str
    places: tuple[tuple[str, str], ...]
    area: str = ""  # address area when it is not the unit's name

    @property
    def province(self) -> str:
        return "江西省" if self.city == JIUJIANG else "江苏省"


JIUJIANG_UNITS = (
    UnitSpec("jj-xiushui", "修水县", JIUJIANG, UnitKind.COUNTY, (("360424", "修水县"),)),
    UnitSpec("jj-wuning", "武宁县", JIUJIANG, UnitKind.COUNTY, (("360423", "武宁县"),)),
    UnitSpec("jj-ruichang", "瑞昌市", JIUJIANG, UnitKind.COUNTY_CITY, (("360481", "瑞昌市"),)),
    UnitSpec("jj-duchang", "都昌县", JIUJIANG, UnitKind.COUNTY, (("360428", "都昌县"),)),
    UnitSpec("jj-hukou", "湖口县", JIUJIANG, UnitKind.COUNTY, (("360429", "湖口县"),)),
    UnitSpec("jj-pengze", "彭泽县", JIUJIANG, UnitKind.COUNTY, (("360430", "彭泽县"),)),
    UnitSpec("jj-yongxiu", "永修县", JIUJIANG, UnitKind.COUNTY, (("360425", "永修县"),)),
    UnitSpec("jj-dean", "德安县", JIUJIANG, UnitKind.COUNTY, (("360426", "德安县"),)),
    UnitSpec(
        "jj-gongqingcheng", "共青城市", JIUJIANG, UnitKind.COUNTY_CITY, (("360482", "共青城市"),)
    ),
    # 庐山市 was 星子县 (360427) and 柴桑区 was 九江县 (360421): older IDs keep the old code.
    UnitSpec(
        "jj-lushan-city",
        "庐山市",
        JIUJIANG,
        UnitKind.COUNTY_CITY,
        (("360483", "庐山市"), ("360427", "庐山市")),
    ),
    UnitSpec(
        "jj-chaisang",
        "柴桑区",
        JIUJIANG,
        UnitKind.DISTRICT,
        (("360404", "柴桑区"), ("360421", "柴桑区")),
    ),
    UnitSpec("jj-xunyang", "浔阳区", JIUJIANG, UnitKind.DISTRICT, (("360403", "浔阳区"),)),
    UnitSpec("jj-lianxi", "濂溪区", JIUJIANG, UnitKind.DISTRICT, (("360402", "濂溪区"),)),
    UnitSpec(
        "jj-lushan-admin",
        "庐山管理局",
        JIUJIANG,
        UnitKind.OTHER,
        (("360402", "濂溪区"),),
        area="庐山风景名胜区",
    ),
    UnitSpec(
        "jj-devzone",
        "开发区",
        JIUJIANG,
        UnitKind.DEV_ZONE,
        (("360403", "浔阳区"), ("360402", "濂溪区")),
        area="九江经济技术开发区",
    ),
)

XUZHOU_UNITS = (
    UnitSpec(
        "xz-city",
        "市本级",
        XUZHOU,
        UnitKind.CITY_LEVEL,
        (("320302", "鼓楼区"), ("320303", "云龙区"), ("320311", "泉山区")),
    ),
    UnitSpec("xz-tongshan", "铜山区", XUZHOU, UnitKind.DISTRICT, (("320312", "铜山区"),)),
    UnitSpec("xz-jiawang", "贾汪区", XUZHOU, UnitKind.DISTRICT, (("320305", "贾汪区"),)),
    UnitSpec("xz-fengxian", "丰县", XUZHOU, UnitKind.COUNTY, (("320321", "丰县"),)),
    UnitSpec("xz-peixian", "沛县", XUZHOU, UnitKind.COUNTY, (("320322", "沛县"),)),
    UnitSpec("xz-pizhou", "邳州市", XUZHOU, UnitKind.COUNTY_CITY, (("320382", "邳州市"),)),
    UnitSpec("xz-suining", "睢宁县", XUZHOU, UnitKind.COUNTY, (("320324", "睢宁县"),)),
    UnitSpec("xz-xinyi", "新沂市", XUZHOU, UnitKind.COUNTY_CITY, (("320381", "新沂市"),)),
)

UNIT_SPECS = {spec.code: spec for spec in (*JIUJIANG_UNITS, *XUZHOU_UNITS)}


@dataclass(frozen=True)
class BankSpec:
    code: str
    name: str
    short_name: str
    city: str
    online: bool
    offline: bool
    contract_prefix: str
    weight: int  # share of the city's applications


BANKS = (
    BankSpec("psbc-jiujiang", "邮储银行九江市分行", "邮储银行", JIUJIANG, True, True, "YCJJ", 25),
    BankSpec("ccb-jiujiang", "建设银行九江市分行", "建设银行", JIUJIANG, True, False, "JHJJ", 20),
    BankSpec("jxbank-jiujiang", "江西银行九江分行", "江西银行", JIUJIANG, False, True, "JXJJ", 20),
    BankSpec("jiujiang-bank", "九江银行", "九江银行", JIUJIANG, True, True, "JJYH", 35),
    BankSpec("jsbc-xuzhou", "江苏银行徐州分行", "江苏银行", XUZHOU, True, True, "JSXZ", 100),
)


def _program(code: str, name: str, city: str, year: int, target_wan: int, **values) -> dict:
    return {
        "code": code,
        "name": name,
        "city": city,
        "year": year,
        "target_wan": target_wan,
    } | values


_JIUJIANG_POLICY = {
    "rate_cap_online": Decimal("4.75"),
    "rate_cap_offline": Decimal("5.80"),
    "interest_share": Decimal("100.00"),
    "interest_loan_types": [LoanType.CREDIT, LoanType.GUARANTEED, LoanType.MORTGAGE],
    "premium_rate": Decimal("0"),
    "premium_share": Decimal("0"),
    "premium_loan_types": [],
    "allocation_pool": wan(80),
    "floor_ratio": Decimal("80.00"),
    "cap_ratio": Decimal("120.00"),
}
_XUZHOU_POLICY = {
    "interest_share": Decimal("100.00"),
    "interest_loan_types": [LoanType.GUARANTEED, LoanType.MORTGAGE],
    "premium_rate": Decimal("1.00"),
    "premium_share": Decimal("100.00"),
    "premium_loan_types": [LoanType.CREDIT, LoanType.GUARANTEED],
    "allocation_pool": Decimal("0.00"),
    "provincial_amount": Decimal("0.00"),
    "floor_ratio": Decimal("80.00"),
    "cap_ratio": Decimal("120.00"),
}
_LIMITS = {
    "limit_general": wan(30),
    "limit_model_worker": wan(50),
    "limit_epidemic_relative": wan(50),
}

PROGRAMS = (
    _program(
        "jgd-2019",
        "2019年九工贷",
        JIUJIANG,
        2019,
        1700,
        is_active=False,
        provincial_amount=Decimal("0.00"),
        **_JIUJIANG_POLICY,
        **_LIMITS,
    ),
    _program(
        "jgd-2020",
        "2020年九工贷",
        JIUJIANG,
        2020,
        3000,
        is_active=True,
        provincial_amount=wan(20),
        **_JIUJIANG_POLICY,
        **_LIMITS,
    ),
    _program(
        "ghd-2021",
        "2021年工惠贷",
        XUZHOU,
        2021,
        2500,
        is_active=False,
        rate_cap_online=Decimal("4.75"),
        rate_cap_offline=Decimal("5.80"),
        **_XUZHOU_POLICY,
        **_LIMITS,
    ),
    _program(
        "ghd-2022",
        "2022年工惠贷",
        XUZHOU,
        2022,
        4000,
        is_active=True,
        rate_cap_online=Decimal("4.35"),
        rate_cap_offline=Decimal("5.50"),
        **_XUZHOU_POLICY,
        **_LIMITS,
    ),
)
PROGRAM_CODES = tuple(p["code"] for p in PROGRAMS)

# 附件1: 2020年全市"九工贷"任务分配表 (万元), in the table's order.
JGD_2020_TASKS_WAN = {
    "修水县": 290,
    "武宁县": 180,
    "瑞昌市": 290,
    "都昌县": 240,
    "湖口县": 230,
    "彭泽县": 200,
    "永修县": 270,
    "德安县": 140,
    "共青城市": 200,
    "庐山市": 140,
    "柴桑区": 230,
    "浔阳区": 240,
    "濂溪区": 200,
    "庐山管理局": 60,
    "开发区": 90,
}

# Task amounts (万元) per program and unit code; each program's tasks add up to its target.
QUOTAS_WAN = {
    "jgd-2019": dict(
        zip(
            (s.code for s in JIUJIANG_UNITS),
            (165, 100, 165, 135, 130, 115, 155, 80, 115, 80, 130, 135, 115, 30, 50),
            strict=True,
        )
    ),
    "jgd-2020": dict(
        zip((s.code for s in JIUJIANG_UNITS), JGD_2020_TASKS_WAN.values(), strict=True)
    ),
    "ghd-2021": dict(
        zip((s.code for s in XUZHOU_UNITS), (2000, 150, 80, 50, 40, 100, 30, 50), strict=True)
    ),
    "ghd-2022": dict(
        zip((s.code for s in XUZHOU_UNITS), (2900, 300, 200, 100, 80, 220, 80, 120), strict=True)
    ),
}

# (program, giver, receiver, 万元, date, reason): 调剂 after the 2020-07-30 deadline.
REALLOCATIONS = (
    (
        "jgd-2020",
        "jj-lushan-admin",
        "jj-xunyang",
        20,
        date(2020, 8, 5),
        "庐山管理局至2020年7月30日前无法完成放贷任务，经市总工会研究，"
        "将20万元任务调剂至浔阳区，贴息补助同步调剂。",
    ),
    (
        "jgd-2020",
        "jj-dean",
        "jj-yongxiu",
        10,
        date(2020, 8, 5),
        "德安县至2020年7月30日前无法完成放贷任务，经市总工会研究，"
        "将10万元任务调剂至永修县，贴息补助同步调剂。",
    ),
)

# Planned completion rate (completed ÷ adjusted task) per unit. jgd-2020's are fixed so the
# allocation formula meets every case; the others are drawn in the given range.
JGD_2020_COMPLETION = {
    "jj-xiushui": 1.05,
    "jj-wuning": 0.92,
    "jj-ruichang": 1.28,
    "jj-duchang": 0.72,
    "jj-hukou": 1.10,
    "jj-pengze": 0.85,
    "jj-yongxiu": 1.35,
    "jj-dean": 0.65,
    "jj-gongqingcheng": 1.15,
    "jj-lushan-city": 0.76,
    "jj-chaisang": 1.00,
    "jj-xunyang": 1.26,
    "jj-lianxi": 0.95,
    "jj-lushan-admin": 0.64,
    "jj-devzone": 1.37,
}
COMPLETION_RANGE = {"jgd-2019": (0.35, 0.5), "ghd-2021": (0.85, 1.15), "ghd-2022": (0.9, 1.15)}

# Applications that did not end disbursed, per program and status.
OTHER_STATUSES = {
    "jgd-2019": {S.REJECTED: 3, S.BANK_DECLINED: 3, S.CONSENT_REFUSED: 1},
    "jgd-2020": {
        S.DRAFT: 8,
        S.SUBMITTED: 10,
        S.RETURNED: 8,
        S.REJECTED: 16,
        S.RECOMMENDED: 12,
        S.BANK_APPROVED: 10,
        S.BANK_DECLINED: 14,
        S.CONSENT_REQUESTED: 7,
        S.CONSENTED: 7,
        S.CONSENT_REFUSED: 8,
    },
    "ghd-2021": {S.RETURNED: 1, S.REJECTED: 6, S.BANK_DECLINED: 5, S.CONSENT_REFUSED: 3},
    "ghd-2022": {
        S.DRAFT: 4,
        S.SUBMITTED: 6,
        S.RETURNED: 4,
        S.REJECTED: 10,
        S.RECOMMENDED: 6,
        S.BANK_APPROVED: 5,
        S.BANK_DECLINED: 8,
        S.CONSENT_REQUESTED: 4,
        S.CONSENTED: 4,
        S.CONSENT_REFUSED: 4,
    },
}
# Why the rejected applications were rejected (in order; the rest for materials).
REJECTION_DEFECTS = {
    "jgd-2019": ("jobs", "age"),
    "jgd-2020": (
        "excluded:E",
        "excluded:K",
        "excluded:P",
        "excluded:8051",
        "active_loan",
        "active_loan",
        "jobs",
        "jobs",
        "age",
        "age",
        "non_member",
    ),
    "ghd-2021": ("excluded:E", "jobs", "age", "non_member"),
    "ghd-2022": (
        "excluded:K",
        "excluded:P",
        "excluded:8051",
        "excluded:9013",
        "excluded:9011",
        "active_loan",
        "active_loan",
        "jobs",
    ),
}


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str | None
    role: str | None
    label: str
    unit: str | None = None
    bank: str | None = None


DEMO_USERS = (
    DemoUser("admin", "demo-admin-2020", None, "系统管理员"),
    DemoUser(
        "county", "demo-county-2020", Role.COUNTY_STAFF, "修水县总工会经办人", unit="jj-xiushui"
    ),
    DemoUser("city", "demo-city-2020", Role.CITY_STAFF, "市总工会经济技术部经办人"),
    DemoUser("bank", "demo-bank-2020", Role.BANK_OFFICER, "九江银行信贷员", bank="jiujiang-bank"),
    DemoUser("manager", "demo-manager-2020", Role.MANAGER, "市总工会分管领导"),
    DemoUser("bank-psbc", None, Role.BANK_OFFICER, "邮储银行信贷员", bank="psbc-jiujiang"),
    DemoUser("bank-ccb", None, Role.BANK_OFFICER, "建设银行信贷员", bank="ccb-jiujiang"),
    DemoUser("bank-jxbank", None, Role.BANK_OFFICER, "江西银行信贷员", bank="jxbank-jiujiang"),
    DemoUser("bank-jsbc", None, Role.BANK_OFFICER, "江苏银行信贷员", bank="jsbc-xuzhou"),
)

# --- word lists for people and enterprises ----------------------------------------------------

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
    "于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江"
    "尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
MALE_GIVEN = "伟强磊军洋勇杰涛明超刚平辉鹏飞斌波宁建国文志海林峰浩宇轩晨俊凯鑫亮成龙东春华斌庆松"
FEMALE_GIVEN = "芳娜敏静丽艳娟秀霞桂英玉兰萍红琴云燕婷雪欣怡佳丹梅莉慧晶倩璐颖洁琳"
BRAND_CHARS = "恒润鑫源华泰嘉盛鼎宏达兴隆丰汇联金瑞祥和昌永博远誉信诚德康安美佳优众创新阳光蓝天绿洲"
ROADS = ("人民路", "解放路", "建设路", "新华路", "中山路", "滨江路", "长江路", "湖滨路")
STREETS = ("城南街道", "城北街道", "东城街道", "西城街道", "新城街道", "工业园区")
COLLEGES = {
    JIUJIANG: ("九江学院", "江西财经大学", "南昌大学", "江西师范大学", "九江职业技术学院"),
    XUZHOU: (
        "中国矿业大学",
        "江苏师范大学",
        "徐州工程学院",
        "徐州医科大学",
        "徐州工业职业技术学院",
    ),
}
FORMER_WORK = ("一家纺织企业", "一家机械制造企业", "一家国有商场", "一家化工企业", "一家建材企业")


@dataclass(frozen=True)
class Industry:
    section: str
    code: str
    word: str  # goes into the enterprise name
    product: str  # goes into the enterprise's situation
    weight: int
    emerging: float = 0.0


INDUSTRIES = (
    Industry("C", "1311", "粮油食品", "大米及粮油加工", 5),
    Industry("C", "1830", "服饰", "服装及服饰加工", 5),
    Industry("C", "2110", "家具", "实木家具制造", 4),
    Industry("C", "3311", "钢结构", "钢结构件制造", 3),
    Industry("C", "2929", "塑业", "塑料制品加工", 3),
    Industry("C", "3872", "光电科技", "LED照明灯具制造", 3, 0.6),
    Industry("F", "5123", "果蔬贸易", "果蔬批发", 4),
    Industry("F", "5211", "商贸", "日用百货零售", 6),
    Industry("F", "5212", "超市", "超市零售", 4),
    Industry("F", "5292", "电子商务", "农特产品网络零售", 3, 0.6),
    Industry("G", "5431", "物流", "普通货物道路运输", 4),
    Industry("H", "6110", "酒店管理", "酒店住宿", 3),
    Industry("H", "6210", "餐饮管理", "中餐正餐服务", 7),
    Industry("H", "6220", "餐饮", "快餐服务", 4),
    Industry("I", "6513", "软件科技", "应用软件开发", 2, 0.8),
    Industry("I", "6450", "网络科技", "互联网数据服务", 2, 0.8),
    Industry("I", "6531", "信息技术", "信息技术咨询服务", 2, 0.5),
    Industry("L", "7111", "汽车租赁", "汽车租赁", 3),
    Industry("L", "7259", "广告传媒", "广告设计制作", 4),
    Industry("L", "7224", "供应链管理", "供应链管理服务", 3, 0.3),
    Industry("M", "7491", "工业设计", "工业产品设计", 3, 0.7),
    Industry("O", "8010", "家政服务", "家政服务", 4),
    Industry("O", "8040", "美容美发", "美容美发服务", 3),
    Industry("O", "8111", "汽车维修", "汽车修理与维护", 3),
    Industry("A", "0141", "生态农业", "蔬菜种植", 2),
    Industry("A", "0153", "果业", "柑橘种植", 2),
    Industry("A", "0313", "养殖", "生猪养殖", 1),
    Industry("A", "0412", "水产养殖", "内陆水产养殖", 1),
)
EXCLUDED_INDUSTRIES = {
    "E": Industry("E", "4710", "建筑工程", "房屋建筑施工", 0),
    "K": Industry("K", "7010", "房地产开发", "房地产开发经营", 0),
    "P": Industry("P", "8391", "职业技能培训", "职业技能培训", 0),
    "8051": Industry("O", "8051", "洗浴", "洗浴服务", 0),
    "9013": Industry("R", "9013", "网咖", "网吧经营", 0),
    "9011": Industry("R", "9011", "娱乐", "KTV歌舞娱乐", 0),
}

FOUNDER_WEIGHTS = {
    FounderClass.LAID_OFF: 35,
    FounderClass.GRADUATE: 37,
    FounderClass.FARMER: 8,
    FounderClass.OTHER: 20,
}
# Age range (years) of each founder class at application.
FOUNDER_AGES = {
    FounderClass.LAID_OFF: (32, 55),
    FounderClass.GRADUATE: (22, 33),
    FounderClass.FARMER: (28, 55),
    FounderClass.OTHER: (25, 52),
}
LOAN_TYPE_WEIGHTS = {
    JIUJIANG: {LoanType.CREDIT: 45, LoanType.GUARANTEED: 35, LoanType.MORTGAGE: 20},
    XUZHOU: {LoanType.CREDIT: 50, LoanType.GUARANTEED: 30, LoanType.MORTGAGE: 20},
}
CHANNEL_WEIGHTS = {
    JIUJIANG: {C.UNION_REFERRAL: 50, C.BANK_REFERRAL: 25, C.BANK_ONLINE: 25},
    XUZHOU: {C.UNION_REFERRAL: 35, C.BANK_REFERRAL: 25, C.BANK_ONLINE: 40},
}
# Subsidised amount bands in 千元: ((low, high, weight), ...) plus the weight of "at the limit".
AMOUNT_BANDS = {
    (JIUJIANG, 300): (((50, 80, 40), (80, 120, 30), (120, 200, 18), (200, 299, 6)), 6),
    (JIUJIANG, 500): (((50, 150, 45), (150, 300, 35), (300, 499, 10)), 10),
    (XUZHOU, 300): (((50, 100, 25), (100, 200, 35), (200, 299, 28)), 12),
    (XUZHOU, 500): (((100, 300, 30), (300, 499, 40)), 30),
}
MAX_PRINCIPAL_K = 600  # 60万元
DISBURSAL_MONTH_WEIGHTS = {5: 15, 6: 30, 7: 35, 8: 12, 9: 8}

RETURN_REASONS = (
    "请补充营业执照复印件和近三个月经营流水。",
    "身份证复印件不清晰，请重新上传。",
    "企业基本状况填写不完整，请补充年产值和职工人数。",
)
DECLINE_REASONS = (
    "企业征信存在逾期记录，不符合我行授信条件。",
    "经营流水不足，第一还款来源不足。",
    "担保条件不足，无法提供有效担保。",
    "申请人负债率偏高，超出我行授信政策。",
)
CONSENT_REFUSAL_REASON = "经核实，该企业已享受其他财政贴息政策，不重复贴息。"
MATERIALS_REASON = "申报材料不全，申请人逾期未补正"
OVERRIDE_REASONS = {
    CheckRule.UNION_MEMBERSHIP: "经核实，申请人已加入所在企业工会，会员资格有效。",
    CheckRule.ENTERPRISE_AGE: "企业近年转型新办主营业务，经县区总工会集体研究同意例外通过。",
    CheckRule.JOBS: "企业为新设企业，已出具承诺书，年内带动就业不少于5人。",
    CheckRule.AMOUNT_LIMIT: "超出限额部分不予贴息，由借款人与银行自行协商（拉动贷款）。",
}
FOLLOW_UP_NOTES = {
    OperatingStatus.NORMAL: ("经营正常，按时付息。", "生产经营稳定，职工队伍稳定。", "经营正常。"),
    OperatingStatus.FAILED: ("受市场影响经营困难，已停产，贷款由担保方跟进。",),
    OperatingStatus.CLOSED: ("企业已停业，正在办理注销手续。",),
}


# --- result ----------------------------------------------------------------------------------


@dataclass
class SeedResult:
    seed: int
    created: bool  # False when the demo applications already existed
    counts: dict[str, int]
    users: list[tuple[str, str, str, str]]  # username, role, scope, password or note


COUNTED_MODELS = (
    Program,
    Unit,
    Bank,
    Quota,
    Reallocation,
    Applicant,
    Enterprise,
    Application,
    EligibilityCheck,
    Opinion,
    ApplicationEvent,
    Loan,
    Repayment,
    FollowUp,
    SubsidyClaim,
    MonthlySnapshot,
)


def model_counts() -> dict[str, int]:
    """Row counts of the demo's models (and users), keyed by model name."""
    counts = {model.__name__: model.objects.count() for model in COUNTED_MODELS}
    counts["User"] = get_user_model().objects.count()
    return counts


def seed_demo(*, seed: int = DEFAULT_SEED) -> SeedResult:
    """Load the demo data in one transaction; a rerun creates nothing new."""
    with transaction.atomic():
        ref = _ensure_reference_data()
        users = _ensure_users(ref)
        _ensure_reallocations(ref, users["city"])
        exists = Application.objects.filter(program__code__in=PROGRAM_CODES).exists()
        if not exists:
            _Builder(random.Random(seed), ref, users).build()
            _build_reports(ref)
    return SeedResult(seed=seed, created=not exists, counts=model_counts(), users=_user_table())


# Every demo loan has matured by then, so each gets its subsidy claim (a fixed day keeps the
# demo deterministic); 附件3 is built for the months each program lent in.
CLAIMS_AS_OF = date(2023, 12, 31)
SNAPSHOT_MONTHS = (6, 7, 8, 9, 12)


def _build_reports(ref: _Reference) -> None:
    """Subsidy claims and monthly statistics, as the scheduled jobs would have left them."""
    create_due_claims(as_of=CLAIMS_AS_OF)
    for program in ref.programs.values():
        for month in SNAPSHOT_MONTHS:
            build_monthly_snapshot(program=program, month=date(program.year, month, 1))


# --- reference data writers -----------------------------------------------------------------


@dataclass
class _Reference:
    programs: dict[str, Program]
    units: dict[str, Unit]
    banks: dict[str, Bank]
    tasks: dict[tuple[str, str], Decimal]  # (program, unit) -> adjusted task (元)


def _ensure_reference_data() -> _Reference:
    units = {}
    for specs in (JIUJIANG_UNITS, XUZHOU_UNITS):
        for order, spec in enumerate(specs, start=1):
            units[spec.code], _ = Unit.objects.get_or_create(
                code=spec.code,
                defaults={
                    "name": spec.name,
                    "city": spec.city,
                    "kind": spec.kind,
                    "sort_order": order,
                },
            )
    banks = {}
    for spec in BANKS:
        banks[spec.code], _ = Bank.objects.get_or_create(
            code=spec.code,
            defaults={
                "name": spec.name,
                "short_name": spec.short_name,
                "offers_online_review": spec.online,
                "offers_offline_review": spec.offline,
            },
        )
    programs = {}
    for values in PROGRAMS:
        values = dict(values)
        code, target = values.pop("code"), wan(values.pop("target_wan"))
        programs[code], _ = Program.objects.get_or_create(
            code=code, defaults={**values, "target_amount": target, "term_months": 12}
        )
    tasks = {}
    for code, table in QUOTAS_WAN.items():
        for unit_code, amount in table.items():
            quota, _ = Quota.objects.get_or_create(
                program=programs[code], unit=units[unit_code], defaults={"task_amount": wan(amount)}
            )
            tasks[code, unit_code] = quota.task_amount
    return _Reference(programs=programs, units=units, banks=banks, tasks=tasks)


def _ensure_reallocations(ref: _Reference, city_user) -> None:
    for code, giver, receiver, amount, on, reason in REALLOCATIONS:
        Reallocation.objects.get_or_create(
            program=ref.programs[code],
            from_unit=ref.units[giver],
            to_unit=ref.units[receiver],
            reallocated_on=on,
            defaults={"amount": wan(amount), "reason": reason, "created_by": city_user},
        )
    for row in Reallocation.objects.filter(program__code__in=PROGRAM_CODES).select_related(
        "program", "from_unit", "to_unit"
    ):
        key_from = (row.program.code, row.from_unit.code)
        key_to = (row.program.code, row.to_unit.code)
        if key_from in ref.tasks and key_to in ref.tasks:
            ref.tasks[key_from] -= row.amount
            ref.tasks[key_to] += row.amount


def _ensure_users(ref: _Reference) -> dict[str, object]:
    """The demo users by username; passwords are set only on creation."""
    User = get_user_model()
    users = {}
    for spec in DEMO_USERS:
        user = User.objects.filter(username=spec.username).first()
        if user is None:
            user = User(username=spec.username, first_name=spec.label)
            if spec.role is None:
                user.is_staff = user.is_superuser = True
            if spec.password:
                user.set_password(spec.password)
            else:
                user.set_unusable_password()
            user.save()
        if spec.role is not None:
            assign_role(
                user=user,
                role=spec.role,
                unit=ref.units[spec.unit] if spec.unit else None,
                bank=ref.banks[spec.bank] if spec.bank else None,
            )
        users[spec.username] = user
    return users


def _user_table() -> list[tuple[str, str, str, str]]:
    """(username, role, scope, password) of each demo user, for the command to print.

    The password shown is the one set on creation; checking whether an existing user still
    has it would cost a deliberately slow hash per user at every quick start.
    """
    return [
        (
            spec.username,
            Role(spec.role).label if spec.role else "超级管理员",
            spec.label,
            spec.password or "（未设密码，可在后台设置）",
        )
        for spec in DEMO_USERS
    ]


# --- the transactional data -----------------------------------------------------------------


@dataclass
class _Plan:
    """One application as planned, with what is written for it afterwards."""

    program: Program
    spec: UnitSpec
    unit: Unit
    applicant: Applicant
    enterprise: Enterprise
    channel: str
    status: str
    bank: Bank | None
    amount_k: int  # requested amount, 千元
    principal_k: int  # approved amount / loan principal, 千元
    applied_on: date
    disbursed_on: date | None = None
    defect: str = ""
    detour: bool = False
    renewal_of: Loan | None = None
    reason: str = ""
    application: Application | None = None
    loan: Loan | None = None
    final_status: str = LoanStatus.ACTIVE
    settled_on: date | None = None
    steps: list[tuple[str, str, str, datetime, str]] = field(default_factory=list)
    results: list[CheckResult] = field(default_factory=list)
    checks: list[EligibilityCheck] = field(default_factory=list)


def _k(thousands: int) -> Decimal:
    return round_fen(Decimal(thousands) * 1000)


def _wan_text(amount: Decimal) -> str:
    return f"{to_wan(amount).normalize():f}"


def _weighted(rng: random.Random, weights: dict):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _random_day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randint(0, (end - start).days))


def _at(rng: random.Random, day: date, earliest: int = 8, latest: int = 17) -> datetime:
    return datetime.combine(
        day, time(rng.randint(earliest, latest - 1), rng.randint(0, 59), rng.randint(0, 59)), TZ
    )


class _Builder:
    def __init__(self, rng: random.Random, ref: _Reference, users: dict):
        self.rng = rng
        self.ref = ref
        self.users = users
        self.plans: list[_Plan] = []
        self.id_numbers = set(Applicant.objects.values_list("id_number", flat=True))
        self.credit_codes = set(Enterprise.objects.values_list("credit_code", flat=True))
        self.enterprise_names = set(Enterprise.objects.values_list("name", flat=True))
        self.contract_seq: Counter = Counter()
        self.reference_seq: Counter = Counter()
        self.officers = {spec.bank: users[spec.username] for spec in DEMO_USERS if spec.bank}

    # -- actors ---------------------------------------------------------------------------

    def union_actor(self, unit: Unit):
        return self.users["county"] if unit.code == "jj-xiushui" else self.users["city"]

    def bank_actor(self, bank: Bank):
        return self.officers[bank.code]

    # -- the whole run ----------------------------------------------------------------------

    def build(self) -> None:
        previous: list[_Plan] = []
        for code in PROGRAM_CODES:
            program = self.ref.programs[code]
            if previous and previous[0].program.city != program.city:
                previous = []
            plans = self.plan_program(program, previous)
            self.save_program(plans)
            self.plans.extend(plans)
            previous = plans
        self.write_the_rest()

    # -- planning ---------------------------------------------------------------------------

    def plan_program(self, program: Program, previous: list[_Plan]) -> list[_Plan]:
        rng = self.rng
        specs = JIUJIANG_UNITS if program.city == JIUJIANG else XUZHOU_UNITS
        old_loans = [p for p in previous if p.status == S.DISBURSED]
        renewable = {}
        for old in old_loans:
            # About half of last year's loans are renewed in their maturity month.
            if rng.random() < 0.5:
                renewable.setdefault(old.spec.code, []).append(old)
        plans: list[_Plan] = []
        for spec in specs:
            task_k = int(self.ref.tasks[program.code, spec.code] / 1000)
            if program.code == "jgd-2020":
                ratio = JGD_2020_COMPLETION[spec.code] + rng.uniform(-0.015, 0.015)
            else:
                ratio = rng.uniform(*COMPLETION_RANGE[program.code])
            remaining = round(task_k * ratio)
            for old in renewable.get(spec.code, []):
                limit_k = int(program.limit_for(old.application.borrower_class) / 1000)
                principal_k = old.principal_k if rng.random() < 0.7 else rng.randint(50, 300)
                subsidised_k = min(principal_k, limit_k)
                if subsidised_k > remaining - 50:
                    continue
                remaining -= subsidised_k
                plans.append(self.plan_renewal(program, spec, old, principal_k))
            plans.extend(self.plan_disbursed(program, spec, remaining))
        plans.extend(self.plan_others(program, specs, old_loans))
        # Last year's loans that were not renewed are repaid (a few early).
        for old in old_loans:
            if old.final_status == LoanStatus.ACTIVE:
                old.final_status, old.settled_on = LoanStatus.REPAID, old.loan.maturity_on
                if rng.random() < 0.15:
                    old.settled_on = old.loan.disbursed_on + timedelta(days=rng.randint(120, 330))
        return plans

    def plan_disbursed(self, program: Program, spec: UnitSpec, remaining: int) -> list[_Plan]:
        """Loans whose subsidised principal adds up to ``remaining`` (千元)."""
        rng = self.rng
        plans = []
        while remaining >= 50:
            borrower_class = self.draw_borrower_class(program)
            limit_k = int(program.limit_for(borrower_class) / 1000)
            if remaining <= limit_k:
                subsidised_k = remaining
            else:
                subsidised_k = min(self.draw_amount(program, limit_k), remaining - 50)
            principal_k = subsidised_k
            if subsidised_k == limit_k and rng.random() < 0.5:
                principal_k = limit_k + rng.randrange(10, MAX_PRINCIPAL_K - limit_k + 1, 10)
            remaining -= subsidised_k
            plan = self.new_plan(
                program, spec, S.DISBURSED, borrower_class=borrower_class, principal_k=principal_k
            )
            plans.append(plan)
        return plans

    def plan_renewal(self, program: Program, spec: UnitSpec, old: _Plan, principal_k: int) -> _Plan:
        rng = self.rng
        old_loan = old.loan
        maturity = old_loan.maturity_on
        month_end = date(maturity.year, maturity.month, 1) + timedelta(days=32)
        month_end = month_end.replace(day=1) - timedelta(days=1)
        disbursed_on = _random_day(rng, maturity, min(month_end, maturity + timedelta(days=10)))
        applied_on = maturity - timedelta(days=rng.randint(5, 25))
        channel = (
            old.channel if old.channel != C.BANK_ONLINE or rng.random() < 0.5 else C.UNION_REFERRAL
        )
        plan = _Plan(
            program=program,
            spec=spec,
            unit=old.unit,
            applicant=old.applicant,
            enterprise=old.enterprise,
            channel=channel,
            status=S.DISBURSED,
            bank=old.bank,
            amount_k=principal_k,
            principal_k=principal_k,
            applied_on=applied_on,
            disbursed_on=disbursed_on,
            renewal_of=old_loan,
        )
        old.final_status, old.settled_on = LoanStatus.RENEWED, disbursed_on
        self.make_application(plan, borrower_class=old.application.borrower_class)
        return plan

    def plan_others(self, program: Program, specs, old_loans: list[_Plan]) -> list[_Plan]:
        rng = self.rng
        weights = {spec: int(self.ref.tasks[program.code, spec.code]) for spec in specs}
        defects = list(REJECTION_DEFECTS[program.code])
        # Applicants with a loan of last year still running (not renewed, repaid at maturity
        # in July or later) who apply again in April or May: the no-active-loan check fails.
        running = [
            p
            for p in old_loans
            if p.final_status == LoanStatus.ACTIVE and p.loan.maturity_on.month >= 7
        ]
        plans = []
        for status, count in OTHER_STATUSES[program.code].items():
            for _ in range(count):
                defect = ""
                if status == S.REJECTED:
                    defect = defects.pop(0) if defects else "materials"
                    if defect == "active_loan" and not running:
                        defect = "materials"
                elif status == S.CONSENT_REFUSED:
                    defect = rng.choice(("jobs", "age", "refused", "refused"))
                elif rng.random() < 0.08:
                    defect = rng.choice(("jobs", "age", "blank_union"))
                if defect == "active_loan":
                    old = running.pop(rng.randrange(len(running)))
                    old.final_status, old.settled_on = LoanStatus.REPAID, old.loan.maturity_on
                    plans.append(self.plan_active_loan_rejection(program, old))
                    continue
                spec = _weighted(rng, weights)
                plans.append(self.new_plan(program, spec, status, defect=defect))
        return plans

    def plan_active_loan_rejection(self, program: Program, old: _Plan) -> _Plan:
        rng = self.rng
        plan = _Plan(
            program=program,
            spec=old.spec,
            unit=old.unit,
            applicant=old.applicant,
            enterprise=old.enterprise,
            channel=C.UNION_REFERRAL,
            status=S.REJECTED,
            bank=None,
            amount_k=rng.randint(10, 30) * 10,
            principal_k=0,
            applied_on=_random_day(rng, date(program.year, 4, 1), date(program.year, 5, 31)),
            defect="active_loan",
        )
        plan.principal_k = plan.amount_k
        self.make_application(plan, borrower_class=old.application.borrower_class)
        return plan

    def draw_borrower_class(self, program: Program) -> str:
        draw = self.rng.random()
        if program.year >= 2020 and draw < 0.03:
            return BorrowerClass.EPIDEMIC_RELATIVE
        if draw < 0.13:
            return BorrowerClass.MODEL_WORKER
        return BorrowerClass.GENERAL

    def draw_amount(self, program: Program, limit_k: int) -> int:
        """A subsidised amount in 千元 within the limit (the limit itself now and then)."""
        rng = self.rng
        bands, at_limit = AMOUNT_BANDS[program.city, 300 if limit_k <= 300 else 500]
        choices = [*bands, (limit_k, limit_k, at_limit)]
        low, high, _ = rng.choices(choices, weights=[b[2] for b in choices])[0]
        return min(rng.randint(low, high), limit_k)

    # -- one application ---------------------------------------------------------------------

    def new_plan(
        self,
        program: Program,
        spec: UnitSpec,
        status: str,
        *,
        borrower_class: str | None = None,
        principal_k: int | None = None,
        defect: str = "",
    ) -> _Plan:
        rng = self.rng
        if status == S.DISBURSED and rng.random() < 0.03:  # went on with an override
            defect = rng.choice(("jobs", "age", "blank_union"))
        if borrower_class is None:
            borrower_class = self.draw_borrower_class(program)
        limit_k = int(program.limit_for(borrower_class) / 1000)
        if principal_k is None:
            principal_k = self.draw_amount(program, limit_k)
            if principal_k == limit_k and rng.random() < 0.4:
                principal_k = limit_k + rng.randrange(10, MAX_PRINCIPAL_K - limit_k + 1, 10)
        amount_k = principal_k
        if rng.random() < 0.1 and principal_k + 100 <= MAX_PRINCIPAL_K:
            amount_k = principal_k + rng.randint(1, 10) * 10  # the bank approved less
        channel = self.draw_channel(program, status)
        bank = self.draw_bank(program, channel)
        year = program.year
        if status == S.DISBURSED:
            month = _weighted(rng, DISBURSAL_MONTH_WEIGHTS)
            disbursed_on = date(year, month, rng.randint(1, 30 if month in (6, 9) else 31))
            applied_on = disbursed_on - timedelta(days=rng.randint(7, 45))
            applied_on = max(date(year, 4, 1), min(date(year, 7, 31), applied_on))
        else:
            disbursed_on = None
            applied_on = _random_day(rng, date(year, 4, 1), date(year, 7, 31))
        plan = _Plan(
            program=program,
            spec=spec,
            unit=self.ref.units[spec.code],
            applicant=None,  # type: ignore[arg-type]
            enterprise=None,  # type: ignore[arg-type]
            channel=channel,
            status=status,
            bank=bank,
            amount_k=amount_k,
            principal_k=principal_k,
            applied_on=applied_on,
            disbursed_on=disbursed_on,
            defect=defect,
            detour=channel in REFERRALS and rng.random() < 0.06,
        )
        plan.applicant = self.make_applicant(plan, borrower_class)
        plan.enterprise = self.make_enterprise(plan)
        self.make_application(plan, borrower_class=borrower_class)
        return plan

    def draw_channel(self, program: Program, status: str) -> str:
        if status in (S.CONSENT_REQUESTED, S.CONSENTED, S.CONSENT_REFUSED):
            return C.BANK_ONLINE
        if status == S.DRAFT:
            return C.UNION_REFERRAL
        weights = dict(CHANNEL_WEIGHTS[program.city])
        if status in (S.RETURNED, S.REJECTED, S.RECOMMENDED):
            weights.pop(C.BANK_ONLINE)
        return _weighted(self.rng, weights)

    def draw_bank(self, program: Program, channel: str) -> Bank:
        weights = {
            spec.code: spec.weight
            for spec in BANKS
            if spec.city == program.city and (spec.online or channel != C.BANK_ONLINE)
        }
        return self.ref.banks[_weighted(self.rng, weights)]

    def draw_review_channel(self, plan: _Plan) -> str:
        bank = plan.bank
        if plan.channel == C.BANK_ONLINE or not bank.offers_offline_review:
            return ReviewChannel.ONLINE
        if not bank.offers_online_review:
            return ReviewChannel.OFFLINE
        online_share = 0.6 if plan.program.city == XUZHOU else 0.45
        return ReviewChannel.ONLINE if self.rng.random() < online_share else ReviewChannel.OFFLINE

    def draw_rate(self, program: Program, review_channel: str) -> Decimal:
        rng = self.rng
        cap = Decimal(program.rate_cap(review_channel))
        if rng.random() < 0.2:
            return cap
        steps = rng.randint(1, 18 if review_channel == ReviewChannel.ONLINE else 30)
        return cap - Decimal("0.05") * steps

    def make_applicant(self, plan: _Plan, borrower_class: str) -> Applicant:
        rng = self.rng
        spec = plan.spec
        founder_class = _weighted(rng, FOUNDER_WEIGHTS)
        male = rng.random() < 0.62
        surname = rng.choice(SURNAMES[:20]) if rng.random() < 0.6 else rng.choice(SURNAMES)
        pool = MALE_GIVEN if male else FEMALE_GIVEN
        given = rng.choice(pool) + (rng.choice(pool) if rng.random() < 0.7 else "")
        name = surname + given
        home = spec
        if rng.random() < 0.12:  # registered elsewhere in the same city
            home = rng.choice([s for s in (*JIUJIANG_UNITS, *XUZHOU_UNITS) if s.city == spec.city])
        region, place = rng.choice(home.places)
        low, high = FOUNDER_AGES[founder_class]
        age = rng.randint(low, high)
        while True:
            birth = date(plan.program.year - age, rng.randint(1, 12), rng.randint(1, 28))
            sequence = rng.randrange(1 if male else 0, 1000, 2)
            id_number = make_resident_id(region=region, birth=birth, sequence=sequence)
            if id_number not in self.id_numbers:
                self.id_numbers.add(id_number)
                break
        mobile = f"1{rng.choice('35789')}{rng.randrange(10**9):09d}"
        area = spec.area or rng.choice(spec.places)[1]
        city = spec.city
        return Applicant(
            name=name,
            id_number=id_number,
            hukou=f"{spec.province}{city}{place}",
            address=f"{spec.province}{city}{area}{rng.choice(ROADS)}{rng.randint(1, 299)}号",
            mobile=mobile,
            is_model_worker=borrower_class == BorrowerClass.MODEL_WORKER,
            is_epidemic_relative=borrower_class == BorrowerClass.EPIDEMIC_RELATIVE,
            founder_class=founder_class,
            is_union_member=plan.defect != "non_member",
            union_name="",  # set with the enterprise
            resume="",
        )

    def make_enterprise(self, plan: _Plan) -> Enterprise:
        rng = self.rng
        spec, applicant, defect = plan.spec, plan.applicant, plan.defect
        if defect.startswith("excluded:"):
            industry = EXCLUDED_INDUSTRIES[defect.split(":", 1)[1]]
        else:
            industry = rng.choices(INDUSTRIES, weights=[i.weight for i in INDUSTRIES])[0]
        if spec.city == JIUJIANG:
            prefix = spec.name if spec.kind in (UnitKind.COUNTY, UnitKind.COUNTY_CITY) else "九江"
        else:
            prefix = spec.name if spec.kind in (UnitKind.COUNTY, UnitKind.COUNTY_CITY) else "徐州"
        entity = "1"
        suffix = "有限公司"
        if industry.section == "A" and rng.random() < 0.5:
            entity, suffix = "3", "专业合作社"
        elif industry.section in "FHO" and rng.random() < 0.12:
            entity, suffix = "2", "店"
        while True:
            brand = rng.choice(BRAND_CHARS) + rng.choice(BRAND_CHARS)
            name = f"{prefix}{brand}{industry.word}{suffix}"
            if brand[0] != brand[1] and name not in self.enterprise_names:
                self.enterprise_names.add(name)
                break
        region = spec.places[0][0]
        while True:
            body = f"9{entity}{region}MA" + "".join(rng.choices(CREDIT_CODE_ALPHABET, k=7))
            credit_code = make_credit_code(body=body)
            if credit_code not in self.credit_codes:
                self.credit_codes.add(credit_code)
                break
        if defect == "jobs":
            employees = rng.randint(1, 4)
        else:
            band = rng.random()
            employees = (
                rng.randint(5, 15)
                if band < 0.5
                else rng.randint(16, 40)
                if band < 0.85
                else rng.randint(41, 120)
            )
        applied = plan.applied_on
        if defect == "age":
            licence = applied - timedelta(days=5 * 365 + rng.randint(40, 1500))
        else:
            # At most 3½ years old, so it is still within 5 years when renewed next year.
            licence = applied - timedelta(days=rng.randint(60, 3 * 365 + 180))
        output_k = employees * rng.randint(40, 300)
        area = spec.area or rng.choice(spec.places)[1]
        # The enterprise's or the local union the applicant belongs to.
        if defect == "blank_union":
            applicant.union_name = ""
        elif rng.random() < 0.55:
            applicant.union_name = f"{name}工会"
        elif spec.area:
            applicant.union_name = f"{spec.area}总工会"
        else:
            local = rng.choice(spec.places)[1] if spec.kind == UnitKind.CITY_LEVEL else spec.name
            applicant.union_name = f"{local}{rng.choice(STREETS)}工会联合会"
        if not applicant.is_union_member:
            applicant.union_name = ""
        applicant.resume = self.resume(applicant, name, licence)
        return Enterprise(
            name=name,
            credit_code=credit_code,
            legal_representative=applicant.name,
            address=f"{spec.province}{spec.city}{area}{rng.choice(ROADS)}{rng.randint(1, 399)}号",
            employees=employees,
            licence_date=licence,
            industry_section=industry.section,
            industry_code=industry.code,
            is_emerging=rng.random() < industry.emerging,
            annual_output=_k(output_k),
            situation=(
                f"企业主营{industry.product}，现有职工{employees}人，年产值约"
                f"{_wan_text(_k(output_k))}万元，{licence.year}年{licence.month}月领取营业执照。"
                + rng.choice(
                    (
                        "受疫情影响，流动资金紧张。",
                        "订单增加，需扩大生产规模。",
                        "计划购置设备、扩大经营。",
                        "经营稳定，需补充流动资金。",
                    )
                )
            ),
        )

    def resume(self, applicant: Applicant, enterprise_name: str, licence: date) -> str:
        rng = self.rng
        founded = licence.year
        colleges = COLLEGES[XUZHOU if applicant.id_number.startswith("32") else JIUJIANG]
        text = {
            FounderClass.LAID_OFF: f"{founded - rng.randint(6, 20)}年至{founded - 1}年在"
            f"{rng.choice(FORMER_WORK)}工作，{founded - 1}年离岗自主创业。",
            FounderClass.GRADUATE: f"{founded - rng.randint(0, 3)}年毕业于{rng.choice(colleges)}，"
            "毕业后自主创业。",
            FounderClass.FARMER: f"原在外地务工，{founded}年返乡创业。",
            FounderClass.OTHER: f"{founded - rng.randint(2, 10)}年起从事个体经营。",
        }[applicant.founder_class]
        return f"{text}{founded}年创办{enterprise_name}，任法定代表人。"

    def make_application(self, plan: _Plan, *, borrower_class: str) -> None:
        """Fill the application row and its timeline (the steps) for a plan."""
        rng = self.rng
        program = plan.program
        self.reference_seq[program.code] += 1
        amount = _k(plan.amount_k)
        application = Application(
            reference=f"{program.code}-{self.reference_seq[program.code]:06d}",
            program=program,
            unit=plan.unit,
            applicant=plan.applicant,
            enterprise=plan.enterprise,
            bank=None,
            channel=plan.channel,
            status=plan.status,
            borrower_class=borrower_class,
            amount=amount,
            term_months=program.term_months,
            applied_on=plan.applied_on,
        )
        if rng.random() < 0.05:
            application.purpose = LoanPurpose.OTHER
            application.purpose_other = rng.choice(("门店装修", "购置运输车辆", "租赁经营场地"))
        plan.application = application
        steps = self.path(plan)
        plan.steps = self.timeline(plan, steps)
        actions = {step[0]: step[3] for step in plan.steps}
        application.created_by = (
            self.union_actor(plan.unit)
            if plan.channel == C.UNION_REFERRAL
            else self.bank_actor(plan.bank)
        )
        if plan.channel != C.UNION_REFERRAL or "recommend" in actions:
            application.bank = plan.bank
        if "approve" in actions:
            application.review_channel = self.draw_review_channel(plan)
            application.approved_amount = _k(plan.principal_k)
            application.approved_rate = self.draw_rate(program, application.review_channel)
            application.loan_type = _weighted(rng, LOAN_TYPE_WEIGHTS[program.city])
            application.decided_at = actions["approve"]
        if "decline" in actions:
            application.decided_at = actions["decline"]
            application.decision_reason = plan.reason
        if "request_consent" in actions:
            application.consent_subsidy_amount = estimate_subsidy(application)
        if "consent" in actions:
            application.consented_at = actions["consent"]
        application.created_at = plan.steps[0][3]
        application.status_changed_at = plan.steps[-1][3]

    def path(self, plan: _Plan) -> list[tuple[str, str, str]]:
        """The transitions (action, from, to) that bring the application to its status."""
        status, channel = plan.status, plan.channel
        steps = []
        if channel == C.UNION_REFERRAL:
            steps.append(("create", "", S.DRAFT))
            if status == S.DRAFT:
                return steps
            steps.append(("submit", S.DRAFT, S.SUBMITTED))
        else:
            steps.append(("create", "", S.SUBMITTED))
        if status == S.SUBMITTED:
            return steps
        if channel in REFERRALS:
            if status == S.RETURNED:
                return [*steps, ("return", S.SUBMITTED, S.RETURNED)]
            if plan.detour:
                steps += [("return", S.SUBMITTED, S.RETURNED), ("submit", S.RETURNED, S.SUBMITTED)]
            if status == S.REJECTED:
                return [*steps, ("reject", S.SUBMITTED, S.REJECTED)]
            steps.append(("recommend", S.SUBMITTED, S.RECOMMENDED))
            if status == S.RECOMMENDED:
                return steps
            if status == S.BANK_DECLINED:
                return [*steps, ("decline", S.RECOMMENDED, S.BANK_DECLINED)]
            steps.append(("approve", S.RECOMMENDED, S.BANK_APPROVED))
            if status == S.BANK_APPROVED:
                return steps
            return [*steps, ("disburse", S.BANK_APPROVED, S.DISBURSED)]
        if status == S.BANK_DECLINED:
            return [*steps, ("decline", S.SUBMITTED, S.BANK_DECLINED)]
        steps.append(("approve", S.SUBMITTED, S.BANK_APPROVED))
        if status == S.BANK_APPROVED:
            return steps
        steps.append(("request_consent", S.BANK_APPROVED, S.CONSENT_REQUESTED))
        if status == S.CONSENT_REQUESTED:
            return steps
        if status == S.CONSENT_REFUSED:
            return [*steps, ("refuse_consent", S.CONSENT_REQUESTED, S.CONSENT_REFUSED)]
        steps.append(("consent", S.CONSENT_REQUESTED, S.CONSENTED))
        if status == S.CONSENTED:
            return steps
        return [*steps, ("disburse", S.CONSENTED, S.DISBURSED)]

    def timeline(self, plan: _Plan, steps) -> list[tuple[str, str, str, datetime, str]]:
        """Steps with office-hour times from the application date to the last step."""
        rng = self.rng
        first = plan.applied_on
        if plan.disbursed_on is not None:
            last = plan.disbursed_on
        else:
            last = min(first + timedelta(days=rng.randint(3, 40)), date(first.year, 12, 20))
        span = (last - first).days
        days = [0, *sorted(rng.randint(0, span) for _ in range(len(steps) - 1))]
        if plan.disbursed_on is not None:
            days[-1] = span
        stamps = sorted(_at(rng, first + timedelta(days=d)) for d in days)
        for i in range(1, len(stamps)):
            stamps[i] = max(stamps[i], stamps[i - 1] + timedelta(minutes=30))
        timed = []
        for (action, source, target), at in zip(steps, stamps, strict=True):
            timed.append((action, source, target, at, self.note(plan, action)))
        return timed

    def note(self, plan: _Plan, action: str) -> str:
        rng = self.rng
        if action == "return":
            return rng.choice(RETURN_REASONS)
        if action == "decline":
            plan.reason = rng.choice(DECLINE_REASONS)
            return plan.reason
        return ""

    # -- saving -------------------------------------------------------------------------------

    def save_program(self, plans: list[_Plan]) -> None:
        """Write a program's applicants, enterprises, applications, checks and loans.

        The checks run after the applications are saved and before the program's loans exist,
        while last year's loans are still active: as they stood when the union reviewed.
        """
        new_applicants, new_enterprises, seen = [], [], set()
        for plan in plans:
            if plan.applicant.pk is None and id(plan.applicant) not in seen:
                seen.add(id(plan.applicant))
                new_applicants.append(plan.applicant)
                new_enterprises.append(plan.enterprise)
        bulk_create_audited(Applicant, new_applicants)
        bulk_create_audited(Enterprise, new_enterprises)
        applications = [plan.application for plan in plans]
        bulk_create_audited(Application, applications)
        for plan in plans:
            plan.results = run_pre_loan_checks(plan.application, as_of=plan.applied_on)
        loans = [self.make_loan(plan) for plan in plans if plan.status == S.DISBURSED]
        bulk_create_audited(Loan, loans)

    def make_loan(self, plan: _Plan) -> Loan:
        rng = self.rng
        application = plan.application
        bank = plan.bank
        year = plan.program.year
        self.contract_seq[bank.code, year] += 1
        prefix = next(spec.contract_prefix for spec in BANKS if spec.code == bank.code)
        principal = application.approved_amount
        split = split_principal(
            program=plan.program, borrower_class=application.borrower_class, principal=principal
        )
        employees = plan.enterprise.employees
        plan.loan = Loan(
            application=application,
            program=plan.program,
            unit=plan.unit,
            bank=bank,
            contract_number=f"{prefix}{year}-{self.contract_seq[bank.code, year]:05d}",
            principal=principal,
            subsidised_principal=split.subsidised,
            leveraged_amount=split.leveraged,
            annual_rate=application.approved_rate,
            review_channel=application.review_channel,
            loan_type=application.loan_type,
            disbursed_on=plan.disbursed_on,
            maturity_on=add_months(plan.disbursed_on, plan.program.term_months),
            renewal_of=plan.renewal_of,
            jobs_created=employees + rng.randint(0, 3),
            new_union_members=rng.randint(0, max(1, employees // 3)),
            status=LoanStatus.ACTIVE,
            created_by=self.bank_actor(bank),
        )
        if plan.program.is_active and rng.random() < 0.08:  # repaid early
            repaid = plan.disbursed_on + timedelta(days=rng.randint(60, 200))
            plan.final_status, plan.settled_on = LoanStatus.REPAID, repaid
        return plan.loan

    # -- everything after the last program -------------------------------------------------------

    def write_the_rest(self) -> None:
        checks, opinions, events, repayments, follow_ups = [], [], [], [], []
        settled = []
        for plan in self.plans:
            plan.checks = self.checks_for(plan)
            checks += plan.checks
            plan_opinions, plan_events = self.opinions_and_events(plan)
            opinions += plan_opinions
            events += plan_events
            if plan.loan is not None:
                if plan.final_status != LoanStatus.ACTIVE:
                    plan.loan.status, plan.loan.settled_on = plan.final_status, plan.settled_on
                    settled.append(plan.loan)
                if plan.final_status == LoanStatus.REPAID:
                    repayments.append(self.repayment(plan))
                follow_ups += self.follow_ups(plan)
        bulk_update_audited(Loan, settled, ["status", "settled_on"])
        bulk_create_audited(EligibilityCheck, checks)
        bulk_create_audited(Opinion, opinions)
        ApplicationEvent.objects.bulk_create(events)
        bulk_create_audited(Repayment, repayments)
        bulk_create_audited(FollowUp, follow_ups)

    def decision_step(self, plan: _Plan):
        """The union's decision step (recommend, reject, consent, refuse), if any."""
        for step in plan.steps:
            if step[0] in ("recommend", "reject", "consent", "refuse_consent"):
                return step
        return None

    def checks_for(self, plan: _Plan) -> list[EligibilityCheck]:
        decision = self.decision_step(plan)
        went_on = decision is not None and decision[0] in ("recommend", "consent")
        checked_at = decision[3] - timedelta(minutes=10) if decision else plan.steps[0][3]
        actor = self.union_actor(plan.unit)
        rows = []
        for result in plan.results:
            row = EligibilityCheck(
                application=plan.application,
                rule=result.rule,
                passed=result.passed,
                reason=result.reason,
                checked_at=checked_at,
            )
            if went_on and not result.passed:
                row.override_reason = OVERRIDE_REASONS[result.rule]
                row.overridden_by = actor
                row.overridden_at = checked_at + timedelta(minutes=5)
            rows.append(row)
        return rows

    def union_reason(self, plan: _Plan) -> str:
        failed = [r for r in plan.results if not r.passed and r.rule != CheckRule.AMOUNT_LIMIT]
        if plan.status == S.CONSENT_REFUSED:
            if failed:
                return f"经审核，{failed[0].reason}，不同意贴息。"
            return CONSENT_REFUSAL_REASON
        if failed:
            return f"经审核，{failed[0].reason}，不予推荐。"
        return f"{MATERIALS_REASON}，不予推荐。"

    def opinions_and_events(self, plan: _Plan) -> tuple[list[Opinion], list[ApplicationEvent]]:
        application = plan.application
        union = self.union_actor(plan.unit)
        bank = self.bank_actor(plan.bank) if plan.bank is not None else None
        opinions, events = [], []

        def event(action, source, target, actor, at, note=""):
            events.append(
                ApplicationEvent(
                    application=application,
                    action=action,
                    from_status=source,
                    to_status=target,
                    actor=actor,
                    note=note,
                    created_at=at,
                )
            )

        def opinion(kind, text, author, at):
            opinions.append(
                Opinion(application=application, kind=kind, text=text, author=author, written_at=at)
            )
            event("opinion", "", "", author, at, f"{OpinionKind(kind).label}：{text}")

        for action, source, target, at, note in plan.steps:
            bank_step = action in ("approve", "decline", "request_consent", "disburse") or (
                action == "create" and plan.channel != C.UNION_REFERRAL
            )
            actor = bank if bank_step else union
            if action in ("recommend", "consent"):
                for check in plan.checks:
                    if check.override_reason:
                        event(
                            "override_check",
                            "",
                            "",
                            union,
                            check.overridden_at,
                            f"{CheckRule(check.rule).label}：{check.override_reason}",
                        )
                loan_text = "同意推荐至合作银行。" if action == "recommend" else "同意贴息。"
                opinion(
                    OpinionKind.COUNTY_UNION,
                    f"经审核，申请人符合{plan.program.name}贴息条件，{loan_text}",
                    union,
                    at - timedelta(minutes=2),
                )
            if action == "approve":
                opinion(
                    OpinionKind.BANK,
                    f"经审核，同意发放{LoanType(application.loan_type).label}"
                    f"{_wan_text(application.approved_amount)}万元，期限{application.term_months}"
                    f"个月，年利率{application.approved_rate.normalize():f}%。",
                    bank,
                    at - timedelta(minutes=2),
                )
            if action in ("reject", "refuse_consent"):
                note = self.union_reason(plan)
            if action == "disburse":
                note = f"合同{plan.loan.contract_number}"
                if plan.renewal_of is not None:
                    note += f"（续贷，原合同{plan.renewal_of.contract_number}）"
            event(action, source, target, actor, at, note)
            if action == "submit" and plan.channel == C.UNION_REFERRAL and source == S.DRAFT:
                opinion(
                    OpinionKind.RECOMMENDER,
                    "该同志系我单位工会会员，创业项目经营正常，同意推荐。",
                    union,
                    at + timedelta(minutes=2),
                )
            if action in ("reject", "refuse_consent"):
                opinion(OpinionKind.COUNTY_UNION, note, union, at + timedelta(minutes=2))
            if action == "decline":
                opinion(OpinionKind.BANK, note, bank, at + timedelta(minutes=2))
        return opinions, events

    def repayment(self, plan: _Plan) -> Repayment:
        loan = plan.loan
        days = (plan.settled_on - loan.disbursed_on).days
        interest = round_fen(
            loan.principal * loan.annual_rate / Decimal(100) * Decimal(days) / Decimal(360)
        )
        early = plan.settled_on < loan.maturity_on
        return Repayment(
            loan=loan,
            repaid_on=plan.settled_on,
            principal_amount=loan.principal,
            interest_amount=interest,
            note="提前还款，结清" if early else "到期还本付息，结清",
            created_by=self.bank_actor(loan.bank),
        )

    def follow_ups(self, plan: _Plan) -> list[FollowUp]:
        """One follow-up a quarter while the loan runs (as of the year's end for current ones)."""
        rng = self.rng
        loan = plan.loan
        end = plan.settled_on or date(plan.program.year, 12, 31)
        end = min(end, loan.maturity_on)
        fate = _weighted(rng, {OperatingStatus.NORMAL: 95, "failed": 3, "closed": 2})
        year, quarter = loan.disbursed_on.year, (loan.disbursed_on.month - 1) // 3 + 1
        rows, status = [], OperatingStatus.NORMAL
        while True:
            last_month = quarter * 3
            visit = date(year, last_month, rng.randint(5, 25))
            if visit > end:
                break
            if visit >= loan.disbursed_on + timedelta(days=7):
                if fate != OperatingStatus.NORMAL and rows and rng.random() < 0.5:
                    status = OperatingStatus.FAILED if fate == "failed" else OperatingStatus.CLOSED
                if status == OperatingStatus.NORMAL:
                    jobs = max(0, loan.jobs_created + rng.randint(-2, 3))
                else:
                    jobs = rng.randint(0, 3)
                rows.append(
                    FollowUp(
                        loan=loan,
                        year=year,
                        quarter=quarter,
                        visited_on=visit,
                        operating_status=status,
                        jobs=jobs,
                        insured_employees=round(jobs * rng.uniform(0.2, 0.8)),
                        note=rng.choice(FOLLOW_UP_NOTES[status]),
                        recorded_by=self.union_actor(plan.unit),
                    )
                )
            quarter += 1
            if quarter == 5:
                year, quarter = year + 1, 1
        return rows


def display_width(text: str) -> int:
    """Columns a text takes in a terminal (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
