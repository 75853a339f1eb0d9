#!/usr/bin/python3
"""Every ordinary customer line the load generator can send, as an eval file.

tools/loadgen/sim.c builds an ordinary member's message from a topic
(with a full-width colon, or none), one of its stock phrases and an
ending. This writes all 14 x 30 x 12 = 5,040 of them with label 0
(`label<TAB>text`, header line), read from sim.c itself so the two never
drift apart, for `qy-judge eval --category ad|abuse FILE`: the share of
ordinary customer chat the judge sends to review (issue 20 §10).

usage: loadgen_lines.py [SIM_C] > FILE
"""
import os
import re
import sys


def strings(src, name):
    m = re.search(r"static const char \*" + name + r" \[\] = \{(.*?)\};", src, re.S)
    if not m:
        sys.exit("%s not found in sim.c" % name)
    return re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "loadgen", "sim.c")
    src = open(path, encoding="utf-8").read()
    chat, topics, endings = strings(src, "s_chat"), strings(src, "s_topics"), strings(src, "s_endings")
    print("label\ttext")
    for topic in topics:
        for phrase in chat:
            for ending in endings:
                print("0\t%s%s%s%s" % (topic, "：" if topic else "", phrase, ending))
    return 0


if __name__ == "__main__":
    sys.exit(main())
