"""`sroi match` and `sroi why-not`: ranked enterprises for a tender, obligation or Challenge.

    sroi match tender REF [--top K] [--json]
    sroi match obligation REF [--top K] [--json]
    sroi match challenge REF [--top K] [--json]      (diversified, plus coalitions)
    sroi why-not tender|obligation|challenge REF ENTERPRISE [--json]

`--json` prints one JSON object: ``{"results": [{"ref", "name", "score", "contributions",
"reasons", ...}], "maybe": [...], "n_suitable", ...}`` (``results``: the suitable
enterprises only; ``maybe``: the nearest below the suitable floor, "mogelijk passend",
each with its ``below_floor`` reason; a Challenge adds ``"coalitions"``), or for why-not
``{"excluded": bool, "exclusions": [...], "rank": ..., "reasons": [...], ...}``; every
reason is ``{"code", "params", "text"}``. Texts are English unless ``--lang nl``.
All read ``DATABASE_URL``; nothing is written.

Exit status: 0 done (also when the enterprise is excluded: that is the answer), 2 usage
error (unknown ref, bad --top, database unreachable or not initialised).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from api import reasons
from api.commands.errors import CliError
from api.commands.lang import cli_lang, say, tr
from api.errors import DomainError
from api.i18n import Eur
from api.messages import Number, msg, msgn

DEFAULT_TOP = {"tender": 20, "obligation": 20, "challenge": 10}
KINDS = ("tender", "obligation", "challenge")
MAX_TOP = 500
REASONS_SHOWN = 4


def register(subparsers: Any) -> None:
    m = subparsers.add_parser(
        "match", help="rank enterprises for a tender, obligation or Challenge",
        description="Rank the vetted enterprises that fit a tender's social-return clause, a "
                    "firm's obligation or a municipal Challenge (diversified, with coalitions), "
                    "with per-feature contributions and reasons.",
    )
    msub = m.add_subparsers(dest="kind", metavar="KIND", required=True)
    for kind in KINDS:
        p = msub.add_parser(kind, help=f"match one {kind}")
        p.add_argument("ref", metavar="REF", help=f"the {kind}'s ref")
        p.add_argument("--top", default=str(DEFAULT_TOP[kind]), metavar="K",
                       help=f"number of results (1-{MAX_TOP}; default {DEFAULT_TOP[kind]})")
        p.add_argument("--json", action="store_true", help="print one JSON object")
        _lang_argument(p)
        p.set_defaults(handler=run_match, label=f"match {kind}")

    w = subparsers.add_parser(
        "why-not", help="explain why an enterprise is (not) proposed",
        description="Say why an enterprise is not in the list for a tender, obligation or "
                    "Challenge (the hard constraints it fails), or where it ranks and why.",
    )
    wsub = w.add_subparsers(dest="kind", metavar="KIND", required=True)
    for kind in KINDS:
        p = wsub.add_parser(kind, help=f"explain one enterprise against one {kind}")
        p.add_argument("ref", metavar="REF", help=f"the {kind}'s ref")
        p.add_argument("enterprise", metavar="ENTERPRISE", help="the enterprise's ref")
        p.add_argument("--json", action="store_true", help="print one JSON object")
        _lang_argument(p)
        p.set_defaults(handler=run_why_not, label=f"why-not {kind}")


def _lang_argument(p: Any) -> None:
    p.add_argument("--lang", choices=("en", "nl"), default=argparse.SUPPRESS,
                   help="language of the reasons (default: sroi --lang)")


def _session_call(fn: Callable[[Any], Any]) -> Any:
    """Run ``fn(session)``; user-fixable failures become :class:`CliError` in English."""
    from sqlalchemy.exc import SQLAlchemyError
    from sqlmodel import Session

    from api.db import get_engine

    try:
        with Session(get_engine()) as session:
            return fn(session)
    except DomainError as exc:
        raise CliError(exc.render(cli_lang())) from None
    except SQLAlchemyError as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        error = f"{exc.__class__.__name__}: {first}"
        if "no such table" in first or "does not exist" in first:
            raise CliError(msg("databasefout: {error} (is de database ingericht? voer "
                               "`sroi init-db` uit)", error=error)) from None
        raise CliError(msg("databasefout: {error}", error=error)) from None


def _top(value: str) -> int:
    try:
        k = int(value)
    except ValueError:
        raise CliError(msg("--top moet een geheel getal van 1 tot {max} zijn, gekregen: "
                           "{value}", max=str(MAX_TOP), value=repr(value))) from None
    if not 1 <= k <= MAX_TOP:
        raise CliError(msg("--top moet van 1 tot {max} zijn, gekregen: {value}",
                           max=str(MAX_TOP), value=str(k)))
    return k


def _json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False))


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _top_features(contributions: dict[str, float], n: int = 3) -> str:
    best = sorted(contributions.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return " ".join(f"{k} {v:.2f}" for k, v in best if v > 0)


def _print_table(results: list[Any], lang: str, indent: str = "") -> None:
    """Aligned rows (rank, ref, name, score, km, free purchasing € and placements per
    year, strongest features), each followed by its reasons."""
    if not results:
        return
    ref_w = max(3, *(len(m.ref) for m in results))
    name_w = min(32, max(4, *(len(m.name) for m in results)))
    head = [tr(msg(h)) for h in ("ref", "naam", "score", "km", "vrij €/jr", "pl/jr",
                                 "sterkste kenmerken")]
    print(f"{indent}{'#':>3}  {head[0]:<{ref_w}}  {head[1]:<{name_w}}  {head[2]:>5}  "
          f"{head[3]:>6}  {head[4]:>10}  {head[5]:>5}  {head[6]}")
    for m in results:
        km = "" if m.distance_km is None else f"{m.distance_km:.1f}"
        print(f"{indent}{m.rank:>3}  {m.ref:<{ref_w}}  {_clip(m.name, name_w):<{name_w}}  "
              f"{m.score:>5.3f}  {km:>6}  {m.capacity.free_purchase_eur:>10,.0f}  "
              f"{m.capacity.free_placements:>5,.0f}  "
              f"{_top_features(m.contributions)}")
        if m.decision is not None:
            print(f"{indent}{'':>3}  * {_decision_text(m.decision.as_dict())}")
        for r in m.excluded_by:
            say(msg("{indent}     ! uitgesloten: {reason}", indent=indent,
                    reason=reasons.render(r, lang)))
        for r in m.reasons[:REASONS_SHOWN]:
            print(f"{indent}{'':>3}  - {reasons.render(r, lang)}")


def _decision_text(d: dict[str, Any]) -> str:
    """'pinned by X: reason' — a connector's decision (store data, not an engine reason)."""
    verbs = {"pin": msg("vastgezet door {who}", who=d["decided_by"]),
             "accept": msg("geaccepteerd door {who}", who=d["decided_by"]),
             "reject": msg("afgewezen door {who}", who=d["decided_by"])}
    text = tr(verbs.get(d["decision"], d["decision"]))
    text += f": {d['reason']}" if d.get("reason") else ""
    return text + (tr(msg(" (een harde eis opzij gezet)")) if d.get("override") else "")


