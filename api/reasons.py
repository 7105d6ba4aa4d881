"""The engine's reasons in the user's language: one rendering table per language.

The engine (``matcher/``) returns reasons as data, a code with parameters
(``matcher.reasons.Reason``; the codes and their parameters are listed in
``matcher.reasons.CODES``). This module is the one place that turns them into text:
``TABLES[lang][code](fmt, params)``, with numbers, euros, percentages and dates in that
language's notation (``api/i18n.py``), CPV codes by their label in that language
(``matcher.refdata.cpv_label``), target groups, vetting states and certification
schemes by their labels (``api/labels.py``, translated by ``t()``).

Pages render through the ``reason`` template filter, the JSON API returns
``{"code", "params", "text"}`` (:func:`out`, :func:`with_texts`), the CLI prints
:func:`render`. ``tests/test_reasons.py`` fails when a code has no row in a table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from api import i18n
from api.capacity_view import free_text
from api.labels import certification_nl, target_group_nl, vetting_nl
from matcher.reasons import CODES, Reason
from matcher.refdata import cpv_label

log = logging.getLogger(__name__)

# The keys under which JSON-like results hold lists of reasons (``with_texts``).
REASON_KEYS = ("reasons", "exclusions", "explanation", "excluded_by")


@dataclass(frozen=True)
class Fmt:
    """Formatting in one language, for the table rows."""

    lang: str

    def num(self, x: Any, decimals: int | None = None) -> str:
        return i18n.format_number(x, decimals, self.lang)

    def eur(self, x: Any, decimals: int | None = None) -> str:
        """Euros; ``decimals=None``: whole euros without cents, others with cents."""
        return i18n.format_eur(x, decimals=decimals, lang=self.lang)

    def pct(self, share: Any) -> str:
        """A share in [0, 1] as a whole percentage."""
        return i18n.format_pct(share, 0, fraction=True, lang=self.lang)

    def km(self, x: Any, decimals: int | None = None) -> str:
        return f"{self.num(x, decimals)} km"

    def date(self, iso: Any) -> str:
        return i18n.format_date(iso, "long", self.lang)

    def cpv(self, code: Any) -> str:
        return cpv_label(str(code), self.lang)

    def t(self, dutch: str) -> str:
        return i18n.translate(dutch, self.lang)

    def group(self, code: Any) -> str:
        return self.t(target_group_nl(str(code)))

    def quoted(self, words: Iterable[Any]) -> str:
        return ", ".join(f"'{w}'" for w in words)


Row = Callable[[Fmt, Mapping[str, Any]], str]


def _plural(n: Any, one: str, many: str) -> str:
    return one if int(n) == 1 else many


# --- pieces shared by several rows ---------------------------------------------------------

_LACKS = {"code": ("geen specifieke CPV-code van de vraag", "no specific CPV code of the request"),
          "words": ("weinig woorden van de omschrijving gedeeld",
                    "few words of the description shared")}


def _lacks(f: Fmt, p: Mapping[str, Any], dutch: bool) -> str:
    """What a candidate below the floor misses (``below_floor``'s ``lacks``)."""
    parts = [_LACKS[k][0 if dutch else 1] for k in p.get("lacks") or [] if k in _LACKS]
    if not parts:
        return ""
    return (" (ontbreekt: " if dutch else " (lacks: ") + "; ".join(parts) + ")"


def _free(f: Fmt, p: Mapping[str, Any]) -> str:
    # The one wording of free capacity (api/capacity_view.py), as on every page.
    return free_text(float(p["free_purchase_eur"]), int(p["free_placements"]), f.lang)


def _free_term(f: Fmt, p: Mapping[str, Any]) -> str:
    return free_text(float(p["free_purchase_eur"]), int(p["free_placements"]), f.lang,
                     years=float(p["years"]))


def _certificate(f: Fmt, p: Mapping[str, Any], nl: bool) -> str:
    out = f.t(certification_nl(str(p["scheme"])))
    level = p.get("level")
    if level:
        if str(level).isdigit():
            word = ("trede " if str(p["scheme"]).startswith("PSO") else "niveau ") if nl \
                else "level "
        else:
            word = ""
        out += f" {word}{level}"
    if p.get("valid_until"):
        out += f" ({'geldig tot' if nl else 'valid until'} {f.date(p['valid_until'])})"
    return out


def _coalition_themes(f: Fmt, p: Mapping[str, Any], nl: bool) -> str:
    covered = [f"'{t}' ({who})" for t, who in zip(p["themes"], p["themes_by"], strict=True)]
    partly = [f"'{t}' {f.pct(s)} ({who})"
              for t, s, who in zip(p["partly"], p["partly_shares"], p["partly_by"], strict=True)]
    if nl:
        out = f"dekken samen {p['covered']} van de {p['n_themes']} thema's"
    else:
        out = f"together cover {p['covered']} of {p['n_themes']} themes"
    if covered:
        out += ": " + ", ".join(covered)
    if partly:
        out += ("; deels " if nl else "; partly ") + ", ".join(partly)
    if p.get("best_single") is not None:
        out += (f" (beste afzonderlijke lid: {f.pct(p['best_single'])})" if nl
                else f" (best single member: {f.pct(p['best_single'])})")
    return out


def _divisions(p: Mapping[str, Any]) -> str:
    return " / ".join(", ".join(str(d).split(",")) if d else "-" for d in p["divisions"])


def _plan_parts(f: Fmt, p: Mapping[str, Any], nl: bool) -> str:
    parts = []
    if p["bought_n"]:
        n = p["bought_n"]
        parts.append(
            f"inkoop van {f.eur(p['bought_eur'])} bij {n} "
            f"{_plural(n, 'onderneming', 'ondernemingen')} (waarde {f.eur(p['bought_credit_eur'])})"
            if nl else
            f"buy {f.eur(p['bought_eur'])} from {n} {_plural(n, 'enterprise', 'enterprises')} "
            f"(credit {f.eur(p['bought_credit_eur'])})")
    if p["placed_n"]:
        n, k = p["placements"], p["placed_n"]
        parts.append(
            f"{n} {_plural(n, 'plaatsing', 'plaatsingen')} bij {k} "
            f"{_plural(k, 'onderneming', 'ondernemingen')} (waarde {f.eur(p['placed_credit_eur'])})"
            if nl else
            f"{n} {_plural(n, 'placement', 'placements')} at {k} "
            f"{_plural(k, 'enterprise', 'enterprises')} (credit {f.eur(p['placed_credit_eur'])})")
    if not parts:
        return "niets in te plannen" if nl else "nothing can be planned"
    return "; ".join(parts)


def _plan_met(f: Fmt, p: Mapping[str, Any], nl: bool) -> str:
    n = p["partners"]
    if nl:
        over = (f" ({f.eur(p['over_eur'])} meer, plaatsingen tellen als hele plaatsen)"
                if p["over_eur"] else "")
        return (f"Verschuldigd {f.eur(p['due_eur'])}: gehaald{over}. Plan: "
                f"{_plan_parts(f, p, nl)}; {n} {_plural(n, 'partner', 'partners')}, naar waarde "
                f"gewogen aansluiting {f.num(p['fit'], 2)}.")
    over = f" ({f.eur(p['over_eur'])} over, placements are whole)" if p["over_eur"] else ""
    return (f"Due {f.eur(p['due_eur'])}: met{over}. Plan: {_plan_parts(f, p, nl)}; {n} "
            f"{_plural(n, 'partner', 'partners')}, credit-weighted fit {f.num(p['fit'], 2)}.")


def _plan_unmet(f: Fmt, p: Mapping[str, Any], nl: bool) -> str:
    if nl:
        why = (f"de resterende capaciteit van de kandidaten levert hoogstens "
               f"{f.eur(p['reach_eur'])} waarde op" if p["limit"] == "capacity" else
               "het maximum aantal partners laat te weinig capaciteit over")
        return (f"Verschuldigd {f.eur(p['due_eur'])}: niet haalbaar — {why}. Tekort "
                f"{f.eur(p['short_eur'])} ({f.pct(p['short_share'])}). Plan: "
                f"{_plan_parts(f, p, nl)}. Voeg kandidaten of capaciteit toe, of laat de "
                f"coördinator weten dat de verplichting een andere route nodig heeft.")
    why = (f"the candidates' remaining capacity yields at most {f.eur(p['reach_eur'])} credit"
           if p["limit"] == "capacity" else "the partner limit leaves too little capacity")
    return (f"Due {f.eur(p['due_eur'])}: cannot be met — {why}. Short by "
            f"{f.eur(p['short_eur'])} ({f.pct(p['short_share'])}). Plan: "
            f"{_plan_parts(f, p, nl)}. Add candidates or capacity, or tell the coordinator the "
            f"obligation needs another route.")


def _themes(f: Fmt, p: Mapping[str, Any], nl: bool) -> str:
    many = len(p["themes"]) > 1
    if nl:
        return ("dekt de Challenge-thema's " if many else "dekt het Challenge-thema ") \
            + f.quoted(p["themes"])
    return ("covers the Challenge's themes " if many else "covers the Challenge's theme ") \
        + f.quoted(p["themes"])


# --- the tables ----------------------------------------------------------------------------

NL: Mapping[str, Row] = {
    "cpv_exact": lambda f, p: f"CPV {p['code']} ({f.cpv(p['code'])}) exact aangeboden",
    "cpv_within": lambda f, p: (f"CPV {p['offered']} ({f.cpv(p['offered'])}) valt binnen de "
                                f"gevraagde {p['requested']} ({f.cpv(p['requested'])})"),
    "cpv_covers": lambda f, p: (f"CPV {p['offered']} ({f.cpv(p['offered'])}) omvat de "
                                f"gevraagde {p['requested']} ({f.cpv(p['requested'])})"),
    "cpv_related": lambda f, p: (f"CPV {p['offered']} deelt klasse {p['shared']} "
                                 f"({f.cpv(p['shared'])}) met de gevraagde {p['requested']} "
                                 f"(gelijkenis {f.num(p['similarity'], 2)})"),
    "shared_terms": lambda f, p: f"omschrijving deelt de termen {f.quoted(p['words'])}",
    "below_floor": lambda f, p: (f"mogelijk passend: relevantie voor het werk "
                                 f"{f.num(p['relevance'], 2)}, onder de drempel "
                                 f"{f.num(p['floor'], 2)}" + _lacks(f, p, True)),
    "place_not_judged": lambda f, p: ("geen plaats van uitvoering in Nederland bekend: "
                                      "afstand en regio niet beoordeeld"),
    "distance": lambda f, p: (f"{f.km(p['km'], 1)} van de werklocatie, binnen de eigen "
                              f"werkstraal van {f.km(p['radius_km'])}"),
    "target_group": lambda f, p: f"werkt met doelgroep {f.group(p['group'])}",
    "target_group_counts_as": lambda f, p: (f"werkt met {f.group(p['served'])}, dat meetelt "
                                            f"als {f.group(p['asked'])}"),
    "target_group_may_include": lambda f, p: (f"werkt met {f.group(p['served'])}, waaronder "
                                              f"mogelijk {f.group(p['asked'])}"),
    "certified": lambda f, p: "erkend: " + _certificate(f, p, True),
    "staff_share": lambda f, p: f"erkend: {f.pct(p['share'])} van de medewerkers uit doelgroepen",
    "capacity_share": lambda f, p: (f"{_free(f, p)}: draagt {f.pct(p['share'])} van de "
                                    f"verschuldigde {f.eur(p['due_eur'], 0)}"),
    "capacity": _free,
    "credit_share": lambda f, p: (f"{_free_term(f, p)}: levert {f.eur(p['credit_eur'], 0)} "
                                  f"waarde op, {f.pct(p['share'])} van de verschuldigde "
                                  f"{f.eur(p['due_eur'], 0)}"),
    "themes_covered": lambda f, p: _themes(f, p, True),
    "different_approach": lambda f, p: (f"een andere aanpak: {f.pct(p['similarity'])} gelijk aan "
                                        f"het meest gelijkende resultaat erboven "
                                        f"({p['closest']})"),
    "coalition_themes": lambda f, p: _coalition_themes(f, p, True),
    "coalition_alike": lambda f, p: (f"verschillende aanpakken: de leden lijken gemiddeld voor "
                                     f"{f.pct(p['similarity'])} op elkaar"),
    "coalition_cpv": lambda f, p: f"verschillend soort werk: CPV-afdelingen {_divisions(p)}",
    "coalition_fit": lambda f, p: f"gemiddelde aansluiting op de vraag {f.num(p['fit'], 2)}",
    "coalition_budget": lambda f, p: (f"samen nog {f.eur(p['free_eur'], 0)} capaciteit per jaar "
                                      f"vrij tegenover een budget van "
                                      f"{f.eur(p['budget_eur'], 0)} ({f.pct(p['share'])} "
                                      f"gedekt)"),
    "coalition_capacity": lambda f, p: (f"samen nog {f.eur(p['free_eur'], 0)} capaciteit per "
                                        f"jaar vrij"),
    "plan_nothing_due": lambda f, p: "Er is niets verschuldigd: geen plan nodig.",
    "plan_no_candidates": lambda f, p: (f"Niet haalbaar: geen kandidaten. Tekort "
                                        f"{f.eur(p['due_eur'])} van {f.eur(p['due_eur'])}."),
    "plan_no_options": lambda f, p: (f"Niet haalbaar: geen kandidaat heeft inkoopcapaciteit voor "
                                     f"wat het bedrijf inkoopt of een vrije plaatsing voor een "
                                     f"bouwblok van de waarderingstabel. Tekort "
                                     f"{f.eur(p['due_eur'])} van {f.eur(p['due_eur'])}."),
    "plan_met": lambda f, p: _plan_met(f, p, True),
    "plan_unmet": lambda f, p: _plan_unmet(f, p, True),
    "plan_committed": lambda f, p: (f"Al toegezegd: {f.eur(p['done_eur'], 0)} van "
                                    f"{f.eur(p['total_eur'], 0)}."),
    "not_vetted": lambda f, p: (f"screeningsstatus is {f.t(vetting_nl(str(p['status'])))}, "
                                f"niet {f.t(vetting_nl('vetted'))}"),
    "vetting_expired": lambda f, p: f"screening verlopen op {f.date(p['on'])}",
    "outside_service_radius": lambda f, p: (f"werklocatie ligt op {f.km(p['km'], 1)}, buiten de "
                                            f"werkstraal van {f.km(p['radius_km'])}"),
    "outside_clause_region": lambda f, p: (f"onderneming ligt op {f.km(p['km'], 1)}; de clausule "
                                           f"vraagt binnen {f.km(p['region_km'])}"),
    "no_capacity_left": lambda f, p: (
        f"geen capaciteit over: toegezegd {f.eur(p['committed_purchase_eur'], 0)} inkoop van "
        f"{f.eur(p['purchase_eur'], 0)} en {f.num(p['committed_placements'])} van "
        f"{f.num(p['placements'])} {_plural(p['placements'], 'plaatsing', 'plaatsingen')} "
        f"per jaar"),
    "reserved_share_too_low": lambda f, p: (
        f"voorbehouden opdracht (artikel 20) vraagt ten minste {f.pct(p['min_share'])} "
        f"medewerkers uit de doelgroep; "
        + ("aandeel onbekend" if p["share"] is None
           else f"onderneming heeft {f.pct(p['share'])}")),
}

EN: Mapping[str, Row] = {
    "cpv_exact": lambda f, p: f"CPV {p['code']} ({f.cpv(p['code'])}) offered exactly",
    "cpv_within": lambda f, p: (f"CPV {p['offered']} ({f.cpv(p['offered'])}) lies within "
                                f"requested {p['requested']} ({f.cpv(p['requested'])})"),
    "cpv_covers": lambda f, p: (f"CPV {p['offered']} ({f.cpv(p['offered'])}) covers requested "
                                f"{p['requested']} ({f.cpv(p['requested'])})"),
    "cpv_related": lambda f, p: (f"CPV {p['offered']} shares class {p['shared']} "
                                 f"({f.cpv(p['shared'])}) with requested {p['requested']} "
                                 f"(similarity {f.num(p['similarity'], 2)})"),
    "shared_terms": lambda f, p: f"description shares terms {f.quoted(p['words'])}",
    "below_floor": lambda f, p: (f"possibly suitable: relevance to the work "
                                 f"{f.num(p['relevance'], 2)}, below the threshold "
                                 f"{f.num(p['floor'], 2)}" + _lacks(f, p, False)),
    "place_not_judged": lambda f, p: ("no place of performance in the Netherlands known: "
                                      "distance and region not judged"),
    "distance": lambda f, p: (f"{f.km(p['km'], 1)} from the place of work, within its "
                              f"{f.km(p['radius_km'])} service radius"),
    "target_group": lambda f, p: f"works with target group {f.group(p['group'])}",
    "target_group_counts_as": lambda f, p: (f"works with {f.group(p['served'])}, which counts "
                                            f"as {f.group(p['asked'])}"),
    "target_group_may_include": lambda f, p: (f"works with {f.group(p['served'])}, which may "
                                              f"include {f.group(p['asked'])}"),
    "certified": lambda f, p: "recognised: " + _certificate(f, p, False),
    "staff_share": lambda f, p: f"recognised: {f.pct(p['share'])} of staff from target groups",
    "capacity_share": lambda f, p: (f"{_free(f, p)}: carries {f.pct(p['share'])} of the "
                                    f"{f.eur(p['due_eur'], 0)} due"),
    "capacity": _free,
    "credit_share": lambda f, p: (f"{_free_term(f, p)}: earns {f.eur(p['credit_eur'], 0)} "
                                  f"credit, {f.pct(p['share'])} of the "
                                  f"{f.eur(p['due_eur'], 0)} due"),
    "themes_covered": lambda f, p: _themes(f, p, False),
    "different_approach": lambda f, p: (f"a different approach: similarity "
                                        f"{f.pct(p['similarity'])} to the closest result above "
                                        f"it ({p['closest']})"),
    "coalition_themes": lambda f, p: _coalition_themes(f, p, False),
    "coalition_alike": lambda f, p: (f"different approaches: members are on average "
                                     f"{f.pct(p['similarity'])} alike"),
    "coalition_cpv": lambda f, p: f"different kinds of work: CPV divisions {_divisions(p)}",
    "coalition_fit": lambda f, p: f"mean fit to the question {f.num(p['fit'], 2)}",
    "coalition_budget": lambda f, p: (f"{f.eur(p['free_eur'], 0)} capacity left together per "
                                      f"year against a budget of {f.eur(p['budget_eur'], 0)} "
                                      f"({f.pct(p['share'])} covered)"),
    "coalition_capacity": lambda f, p: (f"{f.eur(p['free_eur'], 0)} capacity left together per "
                                        f"year"),
    "plan_nothing_due": lambda f, p: "Nothing is due: no plan needed.",
    "plan_no_candidates": lambda f, p: (f"Cannot be met: no candidates. Short by "
                                        f"{f.eur(p['due_eur'])} of {f.eur(p['due_eur'])}."),
    "plan_no_options": lambda f, p: (f"Cannot be met: no candidate has purchasing capacity for "
                                     f"what the firm buys or a free placement for a building "
                                     f"block of the policy. Short by {f.eur(p['due_eur'])} of "
                                     f"{f.eur(p['due_eur'])}."),
    "plan_met": lambda f, p: _plan_met(f, p, False),
    "plan_unmet": lambda f, p: _plan_unmet(f, p, False),
    "plan_committed": lambda f, p: (f"Already committed: {f.eur(p['done_eur'], 0)} of "
                                    f"{f.eur(p['total_eur'], 0)}."),
    "not_vetted": lambda f, p: (f"vetting status is {f.t(vetting_nl(str(p['status'])))}, not "
                                f"{f.t(vetting_nl('vetted'))}"),
    "vetting_expired": lambda f, p: f"vetting expired on {f.date(p['on'])}",
    "outside_service_radius": lambda f, p: (f"place of work is {f.km(p['km'], 1)} away, beyond "
                                            f"the service radius of {f.km(p['radius_km'])}"),
    "outside_clause_region": lambda f, p: (f"enterprise is {f.km(p['km'], 1)} away; the clause "
                                           f"asks for within {f.km(p['region_km'])}"),
    "no_capacity_left": lambda f, p: (
        f"no capacity left: committed {f.eur(p['committed_purchase_eur'], 0)} of "
        f"{f.eur(p['purchase_eur'], 0)} purchasing and {f.num(p['committed_placements'])} of "
        f"{f.num(p['placements'])} {_plural(p['placements'], 'placement', 'placements')} "
        f"per year"),
    "reserved_share_too_low": lambda f, p: (
        f"reserved contract (article 20) needs at least {f.pct(p['min_share'])} target-group "
        f"staff; " + ("share unknown" if p["share"] is None
                      else f"enterprise has {f.pct(p['share'])}")),
}

TABLES: Mapping[str, Mapping[str, Row]] = {"nl": NL, "en": EN}

_unknown_logged: set[str] = set()


def _parts(r: Reason | Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    if isinstance(r, Reason):
        return r.code, r.params
    return str(r.get("code")), r.get("params") or {}


def render(r: Reason | Mapping[str, Any], lang: str = "nl") -> str:
    """One reason (a ``Reason`` or its ``{"code", "params"}`` dict) as text in ``lang``.
    A code no table knows (data from elsewhere) comes back as the code, logged once."""
    code, params = _parts(r)
    row = TABLES.get(lang, NL).get(code)
    if row is None or set(params) != set(CODES.get(code, ())):
        if code not in _unknown_logged and len(_unknown_logged) < 1000:
            _unknown_logged.add(code)
            log.warning("no rendering for reason %r with params %s (api/reasons.py)",
                        code, sorted(params))
        return code
    return row(Fmt(lang), params)


def texts(reasons: Iterable[Reason | Mapping[str, Any]] | None, lang: str = "nl") -> list[str]:
    return [render(r, lang) for r in reasons or ()]


def sentence(reasons: Iterable[Reason | Mapping[str, Any]] | None, lang: str = "nl") -> str:
    """Reasons read as one paragraph (a plan's explanation and its notes)."""
    return " ".join(texts(reasons, lang))


def out(r: Reason | Mapping[str, Any], lang: str = "nl") -> dict[str, Any]:
    """``{"code", "params", "text"}``: a reason as the JSON API returns it."""
    code, params = _parts(r)
    return {"code": code, "params": dict(params), "text": render(r, lang)}


def outs(reasons: Iterable[Reason | Mapping[str, Any]] | None, lang: str = "nl"
         ) -> list[dict[str, Any]]:
    return [out(r, lang) for r in reasons or ()]


def with_texts(data: Any, lang: str = "nl") -> Any:
    """A copy of a JSON-like value where every list of reasons under ``REASON_KEYS``, at any
    depth (results, coalitions, their members), holds ``{"code", "params", "text"}``."""
    if isinstance(data, Mapping):
        return {k: outs(v, lang) if k in REASON_KEYS and isinstance(v, list | tuple)
                else with_texts(v, lang) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [with_texts(v, lang) for v in data]
    if isinstance(data, Reason):
        return out(data, lang)
    return data
