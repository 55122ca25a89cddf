"""TF-IDF similarity between training rows and undesirable outputs: the cheap, model-free
baseline an influence ranking has to beat (a row that *says* what the bad answers say ranks
high whether or not it taught them).

    tf(t, d)  = count of term t in d / number of terms in d
    idf(t)    = ln((1 + N) / (1 + df(t))) + 1      over the N training rows (smoothed)
    score(z, q) = cos(tfidf(z), tfidf(q))
Terms are lower-cased words; the query texts share the training rows' idf.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import torch

_TERM = re.compile(r"[a-z0-9']+")


def terms(text: str) -> list[str]:
    return _TERM.findall(text.lower())


def _vector(counts: Counter[str], idf: dict[str, float], index: dict[str, int]) -> torch.Tensor:
    out = torch.zeros(len(index), dtype=torch.float64)
    total = sum(counts.values())
    for term, n in counts.items():
        if term in index:
            out[index[term]] = n / total * idf[term]
    return out


def tfidf_scores(train_texts: list[str], query_texts: list[str]) -> torch.Tensor:
    """`(N, M)` cosine similarity of every training text to every query text (0 for an empty text)."""
    train_counts = [Counter(terms(t)) for t in train_texts]
    document_frequency: Counter[str] = Counter(term for c in train_counts for term in c)
    n = len(train_texts)
    idf = {t: math.log((1 + n) / (1 + df)) + 1 for t, df in document_frequency.items()}
    index = {t: i for i, t in enumerate(sorted(idf))}
    train = torch.stack([_vector(c, idf, index) for c in train_counts])
    queries = torch.stack([_vector(Counter(terms(q)), idf, index) for q in query_texts])
    return torch.nn.functional.normalize(train, dim=1) @ torch.nn.functional.normalize(queries, dim=1).T
