"""Learning weights from decisions: the learner recovers a hidden preference, and `sroi learn`
saves every version, activates only improvements, and rolls back."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pytest
from sqlmodel import Session, select

from api.cli import main
from api.clock import utcnow
from api.messages import render_text
from api.services.learning import learn_from_log, preference_groups
from api.services.weights import (
    RefusedSet,
    WeightsError,
    active_weights,
    describe_change,
    list_versions,
    note_text,
    rollback,
    save_version,
)
from api.tables import CurationDecision, WeightSetRow
from matcher.geo import distance_score
from matcher.learn import (
    PairwiseWeightLearner,
    group_ndcg,
    pairwise_differences,
    split_groups,
)
from matcher.weights import DEFAULT, FEATURES

GEO = FEATURES.index("geo")
N_CANDIDATES = 12
SHOWN = 10  # a connector sees the top 10 of the weight set in use


def synthetic_query(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Candidates with random feature scores; distance drives only the geo feature.

    The hidden preference: connectors accept enterprises within 10 km of the place of
    work and reject the rest, whatever their text or CPV fit.
    """
    X = rng.uniform(0.0, 1.0, size=(N_CANDIDATES, len(FEATURES)))
    km = rng.uniform(0.0, 30.0, size=N_CANDIDATES)
    X[:, GEO] = distance_score(km, 30.0)
    labels = (km <= 10.0).astype(float)
    return X, labels


def synthetic_log(n_queries: int, seed: int = 7) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    Xs, ys = [], []
    while len(Xs) < n_queries:
        X, y = synthetic_query(rng)
        if 0 < y.sum() < len(y):  # a query where the connector both accepted and rejected
            Xs.append(X)
            ys.append(y)
    return Xs, ys


def default_vector() -> np.ndarray:
    return np.asarray(DEFAULT.vector())


# --------------------------------------------------------------------------- pure learner


def test_learner_recovers_hidden_distance_preference() -> None:
    Xs, ys = synthetic_log(60)
    train, test = split_groups([f"q{i}" for i in range(len(Xs))], test_size=0.3)
    learner = PairwiseWeightLearner(C=1.0).fit([Xs[i] for i in train], [ys[i] for i in train])
    w = learner.weights_
    assert np.all(w >= 0) and w.sum() == pytest.approx(1.0)
    assert int(np.argmax(w)) == GEO, dict(zip(FEATURES, w.round(3), strict=True))
    assert w[GEO] > 0.5  # it dominates, not just edges ahead

    held_X, held_y = [Xs[i] for i in test], [ys[i] for i in test]
    learnt = group_ndcg(held_X, held_y, w)
    default = group_ndcg(held_X, held_y, default_vector())
    assert learnt is not None and default is not None
    assert learnt > default + 0.15, (learnt, default)
    assert learnt > 0.95  # distance alone orders these perfectly; the learnt set nearly does


def test_negative_coefficients_are_bounded_to_zero() -> None:
    # Connectors here prefer *less* capacity fit (a feature they dislike) and more CPV fit:
    # the unconstrained fit has a negative coefficient; the published weights stay >= 0.
    rng = np.random.default_rng(3)
    cap, cpv = FEATURES.index("capacity"), FEATURES.index("cpv")
    Xs, ys = [], []
    for _ in range(30):
        X = rng.uniform(0, 1, size=(8, len(FEATURES)))
        ys.append((X[:, cpv] - X[:, cap] > 0.2).astype(float))
        Xs.append(X)
    learner = PairwiseWeightLearner().fit(Xs, ys)
    assert learner.coef_[cap] < 0
    assert learner.constrained_
    assert learner.weights_[cap] == pytest.approx(0.0, abs=1e-6)
    assert int(np.argmax(learner.weights_)) == cpv
    assert learner.weights_.sum() == pytest.approx(1.0)


def test_pairwise_differences_and_split() -> None:
    X = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    y = np.array([2.0, 0.0, 1.0])
    D = pairwise_differences([X], [y])
    # pairs (0>1), (0>2), (2>1)
    assert sorted(map(tuple, D.round(2))) == [(0.5, -0.5), (0.5, -0.5), (1.0, -1.0)]
    keys = [f"q{i}" for i in range(10)]
    train, test = split_groups(keys, 0.3)
    assert set(train).isdisjoint(test) and sorted(train + test) == list(range(10))
    assert len(test) == 3
    assert split_groups(list(reversed(keys)), 0.3)[1] == sorted(9 - i for i in test)
    with pytest.raises(ValueError):
        PairwiseWeightLearner().fit([X], [np.zeros(3)])  # no preference at all


