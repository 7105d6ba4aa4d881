"""Tenders in lots: each lot matched on its own codes, value and place (matcher/lots.py)."""

from __future__ import annotations

from ranking_fixtures import AMSTERDAM, REF_DATE, UTRECHT, ent, filler, tender

from matcher.index import EnterpriseIndex
from matcher.lots import has_lots, lot_tender, lot_tenders
from matcher.model import Lot, SroiClause
from matcher.query import from_tender
from matcher.rank import rank_query

CLEANER = ent("CLEAN", description="Schoonmaak van kantoren en gebouwen, glasbewassing",
              cpv=("90911200",))
GARDENER = ent("GREEN", description="Groenonderhoud van parken en plantsoenen, maaien",
               cpv=("77310000",))
GARDENER_AMS = ent("GREEN-AMS", description="Groenonderhoud van parken en plantsoenen",
                   cpv=("77310000",), lat=AMSTERDAM[0], lon=AMSTERDAM[1],
                   service_radius_km=10.0)


def two_lots() -> tuple[Lot, Lot]:
    return (Lot("LOT-0001", "Schoonmaak kantoren", ("90911200",), 1_000_000.0),
            Lot("LOT-0002", "Groenonderhoud parken", ("77310000",), 200_000.0))


def test_a_lot_has_its_own_codes_value_and_title() -> None:
    t = tender(cpv=("90911200", "77310000"), lots=two_lots(),
               sroi=SroiClause(percentage=5.0), contract_value_eur=1_200_000.0)
    assert has_lots(t) and not has_lots(tender(lots=two_lots()[:1]))
    lt = lot_tender(t, t.lots[1])
    assert lt.ref == "T-1/LOT-0002" and lt.cpv == ("77310000",)
    assert lt.contract_value_eur == 200_000.0 and lt.lots == ()
    assert "Groenonderhoud parken" in lt.title and lt.description == ""
    assert (lt.lat, lt.lon) == (t.lat, t.lon)  # no place of its own: the tender's
    # The clause's percentage applies to the lot's value.
    assert from_tender(lt).amount_eur == 10_000.0
    assert from_tender(t).amount_eur == 60_000.0
    # A lot without codes keeps the tender's.
    assert lot_tender(t, Lot("3")).cpv == t.cpv


def test_each_lot_ranks_the_enterprise_doing_its_work_first() -> None:
    idx = EnterpriseIndex.build([CLEANER, GARDENER, *filler(8)], reference_date=REF_DATE)
    t = tender(title="Schoonmaak en groen", description="Twee percelen",
               cpv=("90911200", "77310000"), lots=two_lots())
    firsts = {}
    for lot, lt in lot_tenders(t):
        r = rank_query(idx, from_tender(lt), top_k=3)
        firsts[lot.id] = idx.refs_[int(r.rows[0])]
    assert firsts == {"LOT-0001": "CLEAN", "LOT-0002": "GREEN"}


def test_a_lot_with_its_own_place_is_matched_there() -> None:
    idx = EnterpriseIndex.build([CLEANER, GARDENER, GARDENER_AMS, *filler(8)],
                                reference_date=REF_DATE)
    ams = Lot("LOT-0002", "Groenonderhoud parken", ("77310000",), 200_000.0,
              municipality="GM0363", lat=AMSTERDAM[0], lon=AMSTERDAM[1])
    t = tender(cpv=("90911200", "77310000"), lots=(two_lots()[0], ams))
    assert (t.lat, t.lon) == UTRECHT
    (_, l1), (_, l2) = lot_tenders(t)
    refs2 = [idx.refs_[int(i)] for i in rank_query(idx, from_tender(l2), top_k=5).rows]
    refs1 = [idx.refs_[int(i)] for i in rank_query(idx, from_tender(l1), top_k=20).rows]
    assert refs2[0] in ("GREEN-AMS", "GREEN") and "GREEN-AMS" in refs2
    assert "GREEN-AMS" not in refs1  # 36 km from Utrecht, radius 10 km


def test_a_tender_without_lots_is_one_list() -> None:
    assert lot_tenders(tender()) == []
