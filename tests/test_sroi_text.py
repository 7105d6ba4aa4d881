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


# --- the cases of issue #13 item 7 -----------------------------------------------------


def test_two_sentence_form_within_a_paragraph() -> None:
    found = detect_sroi("SROI is van toepassing. Opdrachtnemer besteedt minimaal 5% van de "
                        "opdrachtwaarde aan de inzet van mensen uit de doelgroep.")
    assert found is not None and found.percentage == 5.0 and found.basis == CONTRACT_VALUE
    assert found.sentence.startswith("SROI is van toepassing.")
    assert "rate from a neighbouring sentence" in found.warnings


def test_two_sentence_form_does_not_reach_into_the_next_paragraph() -> None:
    text = ("Social return is van toepassing.\n\nOpdrachtnemer besteedt 5% van de opdrachtwaarde "
            "aan opleidingen.")
    assert detect_sroi(text) is None
    # ... but a heading on its own belongs to the paragraph under it.
    found = detect_sroi("4.3 Social Return\n\nOpdrachtnemer besteedt 5% van de opdrachtwaarde "
                        "aan de inzet van personen uit de doelgroep.")
    assert found is not None and found.percentage == 5.0


@pytest.mark.parametrize("text", [
    "Opdrachtnemer besteedt 4% van de opdrachtwaarde aan social return.",
    "Minimaal 4% van de opdrachtwaarde dient als Social Return te worden ingezet.",
    # The term only in the next sentence.
    "Opdrachtnemer zet 4% van de opdrachtwaarde in voor mensen met een afstand tot de "
    "arbeidsmarkt. Dit vormt de social return-verplichting.",
    # ... or in the previous one.
    "Social return is een contractvoorwaarde. Inschrijver besteedt 4 procent van de "
    "opdrachtwaarde aan het in dienst nemen van mensen met een uitkering.",
])
def test_rate_before_or_after_the_trigger(text: str) -> None:
    found = detect_sroi(text)
    assert found is not None and found.percentage == 4.0 and found.amount_eur is None


@pytest.mark.parametrize(("text", "amount"), [
    ("Voor deze opdracht geldt een SROI ter waarde van € 50.000,- exclusief btw.", 50_000),
    ("De SROI-verplichting bedraagt € 120.000.", 120_000),
    ("Opdrachtnemer besteedt een bedrag van € 75.000 aan social return.", 75_000),
    ("The social return obligation amounts to EUR 50,000 over the term of the contract.", 50_000),
    ("SROI is van toepassing. Opdrachtnemer zet een bedrag van € 30.000 in voor de doelgroep.",
     30_000),
])
def test_fixed_amount_goes_into_the_amount_field(text: str, amount: float) -> None:
    found = detect_sroi(text)
    assert found is not None
    assert found.percentage is None and found.amount_eur == amount
    assert "fixed amount, no percentage" in found.warnings


def test_fixed_amount_beside_a_threshold_and_the_contract_value() -> None:
    found = detect_sroi("Bij een opdrachtwaarde vanaf € 500.000 geldt een SROI-verplichting "
                        "ter waarde van € 25.000.")
    assert found is not None and found.amount_eur == 25_000 and found.threshold_eur == 500_000
    # The contract's own value beside the clause is neither an amount nor a threshold.
    assert detect_sroi("De opdrachtwaarde bedraagt € 400.000. Social return is van toepassing.") \
        is None
    found = detect_sroi("De geraamde opdrachtwaarde bedraagt € 1,2 miljoen. Social return is van "
                        "toepassing: 5% van de opdrachtwaarde.")
    assert found is not None and found.percentage == 5.0
    assert found.amount_eur is None and found.threshold_eur is None


@pytest.mark.parametrize(("text", "low", "high", "basis"), [
    ("Social return bedraagt 3 tot 5% van de opdrachtwaarde.", 3, 5, CONTRACT_VALUE),
    ("De SROI-verplichting ligt tussen de 2% en 4% van de aanneemsom.", 2, 4, CONTRACT_VALUE),
    ("Social return: 2-5% van de loonsom.", 2, 5, LABOUR_COST),
    ("De social return-verplichting bedraagt 3 à 5 procent van de loonsom.", 3, 5, LABOUR_COST),
    ("SROI of between 3% and 5% of the contract value applies.", 3, 5, CONTRACT_VALUE),
])
def test_range_keeps_both_bounds_uses_the_lower_and_warns(
    text: str, low: float, high: float, basis: str
) -> None:
    found = detect_sroi(text)
    assert found is not None
    assert found.percentage == low and found.percentage_range == (low, high)
    assert found.basis == basis
    assert any(w.startswith(f"range: lower bound {low:g} %") for w in found.warnings)
    single = detect_sroi("Social return: 5% van de opdrachtwaarde.")
    assert single is not None and single.percentage_range is None


