"""Detection of the Dutch social-return percentage in free text, both ways."""

from __future__ import annotations

import pytest

from api.importers.sroi_text import (
    CONTRACT_VALUE,
    LABOUR_COST,
    detect_sroi,
    detect_sroi_in,
    parse_eur,
    split_sentences,
)

# (text, percentage, basis, basis named in the text)
FOUND = [
    ("Social return: 5% van de opdrachtwaarde.", 5.0, CONTRACT_VALUE, True),
    ("Op deze opdracht is Social Return van toepassing: 5% van de opdrachtwaarde.", 5.0,
     CONTRACT_VALUE, True),
    ("De SROI-verplichting bedraagt 5 procent van de aanneemsom.", 5.0, CONTRACT_VALUE, True),
    ("Opdrachtnemer levert een social return on investment van 3% van de contractwaarde.", 3.0,
     CONTRACT_VALUE, True),
    ("Er geldt een Social Return on Investment van 3%.", 3.0, CONTRACT_VALUE, False),
    ("Social return bedraagt 2,5% van de opdrachtwaarde.", 2.5, CONTRACT_VALUE, True),
    ("De social return verplichting is vijf procent van de opdrachtwaarde.", 5.0,
     CONTRACT_VALUE, True),
    ("Voor social return geldt 30% van de loonsom.", 30.0, LABOUR_COST, True),
    ("SROI: 25 procent van de arbeidskosten.", 25.0, LABOUR_COST, True),
    ("Social return bedraagt 20% van de loonkosten die in de opdracht worden gemaakt.", 20.0,
     LABOUR_COST, True),
    ("Het sociaal rendement (SROI) moet minimaal 4% van de opdrachtwaarde zijn.", 4.0,
     CONTRACT_VALUE, True),
    ("SROI 5 pct van de totale waarde van de opdracht.", 5.0, CONTRACT_VALUE, True),
    ("Deze opdracht kent een social-return-verplichting van 2.5% van de contractwaarde.", 2.5,
     CONTRACT_VALUE, True),
    # The rate in the next sentence about the obligation.
    ("Social return is van toepassing op deze opdracht. De verplichting bedraagt 5% van de "
     "opdrachtwaarde.", 5.0, CONTRACT_VALUE, True),
    # Other percentages in the same sentence are skipped.
    ("De SROI van 5% van de opdrachtwaarde wordt berekend exclusief 21% btw.", 5.0,
     CONTRACT_VALUE, True),
    ("Social return: 5% van de opdrachtwaarde, waarvan minimaal 50% via werkplekken.", 5.0,
     CONTRACT_VALUE, True),
    ("Minimaal 50% van de SROI-verplichting vult u in met werkplekken; de social return is "
     "4% van de opdrachtwaarde.", 4.0, CONTRACT_VALUE, True),
    # Amid a long description, with a Dutch abbreviation before it.
    ("Het betreft o.a. groenonderhoud. Bij deze aanbesteding hanteert de gemeente een Social "
     "Return-verplichting van anderhalf procent van de opdrachtwaarde. Inschrijven kan tot 1 mei.",
     1.5, CONTRACT_VALUE, True),
    ("The contractor commits to social return of 5% of the contract value.", 5.0,
     CONTRACT_VALUE, True),
    ("SROI 10% of labour costs applies.", 10.0, LABOUR_COST, True),
    ("Social Return 5 %", 5.0, CONTRACT_VALUE, False),
]

NOT_FOUND = [
    "De prijzen zijn exclusief 21% btw.",
    "Wij bieden een korting van 5% bij vooruitbetaling.",
    "Indexatie van de tarieven is 3% per jaar.",
    "De opdracht omvat 5% meerwerk en 10% minderwerk.",
    "Social return is niet van toepassing op deze opdracht.",
    "Op deze opdracht is geen social return van toepassing (0%).",
    "Social return is van toepassing; de invulling bespreekt u met de accountmanager.",
    "Het beoogde sociaal rendement wordt later bepaald.",
    "Gunning op basis van 60% kwaliteit en 40% prijs.",
    "",
    "Social return. Prijs weegt voor 40% mee.",
    "Return on investment van 12% is verwacht.",
    "Kandidaten uit de doelgroep social return worden voor 100% ingezet.",
    "Wij rekenen 5% korting en hanteren social return.",
]


@pytest.mark.parametrize(("text", "pct", "basis", "explicit"), FOUND)
def test_found(text: str, pct: float, basis: str, explicit: bool) -> None:
    found = detect_sroi(text)
    assert found is not None, text
    assert found.percentage == pytest.approx(pct)
    assert found.basis == basis
    assert found.basis_explicit is explicit
    # The sentence is the one naming social return, not the whole text.
    assert found.sentence in " ".join(text.split())
    lowered = found.sentence.lower()
    assert "social" in lowered or "sroi" in lowered or "sociaal" in lowered


@pytest.mark.parametrize("text", NOT_FOUND)
def test_not_found(text: str) -> None:
    assert detect_sroi(text) is None


def test_sentence_is_only_the_clause() -> None:
    text = ("De gemeente zoekt een partij voor schoonmaak. Social return: 5% van de "
            "opdrachtwaarde. De prijzen zijn exclusief 21% btw.")
    found = detect_sroi(text)
    assert found is not None
    assert found.sentence == "Social return: 5% van de opdrachtwaarde."


def test_threshold_and_cap() -> None:
    found = detect_sroi(
        "Social return van 5% van de opdrachtwaarde geldt voor opdrachten vanaf € 250.000 "
        "met een maximum van € 50.000,-."
    )
    assert found is not None
    assert found.threshold_eur == 250_000
    assert found.cap_eur == 50_000


def test_threshold_before_rate_and_cap_in_millions() -> None:
    found = detect_sroi("De social return verplichting geldt voor opdrachten boven € 100.000 "
                        "en bedraagt 5%.")
    assert found is not None and found.percentage == 5 and found.threshold_eur == 100_000
    found = detect_sroi("Social Return (SROI) bedraagt 5% van de loonsom, met een maximum van "
                        "EUR 1,5 miljoen.")
    assert found is not None and found.basis == "labour_cost" and found.cap_eur == 1_500_000


def test_first_text_wins_across_fields() -> None:
    found = detect_sroi_in([None, "Korting van 5%.", "SROI: 3% van de aanneemsom."])
    assert found is not None and found.percentage == 3.0


def test_parse_eur_and_split() -> None:
    assert parse_eur("€ 1.250.000,00") == 1_250_000
    assert parse_eur("EUR 1,5 miljoen") == 1_500_000
    assert parse_eur("zonder bedrag") is None
    assert split_sentences("Zie o.a. bijlage 2. Social return geldt.") == [
        "Zie o.a. bijlage 2.", "Social return geldt."
    ]
