#!/usr/bin/python3
"""Which texts of the integration cases a model or rule change moves a decision level.

A new model can score better on the labelled sets and still change what
the integration cases expect (judge3 found a blend that moved 22-61 of
their texts up a level: `今天天气不错` into review). This makes that check
repeatable:

  decision_moves.py texts [DIR] > FILE
      every quoted string holding a Han character in the files under DIR
      (default: tests/integration next to this tool), once each, as a
      `label<TAB>text` eval file with label 0;
  decision_moves.py compare BEFORE AFTER [N]
      two `qy-judge eval --dump` files of the same rows (the same FILE,
      before and after the change): the decision level of each row's
      side score (review 0.5, recall 1, mute 2, remove 3: the default
      thresholds, judge_thresholds_default) before and after; prints how
      many moved up and down and up to N (default 10) of each. Exit 1 if
      the two files do not hold the same texts.

usage:
  T=$(mktemp) && tools/judge/decision_moves.py texts > $T
  qy-judge eval --category ad --dump before.tsv $T      # then change, and
  qy-judge eval --category ad --dump after.tsv --model NEW $T
  tools/judge/decision_moves.py compare before.tsv after.tsv
"""
import json
import os
import re
import sys

HAN = re.compile(r"[\u4e00-\u9fff]")
QUOTED = (re.compile(r'"((?:\\.|[^"\\\n])*)"'), re.compile(r"'([^'\n]*)'"))
NOT_A_MESSAGE = re.compile(r'[{}"]|^[/.]|%l?l?[dsu]|\bVALUES\b|^\w+ - ')
LEVELS = (0.5, 1.0, 2.0, 3.0)
NAMES = ("allow", "review", "recall", "mute", "remove")


def texts(root):
    found = set()
    for folder, _, files in os.walk(root):
        for name in files:
            try:
                src = open(os.path.join(folder, name), encoding="utf-8").read()
            except (UnicodeDecodeError, OSError):
                continue
            for pattern in QUOTED:
                for m in pattern.finditer(src):
                    text = m.group(1)
                    if not HAN.search(text):
                        continue
                    if pattern is QUOTED[0]:
                        try:  # JSON escapes (\u00a0, \") as the cases send them
                            text = json.loads('"' + text + '"')
                        except ValueError:
                            pass
                    text = " ".join(text.split())
                    #  a JSON object, a command or a query quoted whole is no message
                    if text and not NOT_A_MESSAGE.search(text):
                        found.add(text)
    print("label\ttext")
    for text in sorted(found):
        print("0\t" + text)
    return 0


def level(score):
    return sum(1 for t in LEVELS if float(score) >= t - 1e-9)


def read_dump(path):
    # label, flagged, side score, p_ad, p_abuse, rules, text
    return [line.rstrip("\n").split("\t") for line in open(path, encoding="utf-8")]


def compare(before_path, after_path, shown):
    before, after = read_dump(before_path), read_dump(after_path)
    if [r[-1] for r in before] != [r[-1] for r in after]:
        print("the two dumps do not hold the same texts", file=sys.stderr)
        return 1
    moves = {"up": [], "down": []}
    for b, a in zip(before, after):
        lb, la = level(b[2]), level(a[2])
        if la != lb:
            moves["up" if la > lb else "down"].append((b, a, lb, la))
    print("rows=%d up=%d down=%d" % (len(before), len(moves["up"]), len(moves["down"])))
    for way in ("up", "down"):
        for b, a, lb, la in moves[way][:shown]:
            print("%s %s %s -> %s %s (%s)" % (way, b[2], NAMES[lb], a[2], NAMES[la], a[-1]))
    return 0


def main():
    args = sys.argv[1:]
    here = os.path.dirname(os.path.abspath(__file__))
    if any(a.startswith("-") for a in args):     # --help or an option: act on nothing
        args = []
    if len(args) in (1, 2) and args[0] == "texts":
        root = args[1] if len(args) == 2 else os.path.join(here, "..", "..", "tests", "integration")
        if not os.path.isdir(root):
            print("%s: no such folder" % root, file=sys.stderr)
            return 1
        return texts(root)
    if len(args) in (3, 4) and args[0] == "compare" and (len(args) == 3 or args[3].isdigit()):
        return compare(args[1], args[2], int(args[3]) if len(args) == 4 else 10)
    print(__doc__.split("usage:")[0].strip(), file=sys.stderr)
    print("usage: decision_moves.py texts [DIR] | compare BEFORE AFTER [N]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
