"""The engine's match reasons in the user's language.

The engine (``matcher/``) explains its matches, coalitions and plans in English
sentences (``Match.reasons``, ``Coalition.reasons``, ``Plan.explanation``) and stays
free of i18n machinery. This module is the one place that renders those sentences in
Dutch: a table of the engine's sentence patterns, each a regular expression built
from the exact f-string in ``matcher/`` (or ``api/services/planning.py``) with a Dutch
template. Numbers, amounts, percentages and dates get Dutch formatting; CPV codes get
their Dutch label and target-group codes their Dutch name.

English pages show the engine's text unchanged. A sentence the table does not know
is shown as the engine wrote it (English) and logged once; ``tests/test_reason_text.py``
feeds real engine output through :func:`rule_of` so a new engine sentence without a
row here fails the tests.

Producers (keep in step):

- ``matcher/cpv.py`` ``explain_cpv``; ``matcher/rank.py`` ``_text_reason`` and
  ``explain`` (distance, capacity); ``matcher/groups.py`` ``explain_groups``;
  ``matcher/certification.py`` ``recognition`` (the ``recognised:`` line)
- ``matcher/challenge.py`` ``_with_diversity_reason`` and ``_coalition``
- ``matcher/plan.py`` ``FulfilmentPlanner.plan`` / ``_explain``, plus the
  ``Already committed`` note of ``api/services/planning.py``
- ``matcher/constraints.py`` exclusions carry their own ``reason_nl``
  (see :func:`localise_why_not`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from api import i18n
from api.labels import TARGET_GROUP_NL
from matcher.model import CERTIFICATION_SCHEMES
from matcher.refdata import cpv_label

log = logging.getLogger(__name__)



# Pieces of the engine's English formatting, as regular expressions.
NUM = r"-?(?:\d[\d,]*(?:\.\d+)?(?:e[+-]?\d+)?|inf|nan)"  # {x:.1f}, {x:g}, {x:.2f}
EUR = r"€-?\d[\d,]*(?:\.\d+)?"  # €{x:,.0f} / €{x:,.2f}
PCT = r"-?\d+%"  # {x:.0%}
CODE = r"[0-9][0-9-]*"  # CPV codes
INT = r"\d+"
SCHEMES = "|".join(re.escape(s) for s in sorted(CERTIFICATION_SCHEMES, key=len, reverse=True))


class NoMatch(Exception):
    """A part of a sentence is not one the table knows (the rule does not apply)."""


# --- Dutch formatting of the engine's English numbers -----------------------------------

def num(text: str) -> str:
    """'3.2' -> '3,2', '1,234.5' -> '1.234,5'; keeps the engine's number of decimals."""
    raw = text.replace(",", "")
    try:
        value = float(raw)
    except ValueError as exc:
        raise NoMatch(text) from exc
    if "e" in raw.lower() or raw in ("inf", "-inf", "nan"):
        return i18n.format_number(value)
    _, _, frac = raw.partition(".")
    return i18n.format_number(value, len(frac))


def eur(text: str) -> str:
    """'€1,234' -> '€ 1.234', '€1,234.50' -> '€ 1.234,50'."""
    raw = text.lstrip("€").replace(",", "")
    try:
        value = float(raw)
    except ValueError as exc:
        raise NoMatch(text) from exc
    _, _, frac = raw.partition(".")
    return i18n.format_eur(value, decimals=len(frac))


def pct(text: str) -> str:
    """'80%' -> '80 %'."""
    return f"{text.rstrip('%')} %"


def cpv_nl(code: str) -> str:
    return cpv_label(code, "nl")


def group_nl(code: str) -> str:
    return TARGET_GROUP_NL.get(code, code)


def plural(n: str | int, one: str, many: str) -> str:
    return one if int(n) == 1 else many


# --- the table ---------------------------------------------------------------------------

Render = Callable[[re.Match[str]], str]


