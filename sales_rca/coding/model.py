"""A supervised model of loss categories that learns from labelled texts and the team's decisions.

TF-IDF over character n-grams (robust to typos and shorthand) and word n-grams (readable "why"),
one logistic regression per fishbone category (a text may state several reasons). It runs on the
laptop (scikit-learn, no download) and trains in well under a second on a few thousand texts.

The rules give the evidence; the model (see :func:`sales_rca.coding.autocode.decide`) weighs the
rule categories, drops implausible second reasons, codes texts no rule matches when it is sure
enough, and ranks the review queue by how unsure it is.

Example::

    model = default_model()                    # the packaged labelled texts
    model.predict_proba(["no budgte this yr"]) # one row, one column per category
    model.why("no budgte this yr", "buyer")    # ['budgte', 'this yr']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from sales_rca import resources
from sales_rca.coding.codebook import CATEGORIES
from sales_rca.errors import SalesRcaError

#: The packaged labelled texts the default model learns from (``text, categories``).
TRAINING_FILE = "loss_texts_training.csv"
#: Fewest labelled texts a model is trained on; fewer and the room's codes are not enough.
MIN_TEXTS = 20
#: Inverse regularisation strength of each logistic regression.
C = 8.0
#: liblinear's dual solver: far more features (n-grams) than texts, so the dual problem is the
#: small one (same optimum as the primal, several times faster on a few thousand texts).
_SOLVER: dict[str, Any] = {"dual": True, "tol": 1e-3, "max_iter": 1000}


@dataclass
class LossModel:
    """A trained category model: ``predict_proba``, ``why`` and how well it cross-validates."""

    categories: tuple[str, ...]
    n_texts: int
    n_from_team: int
    _chars: TfidfVectorizer = field(repr=False)
    _words: TfidfVectorizer = field(repr=False)
    _classifiers: dict[str, LogisticRegression | float] = field(repr=False)
    _training: tuple[list[str], list[tuple[str, ...]]] = field(repr=False)
    _cv: float | None = field(default=None, repr=False)

    def _features(self, texts: Sequence[str]) -> sp.csr_matrix:
        return sp.hstack([self._chars.transform(texts), self._words.transform(texts)], format="csr")

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probability of each category (columns in :data:`CATEGORIES` order) per text."""
        texts = _clean(texts)
        out = np.zeros((len(texts), len(CATEGORIES)))
        if not len(texts):
            return out
        x = self._features(texts)
        for k, cat in enumerate(CATEGORIES):
            clf = self._classifiers.get(cat, 0.0)
            out[:, k] = clf if isinstance(clf, float) else clf.predict_proba(x)[:, 1]
        return out

    def why(self, text: str, category: str, k: int = 3) -> list[str]:
        """The words of ``text`` that pushed the model most towards ``category`` (best first)."""
        clf = self._classifiers.get(category)
        if clf is None or isinstance(clf, float):
            return []
        x = self._words.transform(_clean([text]))
        n_chars = len(self._chars.vocabulary_)
        coef = clf.coef_[0][n_chars:]
        row = x.tocoo()
        contrib = row.data * coef[row.col]
        names = self._words.get_feature_names_out()
        order = np.argsort(-contrib)
        return [str(names[row.col[i]]) for i in order[:k] if contrib[i] > 0]

    @property
    def cv_macro_f1(self) -> float | None:
        """Macro F1 (categories with labels) of the model alone, 5-fold cross-validated."""
        if self._cv is None:
            self._cv = cross_validate(*self._training)
        return self._cv

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description: on, trained on how many texts, cross-validated macro F1."""
        cv = self.cv_macro_f1
        return {
            "on": True,
            "trained_on": self.n_texts,
            "from_team": self.n_from_team,
            "cv_macro_f1": None if cv is None else round(cv, 4),
        }


def _clean(texts: Iterable[str]) -> list[str]:
    from sales_rca.coding.autocode import normalise_list

    return normalise_list([str(t) for t in texts])


def train_model(
    texts: Sequence[str],
    labels: Sequence[Iterable[str]],
    *,
    n_from_team: int = 0,
) -> LossModel:
    """Train on ``texts`` and their category labels (each an iterable of category ids).

    Texts without a label teach "none of these" to every category. Raises
    :class:`SalesRcaError` with fewer than :data:`MIN_TEXTS` labelled texts.
    """
    clean = _clean(texts)
    y = [tuple(c for c in cs if c in CATEGORIES) for cs in labels]
    if sum(map(bool, y)) < MIN_TEXTS:
        raise SalesRcaError(
            f"The loss model needs at least {MIN_TEXTS} labelled texts, found "
            f"{sum(map(bool, y))}; label more texts or switch the model off."
        )
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=1)
    words = TfidfVectorizer(
        analyzer="word",
        ngram_range=(1, 2),
        sublinear_tf=True,
        token_pattern=r"(?u)\b[a-z0-9][a-z0-9'&]*\b",
    )
    x = sp.hstack([chars.fit_transform(clean), words.fit_transform(clean)], format="csr")
    classifiers: dict[str, LogisticRegression | float] = {}
    for cat in CATEGORIES:
        target = np.fromiter((cat in cs for cs in y), dtype=bool, count=len(y))
        if target.all() or not target.any():
            classifiers[cat] = float(target.mean()) if len(target) else 0.0
            continue
        clf = LogisticRegression(C=C, class_weight="balanced", solver="liblinear", **_SOLVER)
        classifiers[cat] = clf.fit(x, target)
    return LossModel(
        categories=tuple(CATEGORIES),
        n_texts=len(clean),
        n_from_team=n_from_team,
        _chars=chars,
        _words=words,
        _classifiers=classifiers,
        _training=(list(texts), y),
    )


def cross_validate(
    texts: Sequence[str], labels: Sequence[tuple[str, ...]], folds: int = 5
) -> float | None:
    """Macro F1 of the model alone over ``folds`` folds (``None`` with too few texts).

    Each text is predicted by a model that never saw it; a category is predicted when its
    probability is at least 0.5, else the most likely one when none reaches it.
    """
    from sales_rca.coding.evaluate import scores

    if len(texts) < folds * 4:
        return None
    texts = list(texts)
    pred: list[tuple[str, ...]] = [()] * len(texts)
    for train, test in KFold(folds, shuffle=True, random_state=0).split(texts):
        try:
            m = train_model([texts[i] for i in train], [labels[i] for i in train])
        except SalesRcaError:
            return None
        proba = m.predict_proba([texts[i] for i in test])
        for row, i in zip(proba, test, strict=True):
            pred[i] = _labels_from(row)
    return scores(pd.Series(pred), pd.Series(list(labels)))[0]


def _labels_from(row: np.ndarray) -> tuple[str, ...]:
    chosen = [c for c, p in zip(CATEGORIES, row, strict=True) if p >= 0.5]
    return tuple(chosen) or (CATEGORIES[int(row.argmax())],)


def training_set() -> pd.DataFrame:
    """The packaged labelled loss texts: ``text, categories`` (categories as tuples)."""
    from sales_rca.coding.evaluate import split_labels

    with resources.resource(TRAINING_FILE).open(encoding="utf-8") as f:
        frame = pd.read_csv(f, dtype=str, keep_default_na=False)
    return pd.DataFrame(
        {"text": frame["text"], "categories": frame["categories"].map(split_labels)}
    )


def model_for(
    team_texts: Sequence[str] = (),
    team_labels: Sequence[Iterable[str]] = (),
    *,
    exclude: Iterable[str] = (),
) -> LossModel:
    """The packaged labelled texts plus the team's coded texts (which win on the same text).

    ``exclude``: texts never to learn from (an evaluation's texts, so it scores unseen texts).
    """
    base = training_set()
    team = pd.DataFrame({"text": list(team_texts), "categories": [tuple(c) for c in team_labels]})
    team = team[team["text"].astype(str).str.strip() != ""]
    frame = pd.concat([base, team], ignore_index=True)
    key = pd.Series(_clean(frame["text"].tolist()), index=frame.index)
    frame = frame[~key.duplicated(keep="last")]
    banned = set(_clean(list(exclude)))
    frame = frame[~key.loc[frame.index].isin(banned)]
    return train_model(frame["text"].tolist(), frame["categories"].tolist(), n_from_team=len(team))


@cache
def default_model() -> LossModel:
    """The model trained on the packaged labelled texts (trained once per process)."""
    return model_for()


def team_model(result: Any, decisions: Iterable[Any]) -> LossModel:
    """The default training texts plus what the team decided: each reviewed deal's notes with
    the categories it ended up with (accepted or changed codes). ``result`` is a
    :class:`~sales_rca.coding.losses.CodingResult`; ``decisions`` the session's code overrides.
    """
    from sales_rca.coding.overrides import apply_overrides

    decisions = tuple(decisions)
    if not decisions:
        return default_model()
    reviewed = apply_overrides(result, decisions).deals
    reviewed = reviewed[reviewed["basis"] == "human"]
    reviewed = reviewed[reviewed["loss_detail"].astype(str).str.strip() != ""]
    return model_for(reviewed["loss_detail"].tolist(), reviewed["categories"].tolist())