def test_group_ndcg_breaks_ties_pessimistically() -> None:
    X = np.array([[0.2], [0.2], [0.9]])
    y = np.array([0.0, 1.0, 0.0])
    # equal scores for rows 0 and 1: the relevant one is put after the irrelevant one
    tied = group_ndcg([X[:2]], [y[:2]], np.array([1.0]))
    assert tied == pytest.approx(1 / np.log2(3))
    assert group_ndcg([X], [y], np.array([1.0])) == pytest.approx(1 / np.log2(4))
    assert group_ndcg([X], [np.zeros(3)], np.array([1.0])) is None


# --------------------------------------------------------------------------- store side


def add_log(session: Session, Xs: list[np.ndarray], ys: list[np.ndarray],
            weight_set: str = "default v1") -> int:
    """Write decisions as the curation UI would: the top 10 by the default weights shown,
    accepted or rejected by the hidden rule, with the features shown."""
    t0 = utcnow()
    n = 0
    w = default_vector()
    for q, (X, y) in enumerate(zip(Xs, ys, strict=True)):
        order = np.argsort(-(X @ w), kind="stable")[:SHOWN]
        for rank, i in enumerate(order, start=1):
            session.add(CurationDecision(
                query_kind="tender", query_ref=f"T-{q:03d}", enterprise_ref=f"E-{q:03d}-{i:02d}",
                decision="accept" if y[i] > 0 else "reject",
                reason="" if y[i] > 0 else "te ver weg", decided_by="connector@example.org",
                decided_at=t0 + timedelta(seconds=n), rank=rank, score=float(X[i] @ w),
                features={f: float(X[i, j]) for j, f in enumerate(FEATURES)},
                weight_set=weight_set,
            ))
            n += 1
    session.commit()
    return n


def test_learn_activates_only_an_improvement_and_rolls_back(session: Session) -> None:
    Xs, ys = synthetic_log(40)
    n = add_log(session, Xs, ys)
    assert learn_from_log(session, min_decisions=n + 1).status == "too_few"
    assert session.exec(select(WeightSetRow)).first() is None  # nothing written

    result = learn_from_log(session, min_decisions=20)
    assert result.status == "activated", result.message
    assert result.heldout_ndcg is not None and result.heldout_ndcg_active is not None
    assert result.heldout_ndcg > result.heldout_ndcg_active
    active = active_weights(session)
    assert active.name == "learned" and active.version == result.version == 2
    assert max(active.weights, key=lambda f: active.get(f)) == "geo"
    rows = list_versions(session)
    assert [(r.version, r.name, r.active) for r in rows] == [
        (2, "learned", True), (1, "default", False)]
    note = render_text(note_text(rows[0].note), "en")
    assert "Distance 0.14 ->" in note and "activated" in note, note
    assert "geactiveerd" in render_text(note_text(rows[0].note), "nl")
    assert rows[0].metrics["heldout_ndcg@10"] == pytest.approx(result.heldout_ndcg)

    # Learning again on the same log cannot beat the set learnt from it: saved, refused.
    again = learn_from_log(session, min_decisions=20)
    assert again.status == "refused"
    assert again.version == 3
    assert active_weights(session).version == 2
    assert "refused: no improvement" in render_text(note_text(list_versions(session)[0].note),
                                                    "en")
    assert list_versions(session)[0].metrics["status"] == "refused"
    # A refused set needs force.
    with pytest.raises(RefusedSet):
        rollback(session, 3)
    assert active_weights(session).version == 2
    assert rollback(session, 3, force=True).active
    assert active_weights(session).version == 3

    assert rollback(session, 1).active
    assert dict(active_weights(session).weights) == pytest.approx(dict(DEFAULT.weights))
    with pytest.raises(WeightsError, match="geen gewichtenset met versie 42"):
        rollback(session, 42)
    assert sum(r.active for r in list_versions(session)) == 1


def test_decisions_made_by_the_active_weights_are_not_improved_on(session: Session) -> None:
    # Connectors who accept exactly the default's top 3 leave nothing to learn: the learnt
    # set may tie but never beats the default on held-out NDCG, so it is not activated.
    rng = np.random.default_rng(11)
    Xs = [rng.uniform(0, 1, size=(N_CANDIDATES, len(FEATURES))) for _ in range(30)]
    w = default_vector()
    ys = []
    for X in Xs:
        y = np.zeros(N_CANDIDATES)
        y[np.argsort(-(X @ w))[:3]] = 1.0
        ys.append(y)
    add_log(session, Xs, ys)
    result = learn_from_log(session, min_decisions=20)
    assert result.heldout_ndcg_active == pytest.approx(1.0)
    assert result.status == "refused"
    assert active_weights(session) == DEFAULT or active_weights(session).name == "default"


