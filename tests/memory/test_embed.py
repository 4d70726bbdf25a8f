"""The offline embedder against the similarity scores published for all-MiniLM-L6-v2 (sbert.net, "Semantic
Textual Similarity"), so the ONNX graph is the model, not an approximation of it."""

from __future__ import annotations

import numpy as np
import pytest

from core.settings import Settings
from memory.embed import DIM, MiniLMEmbedder, ensure_minilm

PUBLISHED = {  # (sentence 1, sentence 2): cosine similarity to 4 decimals
    ("The new movie is awesome", "The dog plays in the garden"): 0.0543,
    ("The new movie is awesome", "The new movie is so great"): 0.8939,
    ("The new movie is awesome", "A woman watches TV"): -0.0502,
    ("The cat sits outside", "The dog plays in the garden"): 0.2838,
    ("The cat sits outside", "The new movie is so great"): -0.0029,
    ("The cat sits outside", "A woman watches TV"): 0.1310,
    ("A man is playing guitar", "The dog plays in the garden"): 0.2277,
    ("A man is playing guitar", "The new movie is so great"): -0.0136,
    ("A man is playing guitar", "A woman watches TV"): -0.0327,
}


@pytest.fixture(scope="session")
def minilm() -> MiniLMEmbedder:
    return MiniLMEmbedder(ensure_minilm(Settings()))


def test_matches_the_published_similarities(minilm: MiniLMEmbedder) -> None:
    left = sorted({a for a, _ in PUBLISHED})
    right = sorted({b for _, b in PUBLISHED})
    a, b = minilm.embed(left), minilm.embed(right)
    assert a.shape == (3, DIM) and a.dtype == np.float32
    for (s1, s2), expected in PUBLISHED.items():
        got = float(a[left.index(s1)] @ b[right.index(s2)])
        assert got == pytest.approx(expected, abs=6e-4), (s1, s2, got)


def test_batching_and_padding_do_not_change_vectors(minilm: MiniLMEmbedder) -> None:
    texts = ["hi", "my dog Max is a golden retriever and he loves the beach", "no feet pics please", ""]
    together = minilm.embed(texts, batch_size=3)
    minilm.forget_recent()  # else each text alone is read back from the batch's kept vectors
    alone = np.vstack([minilm.embed([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-5)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