@dataclass(frozen=True)
class Rule:
    """One engine sentence: its name, its English pattern (matched in full) and its
    Dutch rendering (which may raise :class:`NoMatch` for an unknown part)."""

    name: str
    pattern: re.Pattern[str]
    dutch: Render


def _rule(name: str, pattern: str, dutch: Render) -> Rule:
    return Rule(name, re.compile(pattern, re.DOTALL), dutch)


def _sub_rules(text: str, rules: Iterable[Rule]) -> str:
    for rule in rules:
        m = rule.pattern.fullmatch(text)
        if m:
            return rule.dutch(m)
    raise NoMatch(text)


# recognition(): one item per valid certificate, plus the staff share.
_RECOGNITION_ITEMS = (
    _rule("recognition.share", rf"(?P<p>{PCT}) of staff from target groups",
          lambda m: f"{pct(m['p'])} van de medewerkers uit doelgroepen"),
    _rule("recognition.certificate",
          rf"(?P<scheme>{SCHEMES})(?: level (?P<level>\S+))?"
          r"(?: \(valid until (?P<until>\d{4}-\d{2}-\d{2})\))?",
          lambda m: _certificate(m)),
)


def _certificate(m: re.Match[str]) -> str:
    out = m["scheme"]
    if m["level"]:
        level = m["level"]
        word = ("trede " if m["scheme"].startswith("PSO") else "niveau ") if level.isdigit() \
            else ""
        out += f" {word}{level}"
    if m["until"]:
        out += f" (geldig tot {i18n.format_date(date.fromisoformat(m['until']), 'long', 'nl')})"
    return out


def _recognised(m: re.Match[str]) -> str:
    return "erkend: " + "; ".join(_sub_rules(item, _RECOGNITION_ITEMS)
                                  for item in m["items"].split("; "))


def _themes_covered(m: re.Match[str]) -> str:
    themes = m["themes"]
    many = "', '" in themes
    return ("dekt de Challenge-thema's " if many else "dekt het Challenge-thema ") + themes


def _coalition_themes(m: re.Match[str]) -> str:
    out = f"dekken samen {m['n']} van de {m['of']} thema's"
    if m["covered"]:
        out += ": " + m["covered"]
    if m["partly"]:
        out += "; deels " + re.sub(rf"' ({PCT}) \(", lambda p: f"' {pct(p[1])} (", m["partly"])
    if m["best"]:
        out += f" (beste afzonderlijke lid: {pct(m['best'])})"
    return out


# Plan explanations (matcher/plan.py): the "Plan: ..." part and the "why" parts.
_PLAN_PARTS = (
    _rule("plan.buy", rf"buy (?P<amount>{EUR}) from (?P<n>{INT}) enterprise\(s\) "
                      rf"\(credit (?P<credit>{EUR})\)",
          lambda m: f"inkoop van {eur(m['amount'])} bij {m['n']} "
                    f"{plural(m['n'], 'onderneming', 'ondernemingen')} "
                    f"(waarde {eur(m['credit'])})"),
    _rule("plan.place", rf"(?P<n>{INT}) placement\(s\) at (?P<k>{INT}) enterprise\(s\) "
                        rf"\(credit (?P<credit>{EUR})\)",
          lambda m: f"{m['n']} {plural(m['n'], 'plaatsing', 'plaatsingen')} bij {m['k']} "
                    f"{plural(m['k'], 'onderneming', 'ondernemingen')} "
                    f"(waarde {eur(m['credit'])})"),
    _rule("plan.nothing", r"nothing can be planned", lambda m: "niets in te plannen"),
)
_PLAN_WHY = (
    _rule("plan.why.no_candidates", r"no candidates", lambda m: "geen kandidaten"),
    _rule("plan.why.no_options",
          r"no candidate has purchasing capacity for what the firm buys or a free "
          r"placement for a building block of the policy",
          lambda m: "geen kandidaat heeft inkoopcapaciteit voor wat het bedrijf inkoopt of een "
                    "vrije plaatsing voor een bouwblok van de waarderingstabel"),
    _rule("plan.why.reach",
          rf"the candidates' remaining capacity yields at most (?P<reach>{EUR}) credit",
          lambda m: f"de resterende capaciteit van de kandidaten levert hoogstens "
                    f"{eur(m['reach'])} waarde op"),
    _rule("plan.why.partners", r"the partner limit leaves too little capacity",
          lambda m: "het maximum aantal partners laat te weinig capaciteit over"),
)


