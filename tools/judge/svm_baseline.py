#!/usr/bin/python3
"""The linear reference of issue 20 §10 for `qy-judge eval`.

TF-IDF over character 1-3-grams with sublinear term frequency and a linear
SVM (C = 0.5), trained and measured on exactly the rows `qy-judge train /
eval --split K/N` use (row i of the file, header excluded, is an
evaluation row when i % N == K). Prints the same last line as eval:
precision=P recall=R f1=F fpr=X.

A measurement tool only (Debian python3-sklearn): nothing it trains is
shipped or loaded by the judge.

usage: svm_baseline.py [--split K/N] [--C 0.5] [--ngram 1-3] FILE
"""
import argparse
import sys

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import precision_recall_fscore_support
from sklearn.svm import LinearSVC


def read_rows(path):
    """(label, text) of a `label<TAB>text` file or the customer reviews'
    `negative<TAB>source<TAB>category<TAB>text`, header skipped, as eval."""
    rows = []
    with open(path, encoding="utf-8") as f:
        header = f.readline()
        reviews = header.startswith("negative")
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if reviews and len(parts) >= 4:
                rows.append((int(parts[0]), "\t".join(parts[3:])))
            elif not reviews and len(parts) >= 2:
                rows.append((int(parts[0]), "\t".join(parts[1:])))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", default="0/5")
    ap.add_argument("--C", type=float, default=0.5)
    ap.add_argument("--ngram", default="1-3")
    ap.add_argument("file")
    args = ap.parse_args()
    k, n = (int(x) for x in args.split.split("/"))
    lo, hi = (int(x) for x in args.ngram.split("-"))
    if not (0 <= k < n) or not (1 <= lo <= hi):
        ap.error("bad --split or --ngram")
    rows = read_rows(args.file)
    train = [r for i, r in enumerate(rows) if i % n != k]
    test = [r for i, r in enumerate(rows) if i % n == k]
    vec = TfidfVectorizer(analyzer="char", ngram_range=(lo, hi), sublinear_tf=True)
    x = vec.fit_transform([t for _, t in train])
    clf = LinearSVC(C=args.C)
    clf.fit(x, [y for y, _ in train])
    truth = [y for y, _ in test]
    pred = clf.predict(vec.transform([t for _, t in test]))
    p, r, f, _ = precision_recall_fscore_support(truth, pred, average="binary", zero_division=0)
    fp = sum(1 for y, q in zip(truth, pred) if y == 0 and q == 1)
    neg = sum(1 for y in truth if y == 0)
    print("rows=%d train=%d" % (len(test), len(train)))
    print("precision=%.4f recall=%.4f f1=%.4f fpr=%.4f" % (p, r, f, fp / neg if neg else 0.0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
