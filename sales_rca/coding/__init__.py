"""Deal-loss coding: codebook, auto-coding, human overrides, agreement and findings.

Typical use::

    from sales_rca.coding import code_losses, coding_findings
    result = code_losses(crm)                 # CrmData from sales_rca.crm.load_crm
    result.summary()["coverage"], result.uncoded
    findings = coding_findings(result)
"""

from __future__ import annotations

from sales_rca.coding.agreement import Agreement, agreement, cohen_kappa, krippendorff_alpha
from sales_rca.coding.autocode import code_texts, match_texts, normalise_texts
from sales_rca.coding.codebook import (
    CATEGORIES,
    CATEGORY_LABELS,
    Code,
    Codebook,
    codebook_from_dict,
    default_codebook,
    load_codebook,
    parse_pattern,
)
from sales_rca.coding.evaluate import Evaluation, evaluate_codebook, evaluate_file
from sales_rca.coding.findings import (
    category_breakdown,
    category_shares,
    coding_findings,
    loss_priorities,
    stage_category_matrix,
    top_codes,
)
from sales_rca.coding.lint import LintWarning, lint_codebook
from sales_rca.coding.losses import CodingResult, code_losses, over_attribution, picklist_crosstab
from sales_rca.coding.overrides import (
    Override,
    apply_overrides,
    export_coding_csv,
    read_coding_csv,
)

__all__ = [
    "CATEGORIES",
    "CATEGORY_LABELS",
    "Agreement",
    "Code",
    "Codebook",
    "CodingResult",
    "Evaluation",
    "LintWarning",
    "Override",
    "agreement",
    "apply_overrides",
    "category_breakdown",
    "category_shares",
    "code_losses",
    "code_texts",
    "codebook_from_dict",
    "coding_findings",
    "cohen_kappa",
    "default_codebook",
    "evaluate_codebook",
    "evaluate_file",
    "export_coding_csv",
    "krippendorff_alpha",
    "lint_codebook",
    "load_codebook",
    "loss_priorities",
    "match_texts",
    "normalise_texts",
    "over_attribution",
    "parse_pattern",
    "picklist_crosstab",
    "read_coding_csv",
    "stage_category_matrix",
    "top_codes",
]