def run_match(args: argparse.Namespace) -> int:
    from api.services import matching

    k = _top(args.top)
    if args.kind == "challenge":
        cm = _session_call(lambda s: matching.match_challenge(s, args.ref, top_k=k))
        ml = cm.results
    elif args.kind == "tender":
        ml = _session_call(lambda s: matching.match_tender(s, args.ref, top_k=k))
    else:
        ml = _session_call(lambda s: matching.match_obligation(s, args.ref, top_k=k))
    if args.json:
        _json(reasons.with_texts(cm.as_dict() if args.kind == "challenge" else ml.as_dict(),
                                 args.lang))
        return 0
    labels = {"challenge": msg("Challenge"), "tender": msg("Aanbesteding"),
              "obligation": msg("Verplichting")}
    candidates = msgn("{n} kandidaat", "{n} kandidaten", ml.n_candidates)
    counted = candidates if ml.n_suitable is None else msg(
        "{n} geschikt van {candidates}", n=ml.n_suitable, candidates=candidates)
    say(msg("{label} {ref}: {counted}, {excluded} uitgesloten door harde eisen; gewichten "
            "{weights}", label=labels.get(args.kind, args.kind), ref=ml.ref, counted=counted,
            excluded=ml.n_excluded, weights=str(ml.weights))
        if args.kind != "challenge" else
        msg("{label} {ref}: {counted}, {excluded} uitgesloten door harde eisen; gewichten "
            "{weights}; gespreid (verschillende aanpakken eerst)", label=labels["challenge"],
            ref=ml.ref, counted=counted, excluded=ml.n_excluded, weights=str(ml.weights)))
    if not ml.place_judged:
        say(msg("Geen plaats van uitvoering in Nederland: afstand en regio niet beoordeeld."))
    if not ml.results and not ml.maybe:
        say(msg("Geen onderneming voldoet aan de harde eisen; vraag met `sroi why-not {kind} "
                "{ref} ONDERNEMING` waarom een bepaalde ontbreekt.", kind=args.kind,
                ref=ml.ref))
        return 0
    if not ml.results:
        say(msg("Geen geschikte onderneming: geen enkele doet dit werk goed genoeg. De "
                "dichtstbijzijnde kandidaten en wat ze missen:"))
    _print_table(ml.results, args.lang)
    if ml.maybe:
        if ml.results:
            say(msg("\nMogelijk geschikt (onder de geschiktheidsgrens, niet in de "
                    "resultaten):"))
        _print_table(ml.maybe, args.lang, "  ")
    if ml.rejected:
        say(msg("\nAfgewezen door een verbinder (niet in de lijst):"))
        for rj in ml.rejected:
            print(f"  {rj.ref} {rj.name}: {_decision_text(rj.decision.as_dict())}")
    for lm in ml.lots:
        lot = lm.lot
        codes = ", ".join(lot.cpv) or tr(msg("de codes van de aanbesteding"))
        value = "" if lot.value_eur is None else ", " + Eur(lot.value_eur).localize(cli_lang())
        title = f": {lot.title}" if lot.title else ""
        say(msg("\nPerceel {lot}{title} ({codes}{value}): {n} geschikt", lot=lot.id,
                title=title, codes=codes, value=value, n=lm.matches.n_suitable or 0))
        if lm.matches.results:
            _print_table(lm.matches.results[:5], args.lang, "  ")
        else:
            say(msg("  Geen geschikte onderneming voor dit perceel."))
    if args.kind == "challenge":
        if not cm.coalitions:
            say(msg("\nGeen coalities (max_partners {n}, of geen aanvullende kandidaten).",
                    n=cm.max_partners))
        else:
            say(msg("\nCoalities (tot {n} partners):", n=cm.max_partners))
            for i, c in enumerate(cm.coalitions, 1):
                names = " + ".join(f"{m.name} ({m.ref})" for m in c.members)
                say(msg("{i}. {names}: score {score}, samen nog {capacity} capaciteit",
                        i=f"{i:>3}", names=names, score=Number(c.score, 3),
                        capacity=Eur(c.capacity_eur)))
                for m in c.members:
                    if c.brings.get(m.ref):
                        say(msg("       {name} brengt: {brings}", name=m.name,
                                brings=", ".join(c.brings[m.ref])))
                for r in c.reasons:
                    print(f"       - {reasons.render(r, args.lang)}")
    return 0


