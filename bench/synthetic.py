"""Seeded synthetic registry and tenders at realistic vocabulary.

Descriptions are Dutch-ish prose drawn (Zipf-weighted) from a domain word list,
mixed with the Dutch labels of each enterprise's own CPV codes so text and codes
correlate as in real registrations. CPV codes are real (matcher/data/cpv_2008_en_nl.csv),
drawn mostly from the service divisions social enterprises work in; places are
real municipality centroids jittered by a few kilometres.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from matcher.model import (
    TARGET_GROUPS,
    Capacity,
    Certification,
    Enterprise,
    SroiClause,
    Tender,
    Vetting,
)
from matcher.refdata import cpv_vocabulary, municipalities

REFERENCE_DATE = date(2026, 1, 15)

WORDS = """
schoonmaak schoonmaakdiensten kantoren gebouwen glazenwassen groenvoorziening hoveniers
tuinonderhoud snoeien maaien bermen plantsoenen onkruid bestrating straatwerk catering
lunch kantine broodjes maaltijden koffie evenementen koeriers pakketten post bezorging
fietskoeriers logistiek magazijn opslag inpakken assemblage montage verpakken etiketteren
drukwerk printen digitaliseren scannen archief administratie data invoer ict helpdesk
laptops refurbish hergebruik recycling kringloop textiel kleding naaiatelier meubels
houtbewerking timmerwerk schilderwerk onderhoud reparatie fietsen fietsenmaker wasserij
strijken linnen beveiliging receptie gastvrijheid schoonmaakmiddelen afvalscheiding
zwerfafval inzameling vervoer taxi leerlingenvervoer maatwerkvervoer rolstoel chauffeurs
zorg begeleiding dagbesteding ouderen eenzaamheid buurthuis wijk armoede schulden
statushouders inburgering taalcoaching jongeren stage leerwerkplek opleiding training
vakmanschap praktijk werkervaring arbeidsmarkt afstand participatie banen duurzaam
circulair energie isolatie zonnepanelen woningen verduurzaming installatie elektra
loodgieter bouw renovatie sloop hergebruik materialen grondstoffen voedsel bakkerij
koffiebranderij brouwerij horeca restaurant hotel vergaderzalen verhuur fotografie
video communicatie vormgeving webdesign marketing social media vertaling tolken
mensen met een beperking wajong begeleid werken jobcoach persoonlijke ontwikkeling
kwaliteit betrouwbaar flexibel lokaal regionaal landelijk opdrachtgevers gemeenten
bedrijven organisaties scholen zorginstellingen woningcorporaties team medewerkers
ervaren gecertificeerd veilig schoon groen sociaal ondernemen impact maatschappelijk
""".split()

THEMES = ("armoede", "eenzaamheid", "vervoer", "duurzaamheid", "inburgering", "schulden",
          "jongeren", "ouderen", "circulair", "voedsel", "wonen", "energie", "gezondheid",
          "taal", "digitale vaardigheden")

# Divisions social enterprises mostly deliver in (CPV 2008).
DIVISIONS = ("90", "79", "85", "98", "55", "77", "50", "45", "60", "39", "18", "22", "30",
             "15", "80", "72", "92", "63", "64", "44")


def _pools() -> tuple[list[str], list[str], list[str]]:
    vocab = cpv_vocabulary()
    codes = [c for c, v in vocab.items() if c[:2] in DIVISIONS and v.level >= 3]
    munis = list(municipalities())
    return codes, munis, sorted(vocab)


def _zipf_probs(n: int, s: float = 1.05) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1) ** s
    return p / p.sum()


def _rare_pool(rng: np.random.Generator, size: int = 40_000) -> list[str]:
    """A long tail of Dutch-style compounds ("fietsreparatie", "kantinegroen"):
    real registries have many words only a few enterprises use."""
    a = rng.integers(0, len(WORDS), size)
    b = rng.integers(0, len(WORDS), size)
    return list(dict.fromkeys(WORDS[i] + WORDS[j] for i, j in zip(a, b, strict=True)))


def make_enterprises(n: int, seed: int = 0, words: int = 100, rare: int = 3
                     ) -> list[Enterprise]:
    """``n`` enterprises, ~``words`` Zipf-drawn domain words plus ``rare`` long-tail
    compounds each. Draws are vectorised per field (seconds for 100k)."""
    rng = np.random.default_rng(seed)
    codes, munis, _ = _pools()
    vocab = cpv_vocabulary()
    mun = municipalities()
    # Popular codes are popular: Zipf over a shuffled code list.
    code_order = rng.permutation(len(codes))
    code_p = _zipf_probs(len(codes), 0.9)
    word_p = _zipf_probs(len(WORDS), 0.8)
    word_order = rng.permutation(len(WORDS))
    pool = _rare_pool(rng)
    n_codes = rng.integers(1, 5, n)
    code_draw = code_order[rng.choice(len(codes), (n, 4), p=code_p)]
    word_draw = word_order[rng.choice(len(WORDS), (n, words), p=word_p)]
    rare_draw = rng.choice(len(pool), (n, rare), p=_zipf_probs(len(pool), 1.0)) if rare else None
    n_themes = rng.integers(0, 4, n)
    theme_perm = rng.permuted(np.tile(np.arange(len(THEMES)), (n, 1)), axis=1)
    mun_idx = rng.integers(0, len(munis), n)
    jitter = rng.normal(0, 1, (n, 2)) * [0.03, 0.045]
    n_groups = rng.integers(1, 4, n)
    group_perm = rng.permuted(np.tile(np.arange(len(TARGET_GROUPS)), (n, 1)), axis=1)
    share = np.clip(rng.beta(2, 3, n), 0, 1)
    u, v = rng.random(n), rng.random(n)
    pso_lvl = rng.choice(["aspirant", "1", "2", "3"], n)
    pso_days = rng.integers(-200, 700, n)
    other_cert = rng.choice(["CodeSO", "SENL", "BCorp", "PSO30+"], n)
    vet_days = rng.integers(10, 700, n)
    exp_days = rng.integers(1, 300, n)
    radius = rng.choice([15.0, 25.0, 30.0, 30.0, 50.0, 75.0], n)
    placements = rng.integers(0, 12, n)
    euros = np.round(rng.lognormal(11.5, 1.0, n), -2)
    trade = rng.uniform(0.3, 1.0, n)
    out: list[Enterprise] = []
    for i in range(n):
        cs = tuple(dict.fromkeys(codes[j] for j in code_draw[i, : n_codes[i]]))
        labels = " ".join(vocab[c].label_nl.lower() for c in cs)
        ws = " ".join(WORDS[j] for j in word_draw[i])
        if rare_draw is not None:
            ws += " " + " ".join(pool[j] for j in rare_draw[i])
        themes = tuple(THEMES[j] for j in theme_perm[i, : n_themes[i]])
        m = mun[munis[mun_idx[i]]]
        groups = tuple(TARGET_GROUPS[j] for j in group_perm[i, : n_groups[i]])
        certs: list[Certification] = []
        if u[i] < 0.3:
            certs.append(Certification("PSO", str(pso_lvl[i]),
                                       REFERENCE_DATE + timedelta(days=int(pso_days[i]))))
        elif u[i] < 0.45:
            certs.append(Certification(str(other_cert[i]), None, None))
        if v[i] < 0.85:
            vet = Vetting("vetted", "bench", REFERENCE_DATE - timedelta(days=300),
                          REFERENCE_DATE + timedelta(days=int(vet_days[i])))
        elif v[i] < 0.9:
            vet = Vetting("vetted", "bench", REFERENCE_DATE - timedelta(days=800),
                          REFERENCE_DATE - timedelta(days=int(exp_days[i])))
        else:
            vet = Vetting("pending")
        out.append(Enterprise(
            ref=f"E-{i:06d}",
            name=f"{WORDS[word_order[i % 40]].capitalize()} {m.name} {i}",
            description=f"{labels}. {ws}",
            cpv=cs, lat=m.lat + float(jitter[i, 0]), lon=m.lon + float(jitter[i, 1]),
            municipality=m.code, service_radius_km=float(radius[i]),
            target_groups=groups, themes=themes,
            capacity=Capacity(int(placements[i]), float(euros[i])),
            target_group_share=float(share[i]), trade_income_share=float(trade[i]),
            certifications=tuple(certs), vetting=vet,
        ))
    return out


def make_tenders(n: int, seed: int = 1, words: int = 60) -> list[Tender]:
    rng = np.random.default_rng(seed)
    codes, munis, _ = _pools()
    vocab = cpv_vocabulary()
    mun = municipalities()
    code_p = _zipf_probs(len(codes), 0.9)
    code_order = rng.permutation(len(codes))
    word_p = _zipf_probs(len(WORDS), 0.8)
    word_draw = rng.choice(len(WORDS), (n, words), p=word_p)
    out: list[Tender] = []
    for i in range(n):
        k = int(rng.integers(1, 4))
        cs = tuple(dict.fromkeys(codes[code_order[j]] for j in rng.choice(len(codes), k, p=code_p)))
        ws = [WORDS[j] for j in word_draw[i]]
        m = mun[munis[int(rng.integers(len(munis)))]]
        value = float(np.round(rng.lognormal(13.0, 1.0), -3))
        groups = tuple(rng.choice(TARGET_GROUPS, int(rng.integers(0, 3)), replace=False).tolist())
        out.append(Tender(
            ref=f"T-{i:06d}", buyer=f"Gemeente {m.name}",
            title=vocab[cs[0]].label_nl,
            description=" ".join(vocab[c].label_nl.lower() for c in cs) + ". " + " ".join(ws),
            cpv=cs, contract_value_eur=value, municipality=m.code, lat=m.lat, lon=m.lon,
            sroi=SroiClause(
                percentage=5.0, target_groups=groups,
                region_km=float(rng.choice([40.0, 60.0])) if rng.random() < 0.2 else None,
                reserved=bool(rng.random() < 0.05),
            ),
        ))
    return out