def _plan_text(text: str) -> str:
    return "; ".join(_sub_rules(part, _PLAN_PARTS) for part in text.split("; "))


def _over(tail: str | None) -> str:
    if not tail:
        return ""
    m = re.fullmatch(rf" \((?P<over>{EUR}) over, placements are whole\)", tail)
    if not m:
        raise NoMatch(tail)
    return f" ({eur(m['over'])} meer, plaatsingen tellen als hele plaatsen)"


RULES: tuple[Rule, ...] = (
    # matcher/cpv.py explain_cpv
    _rule("cpv.exact", rf"CPV (?P<q>{CODE}) \(.*\) offered exactly",
          lambda m: f"CPV {m['q']} ({cpv_nl(m['q'])}) exact aangeboden"),
    _rule("cpv.within", rf"CPV (?P<e>{CODE}) \(.*\) lies within requested (?P<q>{CODE}) \(.*\)",
          lambda m: f"CPV {m['e']} ({cpv_nl(m['e'])}) valt binnen de gevraagde {m['q']} "
                    f"({cpv_nl(m['q'])})"),
    _rule("cpv.covers", rf"CPV (?P<e>{CODE}) \(.*\) covers requested (?P<q>{CODE}) \(.*\)",
          lambda m: f"CPV {m['e']} ({cpv_nl(m['e'])}) omvat de gevraagde {m['q']} "
                    f"({cpv_nl(m['q'])})"),
    _rule("cpv.related", rf"CPV (?P<e>{CODE}) shares class (?P<a>{CODE}) \(.*\) with requested "
                         rf"(?P<q>{CODE}) \(similarity (?P<s>{NUM})\)",
          lambda m: f"CPV {m['e']} deelt klasse {m['a']} ({cpv_nl(m['a'])}) met de gevraagde "
                    f"{m['q']} (gelijkenis {num(m['s'])})"),
    # matcher/rank.py _text_reason and explain
    _rule("text.terms", r"description shares terms (?P<terms>'.*')",
          lambda m: f"omschrijving deelt de termen {m['terms']}"),
    _rule("distance", rf"(?P<km>{NUM}) km from the place of work, within its "
                      rf"(?P<r>{NUM}) km service radius",
          lambda m: f"{num(m['km'])} km van de werklocatie, binnen de eigen werkstraal van "
                    f"{num(m['r'])} km"),
    _rule("capacity.share", rf"(?P<rem>{EUR}) capacity left of (?P<cap>{EUR}) per year: "
                            rf"carries (?P<p>{PCT}) of the (?P<due>{EUR}) due",
          lambda m: f"nog {eur(m['rem'])} capaciteit vrij van {eur(m['cap'])} per jaar: "
                    f"draagt {pct(m['p'])} van de verschuldigde {eur(m['due'])}"),
    _rule("capacity", rf"(?P<rem>{EUR}) capacity left of (?P<cap>{EUR}) per year",
          lambda m: f"nog {eur(m['rem'])} capaciteit vrij van {eur(m['cap'])} per jaar"),
    # matcher/groups.py explain_groups
    _rule("group.exact", r"works with target group '(?P<a>[^']*)'",
          lambda m: f"werkt met doelgroep {group_nl(m['a'])}"),
    _rule("group.counts_as", r"works with '(?P<b>[^']*)', which counts as '(?P<a>[^']*)'",
          lambda m: f"werkt met {group_nl(m['b'])}, dat meetelt als {group_nl(m['a'])}"),
    _rule("group.may_include", r"works with '(?P<b>[^']*)', which may include '(?P<a>[^']*)'",
          lambda m: f"werkt met {group_nl(m['b'])}, waaronder mogelijk {group_nl(m['a'])}"),
    # matcher/certification.py recognition (joined in matcher/rank.py explain)
    _rule("recognised", r"recognised: (?P<items>.+)", _recognised),
    # matcher/challenge.py _with_diversity_reason
    _rule("challenge.themes", r"covers the Challenge's theme\(s\) (?P<themes>'.*')",
          _themes_covered),
    _rule("challenge.different", rf"a different approach: similarity (?P<s>{PCT}) to the "
                                 r"closest result above it \((?P<name>.*)\)",
          lambda m: f"een andere aanpak: {pct(m['s'])} gelijk aan het meest gelijkende "
                    f"resultaat erboven ({m['name']})"),
    # matcher/challenge.py _coalition
    _rule("coalition.themes", rf"together cover (?P<n>{INT}) of (?P<of>{INT}) themes"
                              r"(?:: (?P<covered>.*?))?(?:; partly (?P<partly>.*?))?"
                              rf"(?: \(best single member: (?P<best>{PCT})\))?",
          _coalition_themes),
    _rule("coalition.alike", rf"different approaches: members are on average (?P<p>{PCT}) alike",
          lambda m: f"verschillende aanpakken: de leden lijken gemiddeld voor {pct(m['p'])} "
                    f"op elkaar"),
    _rule("coalition.cpv", r"different kinds of work: CPV divisions (?P<d>.*)",
          lambda m: "verschillend soort werk: CPV-afdelingen "
                    + m["d"].replace(",", ", ")),
    _rule("coalition.fit", rf"mean fit to the question (?P<f>{NUM})",
          lambda m: f"gemiddelde aansluiting op de vraag {num(m['f'])}"),
    _rule("coalition.budget", rf"(?P<cap>{EUR}) capacity left together per year against a "
                              rf"budget of (?P<b>{EUR}) \((?P<p>{PCT}) covered\)",
          lambda m: f"samen nog {eur(m['cap'])} capaciteit per jaar vrij tegenover een budget "
                    f"van {eur(m['b'])} ({pct(m['p'])} gedekt)"),
    _rule("coalition.capacity", rf"(?P<cap>{EUR}) capacity left together per year",
          lambda m: f"samen nog {eur(m['cap'])} capaciteit per jaar vrij"),
    # matcher/plan.py FulfilmentPlanner.plan and _explain
    _rule("plan.nothing_due", r"Nothing is due: no plan needed\.",
          lambda m: "Er is niets verschuldigd: geen plan nodig."),
    _rule("plan.no_options", rf"Cannot be met: (?P<why>.+)\. Short by (?P<short>{EUR}) of "
                             rf"(?P<due>{EUR})\.",
          lambda m: f"Niet haalbaar: {_sub_rules(m['why'], _PLAN_WHY)}. Tekort "
                    f"{eur(m['short'])} van {eur(m['due'])}."),
    _rule("plan.met", rf"Due (?P<due>{EUR}): met(?P<tail> \(.*\))?\. Plan: (?P<plan>.+); "
                      rf"(?P<n>{INT}) partner\(s\), credit-weighted fit (?P<fit>{NUM})\.",
          lambda m: f"Verschuldigd {eur(m['due'])}: gehaald{_over(m['tail'])}. Plan: "
                    f"{_plan_text(m['plan'])}; {m['n']} "
                    f"{plural(m['n'], 'partner', 'partners')}, naar waarde gewogen "
                    f"aansluiting {num(m['fit'])}."),
    _rule("plan.unmet", rf"Due (?P<due>{EUR}): cannot be met — (?P<why>.+)\. Short by "
                        rf"(?P<short>{EUR}) \((?P<p>{PCT})\)\. Plan: (?P<plan>.+)\. Add "
                        r"candidates or capacity, or tell the coordinator the obligation needs "
                        r"another route\.",
          lambda m: f"Verschuldigd {eur(m['due'])}: niet haalbaar — "
                    f"{_sub_rules(m['why'], _PLAN_WHY)}. Tekort {eur(m['short'])} "
                    f"({pct(m['p'])}). Plan: {_plan_text(m['plan'])}. Voeg kandidaten of "
                    f"capaciteit toe, of laat de coördinator weten dat de verplichting een "
                    f"andere route nodig heeft."),
)