def run_why_not(args: argparse.Namespace) -> int:
    from api.services import matching

    d = _session_call(lambda s: matching.why_not(s, args.kind, args.ref, args.enterprise))
    if args.json:
        _json(reasons.with_texts(d, args.lang))
        return 0
    who = f"{d['name']} ({d['ref']})"
    if d.get("decision"):
        say(msg("Besluit van de verbinder: {decision}", decision=_decision_text(d["decision"])))
    if d["excluded"]:
        say(msg("{who} wordt niet voorgesteld voor {kind} {ref}: {fails} ({others}):",
                who=who, kind=args.kind, ref=args.ref,
                fails=msgn("voldoet niet aan {n} harde eis", "voldoet niet aan {n} harde eisen",
                           len(d["exclusions"])),
                others=msgn("{n} andere onderneming voldoet er wel aan",
                            "{n} andere ondernemingen voldoen er wel aan", d["n_candidates"])))
        for x in d["exclusions"]:
            print(f"  - [{x['code']}] {reasons.render(x, args.lang)}")
        return 0
    say(msg("{who} is kandidaat #{rank} van {n} voor {kind} {ref}, score {score}", who=who,
            rank=str(d["rank"]), n=d["n_candidates"], kind=args.kind, ref=args.ref,
            score=Number(d["score"], 3)))
    contributions = d.get("contributions") or {}
    if contributions:
        say(msg("  bijdragen: {parts}", parts=", ".join(
            f"{k} {v:.3f}" for k, v in sorted(contributions.items(), key=lambda kv: -kv[1]))))
    for r in d.get("reasons") or ():
        print(f"  - {reasons.render(r, args.lang)}")
    return 0
