#!/usr/bin/env python3
"""TF-IDF + logistic regression reference on the fortunes 10-class task, on Whittle's split.

The held-out 20% is the same texts `whittle train/eval --data fortunes` hold out: this script
reads the corpus as Whittle's FortuneReader does (entries separated by a line holding only
`%`, trimmed, blank ones skipped) and re-implements Whittle's stratified split exactly
(SplitMix64, Lemire's bounded integers, Fisher-Yates per class in class order, largest-remainder
quotas; see src/Whittle/Data/SeededRandom.cs and TensorDataset.Split). It prints the per-class
test counts so they can be compared with the Support column of `whittle eval`.

Usage (needs scikit-learn: apt-get install python3-sklearn):
    /usr/bin/python3 bench/reference/fortunes_tfidf_logreg.py [FORTUNES_DIR] [--seed 0] [--test-fraction 0.2]
"""
import argparse
import hashlib
import math
import os

CATEGORIES = ["computers", "education", "food", "law", "love",
              "politics", "science", "sports", "startrek", "work"]
MASK = (1 << 64) - 1


class SeededRandom:
    """Whittle.Data.SeededRandom: SplitMix64 with Lemire's unbiased bounded integers."""

    def __init__(self, seed):
        self.state = seed & MASK

    def next_uint64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def next_below(self, bound):
        product = self.next_uint64() * bound
        low = product & MASK
        if low < bound:
            threshold = ((1 << 64) - bound) % bound
            while low < threshold:
                product = self.next_uint64() * bound
                low = product & MASK
        return product >> 64

    def shuffle(self, values):
        for i in range(len(values) - 1, 0, -1):
            j = self.next_below(i + 1)
            values[i], values[j] = values[j], values[i]


def read_entries(path):
    entries, current = [], []
    with open(path, encoding="utf-8", errors="replace", newline=None) as f:
        for line in f.read().split("\n"):
            if line == "%":
                text = "\n".join(current).strip()
                if text:
                    entries.append(text)
                current = []
            else:
                current.append(line)
    text = "\n".join(current).strip()
    if text:
        entries.append(text)
    return entries


def stratified_split(labels, classes, fraction, seed):
    """Whittle's TensorDataset.Split(fraction, seed, stratified: true): returns the held-out indices."""
    total = int(math.floor(fraction * len(labels) + 0.5))  # MidpointRounding.AwayFromZero for positives
    members = [[i for i, y in enumerate(labels) if y == c] for c in range(classes)]
    rng = SeededRandom(seed)
    for m in members:
        rng.shuffle(m)
    quota, remainder, assigned = [], [], 0
    for m in members:
        exact = fraction * len(m)
        q = int(math.floor(exact))
        quota.append(q)
        remainder.append(exact - q)
        assigned += q
    order = sorted((c for c in range(classes) if quota[c] < len(members[c])), key=lambda c: (-remainder[c], c))
    for c in order:
        if assigned >= total:
            break
        quota[c] += 1
        assigned += 1
    held = set()
    for c, m in enumerate(members):
        held.update(m[:quota[c]])
    return held


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("directory", nargs="?", default="/usr/share/games/fortunes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--C", type=float, default=10.0)
    args = parser.parse_args()

    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    texts, labels = [], []
    for c, name in enumerate(CATEGORIES):
        entries = read_entries(os.path.join(args.directory, name))
        texts += entries
        labels += [c] * len(entries)
    held = stratified_split(labels, len(CATEGORIES), args.test_fraction, args.seed)
    train = [i for i in range(len(texts)) if i not in held]
    test = sorted(held)
    digest = hashlib.sha256("\x00".join(texts[i] for i in test).encode("utf-8")).hexdigest()[:16]
    print(f"{len(texts)} texts, {len(train)} train, {len(test)} test (sha256 of test texts {digest})")
    print("test per class: " + ", ".join(f"{CATEGORIES[c]} {sum(1 for i in test if labels[i] == c)}" for c in range(len(CATEGORIES))))

    vectorizer = TfidfVectorizer(sublinear_tf=True)
    x_train = vectorizer.fit_transform([texts[i] for i in train])
    x_test = vectorizer.transform([texts[i] for i in test])
    model = LogisticRegression(C=args.C, max_iter=5000)
    model.fit(x_train, [labels[i] for i in train])
    predicted = model.predict(x_test)
    truth = [labels[i] for i in test]
    p, r, f, _ = precision_recall_fscore_support(truth, predicted, average="macro", zero_division=0)
    print(f"TF-IDF (unigrams, sublinear tf) + logistic regression (C={args.C}):")
    print(f"  accuracy {accuracy_score(truth, predicted):.4f}  macro precision {p:.4f}  macro recall {r:.4f}  macro-F1 {f1_score(truth, predicted, average='macro'):.4f}")


if __name__ == "__main__":
    main()
