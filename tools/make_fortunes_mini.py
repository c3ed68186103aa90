#!/usr/bin/env python3
"""Makes data/fortunes-mini: a small sample of the fortunes corpus for tests and the demo.

Source: the Debian package `fortunes` (/usr/share/games/fortunes). For each of the ten
reference categories, 40 entries of at most 600 characters are drawn with a fixed seed and
written in their original order in the fortune format (entries separated by a line holding
only `%`). Run from the repository root:

    /usr/bin/python3 tools/make_fortunes_mini.py [SOURCE_DIR]
"""
import os
import random
import sys

CATEGORIES = ["computers", "education", "food", "law", "love",
              "politics", "science", "sports", "startrek", "work"]
PER_CATEGORY = 40
MAX_CHARS = 600
SEED = 0


def entries(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    current, result = [], []
    for line in text.split("\n"):
        if line == "%":
            entry = "\n".join(current).strip()
            if entry:
                result.append(entry)
            current = []
        else:
            current.append(line)
    entry = "\n".join(current).strip()
    if entry:
        result.append(entry)
    return result


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/games/fortunes"
    target = os.path.join("data", "fortunes-mini")
    os.makedirs(target, exist_ok=True)
    rng = random.Random(SEED)
    for category in CATEGORIES:
        pool = [e for e in entries(os.path.join(source, category)) if len(e) <= MAX_CHARS]
        chosen = sorted(rng.sample(range(len(pool)), PER_CATEGORY))
        with open(os.path.join(target, category), "w", encoding="utf-8") as f:
            for i in chosen:
                f.write(pool[i] + "\n%\n")
    with open(os.path.join(target, "README.md"), "w", encoding="utf-8") as f:
        f.write("# fortunes-mini\n\n"
                f"{PER_CATEGORY} entries from each of {len(CATEGORIES)} categories of the Debian package "
                "`fortunes` (`/usr/share/games/fortunes`), drawn with seed "
                f"{SEED} by `tools/make_fortunes_mini.py`, in the fortune format "
                "(entries separated by a line holding only `%`). For tests and the demo; "
                "the reference numbers use the full corpus.\n")


if __name__ == "__main__":
    main()