def test_threshold_and_cap_from_neighbouring_sentences() -> None:
    found = detect_sroi("Voor opdrachten vanaf € 200.000 hanteert de gemeente social return. "
                        "De verplichting bedraagt 5% van de opdrachtwaarde.")
    assert found is not None and found.percentage == 5 and found.threshold_eur == 200_000
    found = detect_sroi("Social return is van toepassing: 5% van de opdrachtwaarde. Dit geldt bij "
                        "opdrachten vanaf € 200.000 (exclusief btw).")
    assert found is not None and found.threshold_eur == 200_000 and found.cap_eur is None
    assert found.sentence.endswith("(exclusief btw).")  # the evidence is shown to the officer
    found = detect_sroi("De social return-verplichting bedraagt 5% van de opdrachtwaarde. De "
                        "verplichting is gemaximeerd op € 300.000 per contract.")
    assert found is not None and found.cap_eur == 300_000 and found.threshold_eur is None
    assert "threshold or cap from a neighbouring sentence" in found.warnings
    # Not from another paragraph.
    found = detect_sroi("Social return: 5% van de opdrachtwaarde.\n\nDe bankgarantie is "
                        "gemaximeerd op € 300.000.")
    assert found is not None and found.cap_eur is None


@pytest.mark.parametrize("text", [
    "Social return is voor deze opdracht niet van toepassing.",
    "Social return op basis van het gemeentelijke beleid (5% van de opdrachtwaarde) is voor deze "
    "specifieke opdracht niet van toepassing.",
    "SROI-percentage: n.v.t. (standaard 5% van de opdrachtwaarde).",
    "Social return: nvt; 5% van de opdrachtwaarde geldt alleen voor diensten.",
    "Er geldt geen SROI-verplichting van 5% van de opdrachtwaarde voor deze opdracht.",
    "De standaard SROI-verplichting van 5% van de opdrachtwaarde geldt voor deze opdracht niet.",
    "Social return (5% van de opdrachtwaarde) is uitgesloten voor dit perceel.",
    "Social return van 5% van de opdrachtwaarde wordt bij deze opdracht niet gesteld.",
    "The standard social return requirement of 5% of the contract value does not apply to this "
    "contract.",
    "Social value (5% of the contract value): not applicable.",
    "No social return obligation of 5% of the contract value applies to this framework.",
])
def test_negation_anywhere_in_the_sentence(text: str) -> None:
    assert detect_sroi(text) is None


def test_negated_sentence_does_not_pull_a_rate_from_its_neighbour() -> None:
    assert detect_sroi("Social return is niet van toepassing. Opdrachtnemer besteedt 5% van de "
                       "opdrachtwaarde aan opleidingen.") is None


@pytest.mark.parametrize("text", [
    "SROI is niet van toepassing op onderaannemers; de hoofdaannemer besteedt 5% van de "
    "opdrachtwaarde aan social return.",
    "Social return (5% van de opdrachtwaarde) is niet van toepassing op de levering van "
    "materialen.",
])
def test_negation_about_part_of_the_work_narrows_but_keeps_the_clause(text: str) -> None:
    found = detect_sroi(text)
    assert found is not None and found.percentage == 5.0
    assert any(w.startswith("negation read as a scope restriction") for w in found.warnings)