def test_latest_decision_wins_and_missing_features_are_neutral(session: Session) -> None:
    t0 = utcnow()
    feats = {f: 0.5 for f in FEATURES}
    rows = [
        ("E-1", "reject", {**feats, "geo": 0.9}, 0),
        ("E-1", "pin", {**feats, "geo": 0.9}, 1),  # later: pinned after all
        ("E-2", "accept", {k: v for k, v in feats.items() if k != "cpv"}, 2),
        ("E-3", "reject", {**feats, "geo": 0.1}, 3),
    ]
    for ref, decision, f, s in rows:
        session.add(CurationDecision(query_kind="challenge", query_ref="C-1", enterprise_ref=ref,
                                     decision=decision, decided_by="c", features=f,
                                     decided_at=t0 + timedelta(seconds=s)))
    session.commit()
    from api.services.learning import latest_decisions

    (group,) = preference_groups(latest_decisions(session))
    assert group.refs == ["E-1", "E-2", "E-3"]
    assert group.labels.tolist() == [2.0, 1.0, 0.0]
    assert np.all(group.X[:, FEATURES.index("cpv")] == 0.0)  # not shown for E-2: zeroed


def test_save_version_validates_and_describes() -> None:
    change = describe_change({"geo": 0.1, "cpv": 0.3}, {"geo": 0.6, "cpv": 0.1})
    assert change.render("en").startswith("Distance 0.10 -> 0.60, CPV codes 0.30 -> 0.10")
    assert change.render("nl").startswith("Afstand 0,10 -> 0,60, CPV-codes 0,30 -> 0,10")
    assert describe_change(DEFAULT.weights, DEFAULT.weights).render("en") == (
        "no weight changed by 0.005 or more")


def test_save_version_rejects_unknown_features(session: Session) -> None:
    with pytest.raises(ValueError, match="unknown features"):
        save_version(session, {"colour": 1.0})
    row = save_version(session, {"geo": 1.0}, note="hand-made", activate=True)
    assert row.version == 2 and active_weights(session).get("geo") == 1.0


# --------------------------------------------------------------------------- CLI


def test_cli_learn_list_rollback(use_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    from api.db import get_engine

    with Session(get_engine()) as s:
        Xs, ys = synthetic_log(40)
        add_log(s, Xs, ys)

    assert main(["--lang", "en", "learn", "--min-decisions", "100000"]) == 1
    assert "need at least 100,000" in capsys.readouterr().err

    assert main(["--lang", "en", "learn", "--min-decisions", "20", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "activated" and out["version"] == 2
    assert max(out["weights"], key=out["weights"].get) == "geo"

    assert main(["--lang", "en", "weights", "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["active"]["version"] == 2
    assert [v["version"] for v in listing["versions"]] == [2, 1]
    assert listing["versions"][0]["change"].startswith("Distance")

    assert main(["--lang", "en", "weights", "rollback", "1"]) == 0
    assert "default v1 is active again" in capsys.readouterr().out
    assert main(["--lang", "en", "weights", "list"]) == 0
    text = capsys.readouterr().out
    assert "* v1" in text and "  v2" in text

    assert main(["--lang", "en", "weights", "rollback", "9"]) == 1
    err = capsys.readouterr().err
    assert "no weight set version 9" in err and "Traceback" not in err


def test_shown_but_undecided_candidates_come_from_the_engine(use_db: str) -> None:
    from api.db import get_engine
    from api.services.importing import import_files
    from api.services.learning import engine_shown_candidates, latest_decisions
    from tests.test_evaluate_cli import store_doc

    with Session(get_engine()) as s:
        assert import_files(s, [("s.json", json.dumps(store_doc()).encode())],
                            on_duplicate="keep-both").ok
        # The connector accepted the engine's second proposal and left the first undecided.
        s.add(CurationDecision(query_kind="tender", query_ref="T-1", enterprise_ref="E-2",
                               decision="accept", decided_by="c", rank=2,
                               features={f: 0.5 for f in FEATURES}))
        s.commit()
        from datetime import date

        shown = engine_shown_candidates(s, on=date(2026, 6, 1))
        (group,) = preference_groups(latest_decisions(s), shown)
    assert group.refs == ["E-2", "E-1"]
    assert group.labels.tolist() == [1.0, 0.0]
    assert group.X[1, FEATURES.index("cpv")] == pytest.approx(1.0)  # exact CPV match, re-scored
    assert group.usable
