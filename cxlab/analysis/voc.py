"""Voice of the customer: comment sentiment, topics and safe verbatims.

* The text-safety helpers (:func:`~cxlab.pii.mask_pii`, :func:`~cxlab.pii.strip_controls`,
  :func:`~cxlab.pii.html_escape`, :func:`~cxlab.pii.safe_text`) live in :mod:`cxlab.pii`, the
  base layer, and are importable from here too.
* :func:`comment_sentiment` scores each comment with VADER (an offline lexicon model that
  ships with ``vaderSentiment``; nothing is downloaded).
* :func:`comment_topics` finds topics with TF-IDF + NMF (scikit-learn), names each by its
  top terms and reports its share among promoters, passives and detractors and its mean
  sentiment.
* :func:`representative_verbatims` picks the comments that load most on each topic, masked
  and escaped.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from cxlab.analysis.metrics import nps_group_expr
from cxlab.contract.frames import FrameLike, as_lazy
from cxlab.errors import DataError, ParameterError

# the other text-safety helpers of cxlab.pii, still importable from here (their old address)
from cxlab.pii import CONTROL_PATTERN as CONTROL_PATTERN
from cxlab.pii import PII_PATTERNS as PII_PATTERNS
from cxlab.pii import html_escape as html_escape
from cxlab.pii import mask_pii, safe_text, strip_controls

__all__ = [
    "comment_sentiment",
    "comment_topics",
    "TopicModel",
    "representative_verbatims",
]

_PLACEHOLDER = r"\[(?:email|phone|number)\]"
_NPS_GROUPS = ("promoter", "passive", "detractor")


# --------------------------------------------------------------------------------------------
# sentiment
# --------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _analyzer():  # type: ignore[no-untyped-def]
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()  # reads the lexicon shipped inside the package


def comment_sentiment(feedback: FrameLike, *, threshold: float = 0.05) -> pl.DataFrame:
    """Add VADER sentiment to every feedback row with a comment.

    VADER is a rule-and-lexicon model: its lexicon ships inside ``vaderSentiment`` and is
    read from disk, nothing is downloaded. Scoring one text is a Python call, the one place
    where a per-comment Python call is unavoidable; it is made once per *unique* non-empty
    comment (``unique()`` first), and the scores are joined back to the rows.

    Parameters
    ----------
    feedback : DataFrame or LazyFrame
        Canonical feedback with ``comment``.
    threshold : float
        ``sentiment_label`` is ``"positive"`` when compound >= threshold, ``"negative"`` when
        <= −threshold, otherwise ``"neutral"`` (VADER's documented 0.05).

    Returns
    -------
    DataFrame
        The feedback rows in their order, plus ``sentiment`` (VADER compound, −1..1; null
        without a comment) and ``sentiment_label``.

    Examples
    --------
    >>> fb = pl.DataFrame({"customer_id": ["a", "b", "c"],
    ...                    "comment": ["Great service, love it!", "Terrible, slow delivery", None]})
    >>> comment_sentiment(fb)["sentiment_label"].to_list()
    ['positive', 'negative', None]
    """
    lf = as_lazy(feedback, "feedback", ["comment"])
    clean = pl.col("comment").str.strip_chars()
    unique = (
        lf.select(clean.alias("_text"))
        .filter(pl.col("_text").str.len_chars() > 0)
        .unique()
        .sort("_text")
        .collect()["_text"]
        .to_list()
    )
    analyzer = _analyzer()
    scores = pl.DataFrame(
        {"_text": unique, "sentiment": [analyzer.polarity_scores(t)["compound"] for t in unique]},
        schema={"_text": pl.String, "sentiment": pl.Float64},
    ).lazy()
    return (
        lf.with_columns(clean.alias("_text"))
        .join(scores, on="_text", how="left", maintain_order="left")
        .drop("_text")
        .with_columns(
            pl.when(pl.col("sentiment") >= threshold)
            .then(pl.lit("positive"))
            .when(pl.col("sentiment") <= -threshold)
            .then(pl.lit("negative"))
            .when(pl.col("sentiment").is_not_null())
            .then(pl.lit("neutral"))
            .alias("sentiment_label")
        )
        .collect()
    )


# --------------------------------------------------------------------------------------------
# topics
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TopicModel:
    """Result of :func:`comment_topics`.

    Attributes
    ----------
    k : int
        Number of topics.
    topics : DataFrame
        One row per topic: ``topic``, ``label`` (a phrase a person would write: the opening
        words of the comment that loads most on the topic among the NPS group it leans to —
        detractors or promoters —, PII-masked, see :data:`PHRASE_WORDS`; its top words when
        nothing is left), ``words`` (its three top
        words, "late, parcel and delivery"), ``top_terms``, ``n_comments``, ``share`` (of all comments),
        ``share_promoter, share_passive, share_detractor`` (share of that group's NPS
        comments that fall in the topic), ``detractor_ratio`` (share_detractor /
        share_promoter), ``mean_sentiment``.
    comments : DataFrame
        One row per comment: the feedback columns plus ``topic`` (null when no term of the
        vocabulary occurs), ``topic_weight``, ``sentiment``, ``nps_group``.
    k_scores : DataFrame
        ``k, coherence, reconstruction_error`` for every k tried (empty when k was given).
    """

    k: int
    topics: pl.DataFrame
    comments: pl.DataFrame = field(repr=False)
    k_scores: pl.DataFrame = field(repr=False)

    def __repr__(self) -> str:
        return f"TopicModel(k={self.k}, {self.comments.height} comments, topics={self.topics['label'].to_list()})"

    def chart(self):  # type: ignore[no-untyped-def]  # altair is imported only when drawing
        """The share of promoter, passive and detractor comments in each topic (grouped bars).

        Draws with :func:`cxlab.display.charts.metrics.topic_share_chart`.
        """
        from cxlab.display.charts.metrics import topic_share_chart

        return topic_share_chart(self)


def _coherence(binary: np.ndarray, components: np.ndarray, top: int = 10) -> float:
    """Mean NPMI of top-term pairs per topic, from document co-occurrence (binary doc × term)."""
    n_docs = binary.shape[0]
    scores = []
    for comp in components:
        idx = np.argsort(-comp, kind="stable")[:top]
        sub = binary[:, idx].astype(float)
        co = sub.T @ sub / n_docs  # P(i, j)
        p = np.diag(co)
        iu = np.triu_indices(len(idx), 1)
        pij = co[iu]
        pi, pj = p[iu[0]], p[iu[1]]
        with np.errstate(divide="ignore", invalid="ignore"):
            npmi = np.where(pij > 0, np.log(pij / (pi * pj)) / -np.log(pij), -1.0)
        npmi = np.where(np.isfinite(npmi), npmi, 0.0)
        scores.append(float(npmi.mean()))
    return float(np.mean(scores))


def _label(terms: list[str], size: int = 3) -> str:
    """The first ``size`` distinct words of a topic's top terms, as a reader writes a list.

    Examples
    --------
    >>> _label(["delivery parcel", "doorstep", "doorstep morning", "fast"])
    'Delivery, parcel and doorstep'
    """
    words: list[str] = []
    for t in terms:
        for w in t.split():
            if w not in words:
                words.append(w)
    chosen = words[:size]
    if not chosen:
        return "Other comments"
    text = chosen[0] if len(chosen) == 1 else ", ".join(chosen[:-1]) + " and " + chosen[-1]
    return text[:1].upper() + text[1:]


#: Words of a topic's representative phrase (longer phrases are cut and end with "…").
PHRASE_WORDS = 8


def _phrases(comments: pl.DataFrame) -> pl.DataFrame:
    """Per topic, the opening clause of the comment that loads most on it (PII-masked).

    The comment is taken from the NPS group the topic leans to: detractors when a larger share
    of the detractors' comments than of the promoters' falls in it, promoters in the opposite
    case, any comment otherwise (no NPS comments, or equal shares). A topic that gathers
    "Quick dispatch, as promised" and "The delivery was late again" is named after the second
    when detractors write it more: the report ranks topics by detractors, and a reader takes
    the name literally. The comment with the highest topic weight in that group (ties: the
    shorter, then alphabetical), masked with :func:`mask_pii` (placeholders removed), cut at
    its first punctuation mark and after :data:`PHRASE_WORDS` words, first letter upper case.
    Null when nothing is left.
    """
    shares = _group_shares(comments)
    d, p = (pl.col(f"share_{g}").fill_null(0.0) for g in ("detractor", "promoter"))
    lean = shares.select(
        "topic",
        pl.when(d > p)
        .then(pl.lit("detractor"))
        .when(p > d)
        .then(pl.lit("promoter"))
        .alias("_lean"),
    )
    clause = (
        strip_controls(mask_pii(pl.col("comment")))
        .str.replace_all(_PLACEHOLDER, " ")
        .str.extract(r"^[\s\W]*([^.,;:!?()\n]+)", 1)
        .str.strip_chars()
        .str.split(" ")
        .list.eval(pl.element().filter(pl.element() != ""))
    )
    return (
        comments.filter(pl.col("topic").is_not_null())
        .join(lean, on="topic", how="left")
        .filter(pl.col("_lean").is_null() | (pl.col("nps_group") == pl.col("_lean")))
        .with_columns(pl.col("comment").str.len_chars().alias("_len"))
        .sort(["topic", "topic_weight", "_len", "comment"], descending=[False, True, False, False])
        .group_by("topic", maintain_order=True)
        .first()
        .select(
            "topic",
            pl.when(clause.list.len() > PHRASE_WORDS)
            .then(clause.list.head(PHRASE_WORDS).list.join(" ") + "…")
            .otherwise(clause.list.join(" "))
            .alias("_p"),
        )
        .select(
            "topic",
            pl.when(pl.col("_p").str.len_chars() > 0)
            .then(pl.col("_p").str.slice(0, 1).str.to_uppercase() + pl.col("_p").str.slice(1))
            .alias("phrase"),
        )
    )


def comment_topics(
    feedback: FrameLike,
    k: int | None = None,
    seed: int = 0,
    *,
    k_range: tuple[int, int] = (3, 8),
    n_terms: int = 8,
    min_df: int = 3,
    max_features: int = 3000,
) -> TopicModel:
    """Topics of the comments with TF-IDF + NMF, named by a representative phrase.

    Comments are PII-masked first and the placeholders removed, so no address or number can
    become a topic term. Terms: unigrams and bigrams of letters, English stop words removed,
    appearing in at least ``min_df`` comments and at most 90% of them.

    Choosing k (when ``k`` is None): NMF (``init="nndsvda"``, deterministic) is fitted for
    every k in ``k_range``; each fit is scored by topic coherence — the mean normalised
    pointwise mutual information (NPMI, −1..1) of the top-10 terms of each topic, from how
    often they occur in the same comment. The k with the highest coherence wins; a larger k
    must beat a smaller one by more than 0.01 (ties go to fewer, broader topics).

    Parameters
    ----------
    feedback : DataFrame or LazyFrame
        Canonical feedback with ``comment`` (``survey`` and ``score`` give the NPS groups).
    k : int or None
        Number of topics (2..20), or None to choose in ``k_range``.
    seed : int
        ``random_state`` of NMF.
    k_range : (int, int)
        Inclusive range of k tried.
    n_terms : int
        Top terms kept per topic (the label uses the first three).
    min_df, max_features : int
        TF-IDF vocabulary limits.

    Returns
    -------
    TopicModel

    Examples
    --------
    >>> texts = ["late delivery parcel", "parcel delivery late again", "delivery late parcel lost",
    ...          "friendly staff helpful", "helpful friendly staff", "staff friendly helpful team",
    ...          "price too high expensive", "expensive price high", "high price expensive plan",
    ...          "parcel late"]
    >>> fb = pl.DataFrame({"customer_id": [str(i) for i in range(10)], "survey": "nps",
    ...                    "score": [2, 3, 1, 10, 9, 10, 6, 7, 5, 4], "comment": texts})
    >>> tm = comment_topics(fb, k=3, min_df=2)
    >>> sorted(tm.topics["words"].to_list())
    ['expensive, high and price', 'friendly, helpful and staff', 'late, parcel and delivery']
    >>> sorted(tm.topics["label"].to_list())
    ['Delivery late parcel lost', 'Friendly staff helpful', 'Price too high expensive']
    """
    from sklearn.decomposition import NMF

    _check_topic_parameters(k, k_range)
    base = _comment_documents(feedback)
    docs = base["_doc"].to_list()
    if len(docs) < 10:
        raise DataError(f"comment_topics needs at least 10 non-empty comments; found {len(docs)}.")
    tfidf, terms = _tfidf(docs, min_df, max_features)

    def fit(kk: int):  # type: ignore[no-untyped-def]
        model = NMF(n_components=kk, init="nndsvda", random_state=seed, max_iter=400)
        W = model.fit_transform(tfidf)
        return model, W

    scores_rows: list[tuple[int, float, float]] = []
    if k is None:
        k, scores_rows = _choose_k(fit, tfidf, len(terms), len(docs), k_range)
    model, W = fit(k)
    top_idx = np.argsort(-model.components_, axis=1, kind="stable")[:, :n_terms]
    top_terms = [terms[row].tolist() for row in top_idx]
    assigned = np.where(W.max(axis=1) > 0, W.argmax(axis=1), -1)
    comments = base.drop("_doc").with_columns(
        pl.Series("topic", assigned, dtype=pl.Int64).replace(-1, None),
        pl.Series("topic_weight", W.max(axis=1), dtype=pl.Float64),
    )
    topics = _topic_table(_topic_names(top_terms, comments), comments)
    k_scores = pl.DataFrame(
        scores_rows,
        schema={"k": pl.Int64, "coherence": pl.Float64, "reconstruction_error": pl.Float64},
        orient="row",
    )
    return TopicModel(k=k, topics=topics, comments=comments, k_scores=k_scores)


def _check_topic_parameters(k: int | None, k_range: tuple[int, int]) -> None:
    """Raise ParameterError unless ``k`` is None or in [2, 20] and ``k_range`` is within it."""
    if k is not None and (not isinstance(k, int) or not 2 <= k <= 20):
        raise ParameterError(
            f"The 'k' parameter of comment_topics must be None or an int in [2, 20]. Got {k!r} instead."
        )
    lo, hi = k_range
    if not (isinstance(lo, int) and isinstance(hi, int) and 2 <= lo <= hi <= 20):
        raise ParameterError(
            f"The 'k_range' parameter must be (low, high) ints with 2 <= low <= high <= 20. Got {k_range!r} instead."
        )


def _comment_documents(feedback: FrameLike) -> pl.DataFrame:
    """The non-empty comments in a fixed order, with their NPS group, sentiment and ``_doc``.

    ``_doc`` is the comment PII-masked, the placeholders blanked out and lower-cased: the text
    the topic model reads.
    """
    lf = as_lazy(feedback, "feedback", ["comment"])
    names = lf.collect_schema().names()
    group = nps_group_expr("score") if "score" in names else pl.lit(None, dtype=pl.String)
    if "survey" in names:
        group = pl.when(pl.col("survey") == "nps").then(group)
    order = [c for c in ("customer_id", "timestamp", "source_row") if c in names]
    base = lf.filter(pl.col("comment").str.strip_chars().str.len_chars() > 0)
    if order:
        base = base.sort(order, nulls_last=True)
    base = base.with_columns(
        group.cast(pl.String).alias("nps_group"),
        mask_pii(pl.col("comment"))
        .str.replace_all(_PLACEHOLDER, " ")
        .str.to_lowercase()
        .alias("_doc"),
    ).collect()
    if "sentiment" not in base.columns:
        base = comment_sentiment(base)
    return base


def _tfidf(docs: list[str], min_df: int, max_features: int):  # type: ignore[no-untyped-def]
    """``(TF-IDF matrix, terms)`` of the documents: letter uni- and bigrams, no stop words."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(
        stop_words="english",
        ngram_range=(1, 2),
        min_df=min_df,
        max_df=0.9,
        max_features=max_features,
        token_pattern=r"(?u)\b[^\W\d_]{2,}\b",
        sublinear_tf=True,
    )
    try:
        tfidf = vec.fit_transform(docs)
    except ValueError:
        raise DataError(
            f"comment_topics found no term in at least min_df={min_df} comments. Lower min_df."
        ) from None
    return tfidf, np.array(vec.get_feature_names_out())


