"""``sales-rca code`` (auto-code lost deals) and ``sales-rca agreement`` (compare two codings)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from sales_rca.cli.check import HistoryOpt, JsonOpt, MappingOpt, SourceOpt, load_from_cli
from sales_rca.coding import (
    CodingResult,
    agreement,
    code_losses,
    load_codebook,
    read_coding_csv,
)
from sales_rca.coding.agreement import Agreement, rating
from sales_rca.coding.codebook import CATEGORY_LABELS
from sales_rca.coding.evaluate import Evaluation, evaluate_file
from sales_rca.csvsafe import write_csv
from sales_rca.errors import SalesRcaError

CodebookOpt = Annotated[
    Path | None, typer.Option("--codebook", help="Codebook YAML (default: the packaged codebook).")
]


def format_coding(result: CodingResult) -> str:
    """A readable summary of a coding run for a terminal."""
    s = result.summary()
    lines = [
        f"Lost deals: {s['rows']:,}, coded: {s['coded']:,} ({s['coverage']:.0%})",
        "By category:",
    ]
    lines += [
        f"  {CATEGORY_LABELS[c]:<32} {n:>6,}"
        for c, n in sorted(s["by_category"].items(), key=lambda kv: -kv[1])
        if n
    ]
    lines.append("Top codes:")
    lines += [f"  {code:<32} {n:>6,}" for code, n in list(s["by_code"].items())[:10]]
    if s["uncoded_examples"]:
        lines.append("Uncoded (review queue), e.g.:")
        lines += [f"  - {t[:100]}" for t in s["uncoded_examples"]]
    lines += [f"Note: {n}" for n in s["notes"]]
    m = s["model"]
    if m.get("on"):
        cv = m["cv_macro_f1"]
        lines.append(
            f"Model: on, trained on {m['trained_on']:,} texts ({m['from_team']:,} from the team), "
            f"cross-validated macro F1 {'n/a' if cv is None else f'{cv:.2f}'}"
        )
    else:
        lines.append("Model: off (rules only)")
    return "\n".join(lines)


def format_evaluation(e: Evaluation, name: str) -> str:
    """Macro F1, coverage, per-category precision/recall and the confusion table."""
    lines = [
        f"Labelled texts: {name}",
        f"Macro F1 (categories): {e.macro_f1:.3f}",
        f"Coverage: {e.coverage:.1%}",
        "Primary category right: "
        + ("n/a" if e.primary_accuracy is None else f"{e.primary_accuracy:.1%}"),
        "Per category:",
        f"  {'category':<12} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}",
    ]
    lines += [
        f"  {c:<12} {r.precision:>9.2f} {r.recall:>7.2f} {r.f1:>6.2f} {int(r.support):>8}"
        for c, r in e.per_category.iterrows()
    ]
    lines.append("Confusion (expected primary down, coded primary across):")
    cols = list(e.confusion.columns)
    lines.append("  " + " " * 12 + "".join(f"{str(c)[:10]:>11}" for c in cols))
    lines += [
        "  " + f"{r!s:<12}" + "".join(f"{int(v):>11}" for v in row.tolist())
        for r, row in e.confusion.iterrows()
    ]
    if e.model is not None:
        cv = e.model["cv_macro_f1"]
        lines.append(
            f"Model: trained on {e.model['trained_on']:,} texts (none of the texts scored here), "
            f"cross-validated macro F1 of the model alone {'n/a' if cv is None else f'{cv:.3f}'}"
        )
    else:
        lines.append("Model: off (rules only)")
    return "\n".join(lines)


def code(
    path: Annotated[
        Path | None,
        typer.Argument(help="The CRM export: CSV, XLSX or Salesforce .xls (not with --evaluate)."),
    ] = None,
    history: HistoryOpt = None,
    mapping: MappingOpt = None,
    codebook: CodebookOpt = None,
    source: SourceOpt = "auto",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write one row per lost deal: opportunity_id, codes, categories, "
            "primary_category, evidence, basis, confidence.",
        ),
    ] = None,
    evaluate: Annotated[
        Path | None,
        typer.Option(
            "--evaluate",
            help="Score the coding on a labelled CSV (text, categories; primary category "
            "first): macro F1, per-category precision/recall, confusion table.",
        ),
    ] = None,
    use_model: Annotated[
        bool,
        typer.Option(
            "--model/--no-model",
            help="Combine the rules with the model trained on labelled texts (default on).",
        ),
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Auto-code why deals were lost from their notes (the pick-list is kept apart)."""
    book = load_codebook(codebook)
    if evaluate is not None:
        ev = evaluate_file(evaluate, book, model=use_model)
        if as_json:
            typer.echo(json.dumps(ev.to_dict(), indent=2))
        else:
            typer.echo(format_evaluation(ev, evaluate.name))
        return
    if path is None:
        raise SalesRcaError(
            "sales-rca code: expected a CRM export (or --evaluate FILE), found none."
        )
    crm = load_from_cli(path, history, mapping, source)
    result = code_losses(crm, book, model="default" if use_model else None)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_csv(result.to_frame(), out)
    if as_json:
        typer.echo(json.dumps(result.summary(), indent=2))
    else:
        typer.echo(format_coding(result))


def format_agreement(a: Agreement) -> str:
    """A readable agreement report."""

    def num(x: float) -> str:
        return "n/a" if x != x else f"{x:.3f}"

    lines = [
        f"Deals coded by both: {a.n:,} (only in A: {a.only_in_a}, only in B: {a.only_in_b})",
        f"Cohen's kappa      : {num(a.kappa)} ({rating(a.kappa)})",
        f"Krippendorff alpha : {num(a.alpha)} ({rating(a.alpha)})",
        f"Percent agreement  : {a.percent_agreement:.0%}" if a.n else "Percent agreement  : n/a",
        "Per category (kappa):",
    ]
    lines += [f"  {c:<12} {num(r.kappa)} ({r.rating})" for c, r in a.per_category.iterrows()]
    if len(a.disagreements):
        lines.append(f"Disagreements: {len(a.disagreements)}, e.g.:")
        for r in a.disagreements.head(10).itertuples(index=False):
            lines.append(f"  {r[0]}: A={';'.join(r[1]) or '-'}  B={';'.join(r[2]) or '-'}")
    return "\n".join(lines)


def agreement_cmd(
    a: Annotated[Path, typer.Argument(help="First coding CSV (opportunity_id, categories/codes).")],
    b: Annotated[Path, typer.Argument(help="Second coding CSV.")],
    codebook: CodebookOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Agreement of two codings: Cohen's kappa, Krippendorff's alpha, per-category kappa."""
    book = load_codebook(codebook)
    result = agreement(read_coding_csv(a, book), read_coding_csv(b, book))
    if as_json:
        data: dict[str, Any] = result.to_dict()
        typer.echo(json.dumps(data, indent=2))
    else:
        typer.echo(format_agreement(result))


def register(app: typer.Typer) -> None:
    app.command("code")(code)
    app.command("agreement")(agreement_cmd)