@pytest.mark.parametrize("text", [
    "Social return is van toepassing. De bankgarantie bedraagt 5% van de opdrachtwaarde.",
    "Social return is van toepassing; de opdrachtnemer stelt een bankgarantie van 5%.",
    "Social return geldt; alle prijzen zijn exclusief 21% btw.",
    "Social return is van toepassing. Bij vooruitbetaling geldt een korting van 5%.",
    "Social return is van toepassing; de tarieven worden jaarlijks met 3% geïndexeerd.",
    "Social return is van toepassing. De boete bedraagt 1% van de opdrachtwaarde per dag.",
    "Social return weegt voor 10% mee in de gunning (EMVI).",
    "Het gunningscriterium social return heeft een weging van 15%.",
    "Social return. Gunning op basis van 60% kwaliteit en 40% prijs.",
    "Social return is van toepassing; de opdrachtnemer reduceert de CO2-uitstoot met 20%.",
    "Social return is van toepassing; de marge op materialen is maximaal 10%.",
    "Social return is van toepassing; bij te late betaling is 2% rente verschuldigd.",
    "Social return is van toepassing. De aanbetaling bedraagt 20% van de opdrachtwaarde.",
    "Minimaal 50% van de SROI-verplichting moet worden ingevuld met werkplekken.",
    "Inkoop bij een sociale onderneming telt voor 50% mee voor de social return-verplichting.",
    "Social value will be weighted at 10% of the total evaluation score.",
    "Social return applies; a retention of 5% of the contract value is held.",
])
def test_unrelated_percentages_are_ignored(text: str) -> None:
    assert detect_sroi(text) is None


def test_unrelated_percentage_beside_the_rate_does_not_win() -> None:
    found = detect_sroi("De bankgarantie bedraagt 10% van de opdrachtwaarde. Daarnaast geldt een "
                        "SROI-verplichting van 3% van de opdrachtwaarde.")
    assert found is not None and found.percentage == 3.0


@pytest.mark.parametrize(("text", "pct", "basis"), [
    ("Social Value: the Supplier shall deliver social value commitments equivalent to at least "
     "5% of the contract value.", 5.0, CONTRACT_VALUE),
    ("Buy Social: suppliers are expected to spend a minimum of 2% of the contract value with "
     "social enterprises.", 2.0, CONTRACT_VALUE),
    ("A social clause applies: the contractor shall allocate 10% of the labour costs to the "
     "employment of long-term unemployed persons.", 10.0, LABOUR_COST),
    ("Social return applies. The contractor shall use 5% of the wage bill for apprenticeships.",
     5.0, LABOUR_COST),
    ("De gemeente stelt sociale voorwaarden: de opdrachtnemer besteedt 3% van de opdrachtwaarde "
     "aan werkgelegenheid.", 3.0, CONTRACT_VALUE),
    ("De gemeente doet mee aan Buy Social. Opdrachtnemer koopt voor minimaal 2% van de "
     "opdrachtwaarde in bij sociale ondernemingen.", 2.0, CONTRACT_VALUE),
])
def test_dutch_and_english_terms(text: str, pct: float, basis: str) -> None:
    found = detect_sroi(text)
    assert found is not None and found.percentage == pct and found.basis == basis


def test_assumed_basis_is_a_warning() -> None:
    found = detect_sroi("Er geldt een Social Return on Investment van 3%.")
    assert found is not None and found.basis_explicit is False
    assert "basis not named: contract value assumed" in found.warnings
    found = detect_sroi("Social return: 3% van de loonsom.")
    assert found is not None and found.warnings == ()


def test_parse_eur_english_grouping_and_decimals() -> None:
    assert parse_eur("EUR 50,000") == 50_000
    assert parse_eur("EUR 1,250,000.50") == 1_250_000.5
    assert parse_eur("EUR 1.5 million") == 1_500_000
    assert parse_eur("€ 50.000,-") == 50_000
    assert parse_eur("€ 2,5 mln") == 2_500_000


def test_every_trigger_alternative_contains_a_stem() -> None:
    """``detect_sroi`` skips texts without a ``TRIGGER_STEMS`` substring before running
    ``_TRIGGER``: a trigger without one of them would silently never fire."""
    from api.importers import sroi_text

    depth, alternatives, current = 0, [], ""
    for ch in sroi_text._TRIGGER.pattern:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "|" and depth == 0:
            alternatives.append(current)
            current = ""
        else:
            current += ch
    alternatives.append(current)
    assert len(alternatives) >= 5
    for alt in alternatives:
        assert any(stem in alt.lower() for stem in sroi_text.TRIGGER_STEMS), alt
    assert sroi_text.detect_sroi("SOCIAL RETURN: 5% van de opdrachtwaarde") is not None