def _choose_k(  # type: ignore[no-untyped-def]
    fit, tfidf, n_vocab: int, n_docs: int, k_range: tuple[int, int]
) -> tuple[int, list[tuple[int, float, float]]]:
    """``(k, [(k, coherence, reconstruction error), ...])``: the most coherent k in range.

    A larger k must beat a smaller one by more than 0.01 of coherence (ties go to fewer,
    broader topics).
    """
    lo, hi = k_range
    binary = (tfidf > 0).astype(np.int8).toarray()
    scores_rows = []
    best: tuple[float, int] | None = None
    for kk in range(lo, min(hi, n_vocab - 1, n_docs - 1) + 1):
        model, _ = fit(kk)
        coh = _coherence(binary, model.components_)
        scores_rows.append((kk, coh, float(model.reconstruction_err_)))
        if best is None or coh > best[0] + 0.01:
            best = (coh, kk)
    if best is None:
        raise DataError(
            f"comment_topics: vocabulary of {n_vocab} terms is too small for {lo} topics."
        )
    return best[1], scores_rows


def _topic_names(top_terms: list[list[str]], comments: pl.DataFrame) -> pl.DataFrame:
    """``topic, label, words, top_terms``: each topic's phrase (or its words) as the label."""
    return (
        pl.DataFrame(
            {
                "topic": list(range(len(top_terms))),
                "words": [_label(t) for t in top_terms],
                "top_terms": top_terms,
            },
            schema={"topic": pl.Int64, "words": pl.String, "top_terms": pl.List(pl.String)},
        )
        .join(_phrases(comments), on="topic", how="left")
        .with_columns(
            pl.coalesce("phrase", "words").alias("label"),
            pl.col("words").str.to_lowercase(),
        )
        .select("topic", "label", "words", "top_terms")
    )


