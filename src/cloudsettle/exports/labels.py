"""Statement labels in English and Chinese, one table so every format says the same words.

The PDF and the XLSX are read by people, so their labels follow ``--lang``.
The CSV and JSON are read by machines: their column names and keys never
change with the language (see docs/statements.md).
"""

from __future__ import annotations

from typing import Final, Literal

Lang = Literal["en", "zh"]
LANGS: Final[tuple[str, ...]] = ("en", "zh")

_LABELS: Final[dict[str, tuple[str, str]]] = {
    # key: (English, Chinese)
    "title": ("Commission statement", "佣金结算单"),
    "statement_for": ("Statement for", "结算对象"),
    "partner": ("Partner", "合作伙伴"),
    "partner_id": ("Partner ID", "合作伙伴编号"),
    "agreement": ("Agreement", "协议"),
    "agreement_version": ("Agreement version", "协议版本"),
    "period": ("Period", "结算期间"),
    "period_dates": ("Period dates", "期间起止"),
    "currency": ("Currency", "币种"),
    "status": ("Status", "状态"),
    "mode": ("Mode", "模式"),
    "prepared_by": ("Prepared by", "编制人"),
    "approved_by": ("Approved by", "审批人"),
    "finalized_by": ("Finalized by", "结账人"),
    "payable": ("Payable", "应付金额"),
    "amount_payable": ("Amount payable", "本期应付"),
    "summary": ("Summary", "汇总"),
    "components": ("How the payable is made up", "应付金额构成"),
    "component": ("Component", "项目"),
    "amount": ("Amount", "金额"),
    "base_total": ("Commission base (tier measure)", "佣金基数（阶梯计量）"),
    "billed_total": ("Billed by the provider after discounts", "云厂商折后账单金额"),
    "by_group": ("Lines by service category and customer", "按服务类别和客户汇总"),
    "service_category": ("Service category", "服务类别"),
    "customer": ("Customer", "客户"),
    "account": ("Account", "账号"),
    "provider": ("Provider", "云厂商"),
    "lines": ("Lines", "明细行数"),
    "base": ("Base", "基数"),
    "commission": ("Commission", "佣金"),
    "clawback": ("Clawback", "追回"),
    "tier_uplift": ("Tier uplift", "阶梯奖励"),
    "total": ("Total", "合计"),
    "subtotal": ("Subtotal", "小计"),
    "ppa": ("Prior-period adjustments", "以前期间调整"),
    "corrects_period": ("Corrects period", "所调整期间"),
    "earned_finalized": ("Earned as finalized", "结账时所得"),
    "earned_recomputed": ("Earned recomputed", "重新计算所得"),
    "already_adjusted": ("Already adjusted", "已调整"),
    "manual_adjustments": ("Manual adjustments", "手工调整"),
    "reason": ("Reason", "原因"),
    "by": ("By", "操作人"),
    "carry_forward": ("Carry-forward", "结转"),
    "carried_in_note": (
        "Brought forward from earlier periods",
        "自以前期间结转",
    ),
    "carried_out_note": (
        "Carried to the next period (negative or below the minimum payout)",
        "结转至下期（为负或低于最低付款额）",
    ),
    "fx_rates": ("FX rates used", "使用的汇率"),
    "fx_date": ("Rate date", "汇率日期"),
    "from_currency": ("From", "原币"),
    "to_currency": ("To", "目标币"),
    "rate": ("Rate", "费率"),
    "fx_rate": ("FX rate", "汇率"),
    "base_converted": ("Base converted", "折算基数"),
    "findings": ("Findings that affected this statement", "影响本结算单的问题"),
    "kind": ("Kind", "类型"),
    "message": ("Message", "说明"),
    "line": ("Line", "明细行"),
    "none": ("None.", "无。"),
    "line_detail": ("Line detail", "明细"),
    "line_id": ("Line ID", "明细编号"),
    "role": ("Role", "角色"),
    "service": ("Service", "服务"),
    "charge_date": ("Charge date", "计费日期"),
    "revision": ("Revision", "版本"),
    "deal": ("Deal", "商机"),
    "fraction": ("Fraction", "比例"),
    "rule": ("Rule", "规则"),
    "reasons": ("Reason codes", "原因代码"),
    "original_line": ("Original line", "原明细"),
    "source_file": ("Source file", "来源文件"),
    "source_row": ("Source row", "来源行号"),
    "line_currency": ("Line currency", "明细币种"),
    "lines_elsewhere": (
        "This statement has {count} lines; the PDF shows them by service category and customer. "
        "Every line is in the XLSX and CSV exports and in the explanation pack.",
        "本结算单共 {count} 行明细；PDF 按服务类别和客户汇总显示。"
        "全部明细见 XLSX、CSV 导出文件及说明包。",
    ),
    "lines_sheet": ("Lines", "明细"),
    "explanation_sheet": ("Explanation", "说明"),
    "summary_sheet": ("Summary", "汇总"),
    "formula": ("How it is computed", "计算方法"),
    "terms": ("Agreement terms", "协议条款"),
    "page": ("Page", "第"),
    "of": ("of", "页，共"),
    "page_end": ("", "页"),
    "no_findings": ("No findings affected this statement.", "没有影响本结算单的问题。"),
    # statuses
    "status_calculated": ("calculated", "已计算"),
    "status_in_exception": ("in exception", "存在异常"),
    "status_approved": ("approved", "已审批"),
    "status_settled": ("settled", "已结账"),
    "status_paid": ("paid", "已付款"),
    # roles
    "role_commission": ("commission", "佣金"),
    "role_clawback": ("clawback", "追回"),
    # components (settlement-rules.md steps)
    "c_commission": ("Commission", "佣金"),
    "c_tier_uplift": ("Tier uplift", "阶梯奖励"),
    "c_clawback": ("Clawback of refunds", "退款追回"),
    "c_cap_adjustment": ("Cap / floor adjustment", "封顶 / 保底调整"),
    "c_fees": ("Fees", "费用"),
    "c_manual_adjustment": ("Manual adjustments", "手工调整"),
    "c_prior_period_adjustment": ("Prior-period adjustments", "以前期间调整"),
    "c_carried_in": ("Carried in", "上期结转"),
    "c_carried_out": ("Carried out (deducted)", "结转下期（扣除）"),
    "c_payable": ("Payable", "应付金额"),
    # formulas (settlement-rules.md steps), for the explanation sheet
    "f_commission": (
        "Σ base × rate over the commission lines (step 3)",
        "佣金明细的 Σ 基数 × 费率（第 3 步）",
    ),
    "f_tier_uplift": (
        "Tier bands on the measure (base total) (step 4)",
        "按计量（基数合计）适用阶梯（第 4 步）",
    ),
    "f_clawback": (
        "Σ share × base × original rate over refunds of earlier lines (step 5)",
        "对以前明细的退款：Σ 追回比例 × 基数 × 原费率（第 5 步）",
    ),
    "f_cap_adjustment": (
        "cap − pre when pre > cap; floor − pre when 0 < pre < floor (step 6)",
        "超过封顶时为 封顶 − 调整前金额；低于保底时为 保底 − 调整前金额（第 6 步）",
    ),
    "f_fees": (
        "−percent × capped, −fixed; only when capped > 0 (step 7)",
        "−比例 × 封顶后金额，−固定费用；仅当其大于 0（第 7 步）",
    ),
    "f_manual_adjustment": ("Σ manual adjustments (step 8)", "手工调整合计（第 8 步）"),
    "f_prior_period_adjustment": ("Corrections of finalized periods (step 9)", "已结账期间的更正（第 9 步）"),
    "f_carried_in": (
        "Carried out of the latest finalized statement (step 11)",
        "最近一期已结账结算单的结转金额（第 11 步）",
    ),
    "f_carried_out": (
        "Net when net < 0 or below the minimum payout (step 11)",
        "净额为负或低于最低付款额时结转（第 11 步）",
    ),
    "f_payable": (
        "commission + tier uplift + clawback + cap adjustment + fees + manual + prior-period + carried in "
        "− carried out",
        "佣金 + 阶梯奖励 + 追回 + 封顶调整 + 费用 + 手工调整 + 以前期间调整 + 上期结转 − 结转下期",
    ),
}


