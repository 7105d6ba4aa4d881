"""Small hand-built registries whose right answers are known by construction."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from matcher.model import Capacity, Certification, Enterprise, SroiClause, Tender, Vetting

REF_DATE = date(2026, 3, 15)
UTRECHT = (52.0896, 5.1077)
AMSTERDAM = (52.3676, 4.9002)  # ~36 km from Utrecht
GRONINGEN = (53.2186, 6.5672)  # ~160 km from Utrecht

VETTED = Vetting("vetted", "test", date(2025, 1, 1), date(2027, 1, 1))


def ent(ref: str, **kw: Any) -> Enterprise:
    base = Enterprise(
        ref=ref,
        name=kw.pop("name", f"Onderneming {ref}"),
        description=kw.pop("description", "sociale onderneming met leerwerkplekken"),
        cpv=kw.pop("cpv", ("90911200",)),
        lat=UTRECHT[0],
        lon=UTRECHT[1],
        service_radius_km=50.0,
        target_groups=("participatiewet",),
        capacity=Capacity(2, 200_000.0),
        target_group_share=0.4,
        vetting=VETTED,
    )
    return replace(base, **kw)


def tender(ref: str = "T-1", **kw: Any) -> Tender:
    base = Tender(
        ref=ref, buyer="Gemeente Utrecht", title="Schoonmaak gemeentelijke gebouwen",
        cpv=("90911200",), description="schoonmaakdiensten voor kantoren",
        contract_value_eur=1_000_000.0, lat=UTRECHT[0], lon=UTRECHT[1],
        sroi=SroiClause(percentage=5.0),
    )
    return replace(base, **kw)


def filler(n: int = 12) -> list[Enterprise]:
    """Unrelated enterprises so the TF-IDF has a realistic document frequency."""
    topics = [
        ("catering en lunchvoorziening voor bedrijven", ("55520000",)),
        ("vervoer van personen en leerlingenvervoer", ("60000000",)),
        ("maatschappelijke begeleiding en dagbesteding", ("85300000",)),
        ("onderhoud van tuinen en plantsoenen", ("77311000",)),
    ]
    out = []
    for i in range(n):
        text, cpv = topics[i % len(topics)]
        out.append(ent(f"F-{i:02d}", description=f"{text} in de regio, team {i}", cpv=cpv))
    return out


CERT_PSO3 = Certification("PSO", "3", date(2027, 1, 1))