def _group_shares(comments: pl.DataFrame) -> pl.DataFrame:
    """``topic, share_promoter, share_passive, share_detractor``: each NPS group's comments
    with a topic, split by topic (a group's shares sum to 1 over the topics)."""
    with_topic = comments.filter(pl.col("topic").is_not_null())
    group_n = with_topic.group_by("nps_group").agg(pl.len().alias("_gn"))
    shares = (
        with_topic.filter(pl.col("nps_group").is_not_null())
        .group_by("topic", "nps_group")
        .agg(pl.len().alias("_n"))
        .join(group_n, on="nps_group")
        .with_columns((pl.col("_n") / pl.col("_gn")).alias("share"))
        .pivot("nps_group", index="topic", values="share", on_columns=list(_NPS_GROUPS))
    )
    for g in _NPS_GROUPS:
        if g not in shares.columns:
            shares = shares.with_columns(pl.lit(None, dtype=pl.Float64).alias(g))
    return shares.select("topic", *[pl.col(g).alias(f"share_{g}") for g in _NPS_GROUPS])


def _topic_table(names: pl.DataFrame, comments: pl.DataFrame) -> pl.DataFrame:
    """:attr:`TopicModel.topics`: the names with counts, shares and mean sentiment."""
    total = comments.filter(pl.col("topic").is_not_null()).height
    counts = comments.group_by("topic").agg(
        pl.len().cast(pl.Int64).alias("n_comments"),
        pl.col("sentiment").mean().alias("mean_sentiment"),
    )
    return (
        names.join(counts, on="topic", how="left")
        .join(_group_shares(comments), on="topic", how="left")
        .with_columns(
            pl.col("n_comments").fill_null(0),
            (pl.col("n_comments").fill_null(0) / max(total, 1)).alias("share"),
            *[pl.col(f"share_{g}").fill_null(0.0) for g in _NPS_GROUPS],
        )
        .with_columns(
            (pl.col("share_detractor") / pl.col("share_promoter")).alias("detractor_ratio")
        )
        .select(
            "topic",
            "label",
            "words",
            "top_terms",
            "n_comments",
            "share",
            "share_promoter",
            "share_passive",
            "share_detractor",
            "detractor_ratio",
            "mean_sentiment",
        )
        .sort("topic")
    )