def check_lang(lang: str) -> Lang:
    """``lang`` as a :data:`Lang`, or ValueError naming the choices."""
    if lang == "en":
        return "en"
    if lang == "zh":
        return "zh"
    raise ValueError(f"language {lang!r} is not available; use one of {', '.join(LANGS)}")


class Labels:
    """The labels of one language: ``labels["payable"]``, ``labels.of_component("fees")``."""

    def __init__(self, lang: Lang) -> None:
        self.lang = lang
        self._index = 0 if lang == "en" else 1

    def __getitem__(self, key: str) -> str:
        return _LABELS[key][self._index]

    def of_component(self, name: str) -> str:
        """The label of a statement component (``fees`` -> ``Fees`` / ``费用``)."""
        return self[f"c_{name}"]

    def of_formula(self, name: str) -> str:
        """How a component is computed, citing the spec step."""
        return self[f"f_{name}"]

    def of_status(self, status: str) -> str:
        """A statement status in words; an unknown one as it is."""
        key = f"status_{status}"
        return self[key] if key in _LABELS else status

    def of_role(self, role: str) -> str:
        """A line role in words; an unknown one as it is."""
        key = f"role_{role}"
        return self[key] if key in _LABELS else role


def labels(lang: str) -> Labels:
    """The labels for ``lang`` (``en`` or ``zh``)."""
    return Labels(check_lang(lang))


def label_keys() -> frozenset[str]:
    """Every label key (a test checks both languages fill each one)."""
    return frozenset(_LABELS)


def raw(key: str) -> tuple[str, str]:
    """The (English, Chinese) pair of one key."""
    return _LABELS[key]