# api/services/planning.py appends this note to a plan's explanation.
_COMMITTED_NOTE = re.compile(rf"(?P<body>.+) Already committed: (?P<done>{EUR}) of "
                             rf"(?P<total>{EUR})\.", re.DOTALL)

_unknown_logged: set[str] = set()


def _dutch(text: str) -> tuple[str | None, str | None]:
    """(rule name, Dutch text) for one engine sentence; (None, None) when unknown."""
    note = ""
    m = _COMMITTED_NOTE.fullmatch(text)
    if m:
        text = m["body"]
        try:
            note = f" Al toegezegd: {eur(m['done'])} van {eur(m['total'])}."
        except NoMatch:
            return None, None
    for rule in RULES:
        found = rule.pattern.fullmatch(text)
        if found is None:
            continue
        try:
            return rule.name, rule.dutch(found) + note
        except NoMatch:
            continue  # a later rule may still fit
    return None, None


def rule_of(reason: str) -> str | None:
    """The table row that renders ``reason`` in Dutch (None when no row does)."""
    return _dutch(reason)[0]


def to_dutch(reason: str) -> str:
    """``reason`` in Dutch; an unknown sentence comes back unchanged (and is logged once)."""
    name, out = _dutch(reason)
    if out is None:
        if reason not in _unknown_logged and len(_unknown_logged) < 1000:
            _unknown_logged.add(reason)
            log.warning("no Dutch rendering for engine reason %r (api/reason_text.py)", reason)
        return reason
    return out