def representative_verbatims(
    topics: TopicModel, n: int = 3, *, topic: int | None = None
) -> pl.DataFrame:
    """The ``n`` distinct comments that load most on each topic, PII-masked and HTML-escaped.

    A comment written word for word by several customers is shown once (with the score of the
    first of them in the ranking order).

    Parameters
    ----------
    topics : TopicModel
        From :func:`comment_topics`.
    n : int
        Verbatims per topic.
    topic : int or None
        Only this topic.

    Returns
    -------
    DataFrame
        ``topic, label, rank, verbatim`` (safe to render), ``score, nps_group, sentiment,
        topic_weight``; sorted by topic and rank. Ties in weight go to the shorter comment, then
        alphabetical order, so the choice is deterministic.

    Examples
    --------
    >>> texts = ["late delivery parcel a@b.com", "parcel delivery late again", "delivery late parcel lost",
    ...          "friendly staff <b>helpful</b>", "helpful friendly staff", "staff friendly helpful team",
    ...          "price too high expensive", "expensive price high", "high price expensive plan", "late price"]
    >>> fb = pl.DataFrame({"customer_id": [str(i) for i in range(10)], "survey": "nps",
    ...                    "score": [2, 3, 1, 10, 9, 10, 6, 7, 5, 4], "comment": texts})
    >>> v = representative_verbatims(comment_topics(fb, k=3, min_df=2), n=10)
    >>> any("<b>" in t or "@" in t for t in v["verbatim"].to_list())
    False
    """
    if not isinstance(n, int) or n < 1:
        raise ParameterError(f"The 'n' parameter must be an int >= 1. Got {n!r} instead.")
    c = topics.comments.filter(pl.col("topic").is_not_null())
    if topic is not None:
        if topic not in topics.topics["topic"].to_list():
            raise ParameterError(
                f"The 'topic' parameter must be one of {topics.topics['topic'].to_list()}. Got {topic!r} instead."
            )
        c = c.filter(pl.col("topic") == topic)
    cols = [
        x for x in ("survey", "score", "nps_group", "sentiment", "topic_weight") if x in c.columns
    ]
    return (
        c.with_columns(pl.col("comment").str.len_chars().alias("_len"))
        .sort(["topic", "topic_weight", "_len", "comment"], descending=[False, True, False, False])
        .unique(subset=["topic", "comment"], keep="first", maintain_order=True)
        .group_by("topic", maintain_order=True)
        .head(n)
        .with_columns(
            pl.int_range(1, pl.len() + 1).over("topic").alias("rank"),
            safe_text(pl.col("comment")).alias("verbatim"),
        )
        .join(topics.topics.select("topic", "label"), on="topic", how="left", maintain_order="left")
        .select("topic", "label", "rank", "verbatim", *cols)
    )
