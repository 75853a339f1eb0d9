#!/bin/sh
#  tools/judge/decision_moves.py: the integration cases' texts are found
#  (a text a case sends among them, no JSON or SQL), the same dump twice
#  moves nothing, a rule change that sends contact details to recall
#  moves those texts up (and names them), and --help acts on nothing.
#  usage: decision_moves.sh QY_JUDGE SOURCE_DIR
set -eu
J=$1 SRC=$2
TOOL="/usr/bin/python3 $SRC/tools/judge/decision_moves.py"
DIR=$(mktemp -d /tmp/decision_moves_XXXXXX)
trap 'rm -rf "$DIR"' EXIT INT TERM
fail () { echo "FAIL: $1" >&2; exit 1; }
$TOOL texts > "$DIR/texts.tsv"
rows=$(($(wc -l < "$DIR/texts.tsv") - 1))
[ "$rows" -ge 200 ] || fail "only $rows texts found"
grep -qx '0	加微信 abc123' "$DIR/texts.tsv" || fail "a text of moderation's cases is missing"
! grep -q '[{}"]' "$DIR/texts.tsv" || fail "JSON taken for a message"
"$J" eval --category ad --dump "$DIR/before.tsv" "$DIR/texts.tsv" >/dev/null
$TOOL compare "$DIR/before.tsv" "$DIR/before.tsv" > "$DIR/same.txt"
grep -qx "rows=$rows up=0 down=0" "$DIR/same.txt" || fail "the same dump moved: $(cat "$DIR/same.txt")"
#  The WeChat-ID rule at 1.0 instead of 0.5: `加微信 abc123` moves up
sed 's/^\(ad\.wechat_id\twechat_id\tad\t\)0\.5/\11.0/' "$SRC/services/moderation/judge/default_rules.tsv" > "$DIR/rules.tsv"
cmp -s "$DIR/rules.tsv" "$SRC/services/moderation/judge/default_rules.tsv" && fail "rule not changed"
"$J" eval --category ad --rules "$DIR/rules.tsv" --dump "$DIR/after.tsv" "$DIR/texts.tsv" >/dev/null
$TOOL compare "$DIR/before.tsv" "$DIR/after.tsv" 100 > "$DIR/moved.txt"
cat "$DIR/moved.txt"
head -1 "$DIR/moved.txt" | grep -q "up=[1-9][0-9]* down=0$" || fail "no move up counted"
grep -q '^up .*(加微信 abc123)$' "$DIR/moved.txt" || fail "the moved text is not named"
#  --help and a stray option act on nothing
for args in "--help" "texts --help" "compare --help x y"; do
    rc=0; $TOOL $args > "$DIR/out.txt" 2>/dev/null || rc=$?
    [ "$rc" = 2 ] && [ ! -s "$DIR/out.txt" ] || fail "'$args' acted (exit $rc)"
done
echo "decision_moves: $rows texts, the same dump moves none, a rule change moves them up"