def localise(reason: str | None, lang: str) -> str:
    """An engine reason or plan explanation for a page in ``lang`` (English: unchanged)."""
    if not reason:
        return ""
    return to_dutch(reason) if lang == "nl" else reason


def localise_all(reasons: Iterable[str] | None, lang: str) -> list[str]:
    return [localise(r, lang) for r in reasons or ()]


def reasons_nl(reasons: Iterable[str] | None) -> list[str]:
    """The Dutch form the JSON API returns next to ``reasons`` (as ``reasons_nl``)."""
    return localise_all(reasons, "nl")


def localise_why_not(result: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """``matcher.rank.why_not``'s dict for ``lang``: exclusions use their own ``reason_nl``,
    the reasons of a feasible enterprise go through the table."""
    out = dict(result)
    if lang != "nl":
        return out
    exclusions = list(out.get("exclusions") or ())
    if exclusions:
        out["reason"] = "; ".join(str(x.get("reason_nl") or x.get("reason") or "")
                                  for x in exclusions)
    if out.get("reasons") is not None:
        out["reasons"] = localise_all(out["reasons"], lang)
    return out


def with_reasons_nl(data: Any) -> Any:
    """A copy of a JSON-like value where every dict holding a ``reasons`` list also holds
    ``reasons_nl`` (its Dutch form), at any depth (results, coalitions, their members)."""
    if isinstance(data, Mapping):
        out = {k: with_reasons_nl(v) for k, v in data.items()}
        if isinstance(out.get("reasons"), list):
            out["reasons_nl"] = reasons_nl(out["reasons"])
        return out
    if isinstance(data, list | tuple):
        return [with_reasons_nl(v) for v in data]
    return data
