"""Enumerations of the loan domain, with the Chinese labels the forms and reports use."""

from django.db import models


class UnitKind(models.TextChoices):
    CITY_LEVEL = "city_level", "市本级"
    COUNTY = "county", "县"
    COUNTY_CITY = "county_city", "县级市"
    DISTRICT = "district", "区"
    DEV_ZONE = "dev_zone", "开发区/新区"
    OTHER = "other", "其他单位"


class ReviewChannel(models.TextChoices):
    """How the bank reviews the loan; each has its own rate cap."""

    ONLINE = "online", "线上审核"
    OFFLINE = "offline", "线下审核"


class ApplicationChannel(models.TextChoices):
    """The three application channels (申报方式) of the 九工贷 notice, section 七."""

    UNION_REFERRAL = "union_referral", "工会推荐"
    BANK_REFERRAL = "bank_referral", "银行推荐"
    BANK_ONLINE = "bank_online", "银行线上审核"


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "已提交待审核"
    RETURNED = "returned", "退回修改"
    REJECTED = "rejected", "不予推荐"
    RECOMMENDED = "recommended", "已推荐至银行"
    BANK_APPROVED = "bank_approved", "银行已审批"
    BANK_DECLINED = "bank_declined", "银行未通过"
    CONSENT_REQUESTED = "consent_requested", "待工会同意贴息"
    CONSENTED = "consented", "工会已同意贴息"
    CONSENT_REFUSED = "consent_refused", "工会不同意贴息"
    DISBURSED = "disbursed", "已放款"


class BorrowerClass(models.TextChoices):
    """Borrower classes with their own amount limits (notice section 六)."""

    GENERAL = "general", "一般职工"
    MODEL_WORKER = "model_worker", "劳模"
    EPIDEMIC_RELATIVE = "epidemic_relative", "抗疫一线职工直系亲属"


class FounderClass(models.TextChoices):
    """Founder classes counted by the Xuzhou analysis (创业法人类型)."""

    LAID_OFF = "laid_off", "下岗失业/离岗创业人员"
    GRADUATE = "graduate", "高校毕业生"
    FARMER = "farmer", "失地农民/返乡创业农民"
    OTHER = "other", "其他从业人员"


class LoanPurpose(models.TextChoices):
    PRODUCTION = "production", "生产经营"
    OTHER = "other", "其他"


class LoanType(models.TextChoices):
    CREDIT = "credit", "信用贷款"
    GUARANTEED = "guaranteed", "担保贷款"
    MORTGAGE = "mortgage", "抵押贷款"


class LoanStatus(models.TextChoices):
    ACTIVE = "active", "未结清"
    REPAID = "repaid", "已结清"
    RENEWED = "renewed", "已续贷"


class OperatingStatus(models.TextChoices):
    """Quarterly follow-up outcome (贷后跟踪)."""

    NORMAL = "normal", "正常经营"
    FAILED = "failed", "经营失败"
    CLOSED = "closed", "停业"


class OpinionKind(models.TextChoices):
    """The three opinion boxes of the 附件2 form."""

    RECOMMENDER = "recommender", "推荐单位审核意见"
    COUNTY_UNION = "county_union", "县区总工会审核意见"
    BANK = "bank", "银行审核意见"


class CheckRule(models.TextChoices):
    """The pre-loan checks (贷前资格审查), each shown and stored rule by rule."""

    UNION_MEMBERSHIP = "union_membership", "工会会员资格"
    ENTERPRISE_AGE = "enterprise_age", "企业成立年限"
    JOBS = "jobs", "带动就业人数"
    EXCLUDED_INDUSTRY = "excluded_industry", "行业限制"
    AMOUNT_LIMIT = "amount_limit", "贷款额度"
    NO_ACTIVE_LOAN = "no_active_loan", "无其他未结清项目贷款"


class IndustryGroup(models.TextChoices):
    """The groups of the Xuzhou report's industry table."""

    PRIMARY = "primary", "第一产业"
    SECONDARY = "secondary", "第二产业"
    TERTIARY = "tertiary", "第三产业"
    EMERGING = "emerging", "新兴产业"


class IndustrySection(models.TextChoices):
    """Sections (门类) of the national industry classification GB/T 4754-2017."""

    A = "A", "A 农、林、牧、渔业"
    B = "B", "B 采矿业"
    C = "C", "C 制造业"
    D = "D", "D 电力、热力、燃气及水生产和供应业"
    E = "E", "E 建筑业"
    F = "F", "F 批发和零售业"
    G = "G", "G 交通运输、仓储和邮政业"
    H = "H", "H 住宿和餐饮业"
    I = "I", "I 信息传输、软件和信息技术服务业"  # noqa: E741
    J = "J", "J 金融业"
    K = "K", "K 房地产业"
    L = "L", "L 租赁和商务服务业"
    M = "M", "M 科学研究和技术服务业"
    N = "N", "N 水利、环境和公共设施管理业"
    O = "O", "O 居民服务、修理和其他服务业"  # noqa: E741
    P = "P", "P 教育"
    Q = "Q", "Q 卫生和社会工作"
    R = "R", "R 文化、体育和娱乐业"
    S = "S", "S 公共管理、社会保障和社会组织"
    T = "T", "T 国际组织"


PRIMARY_SECTIONS = frozenset({"A"})
SECONDARY_SECTIONS = frozenset({"B", "C", "D", "E"})

# Program default from the Xuzhou report (建筑房地产、教育培训、洗浴、网吧、娱乐): sections E
# (construction), K (real estate), P (education), class 8051 (洗浴服务), class 9013 (网吧活动)
# and division 90 (娱乐业). Entries are section letters or numeric prefixes of the 4-digit
# class code, so a program can exclude anything from a whole section down to one class.
DEFAULT_EXCLUDED_INDUSTRIES = ["E", "K", "P", "8051", "9013", "90"]


# Timeline labels of the application events (workflow actions and recorded changes).
EVENT_LABELS = {
    "create": "录入申请",
    "submit": "提交审核",
    "return": "退回修改",
    "reject": "不予推荐",
    "recommend": "推荐至银行",
    "approve": "银行审批通过",
    "decline": "银行审批未通过",
    "request_consent": "征求工会意见",
    "consent": "同意贴息",
    "refuse_consent": "不同意贴息",
    "disburse": "放款",
    "opinion": "填写审核意见",
    "override_check": "贷前审查例外通过",
    "renew": "续贷",
}
