#!/bin/sh
# WeCom callback crypto done with openssl(1) alone, independently of the C
# code (services/wecom/wecom_crypto.c), for the tests to check it against.
#   wecom_vector.sh key                          → a random EncodingAESKey (43 chars)
#   wecom_vector.sh encrypt KEY43 RECEIVE_ID [RANDOM_HEX]  < message
#                                                → Encrypt (base64): AES-256-CBC, key = base64(KEY43 "="),
#                                                  iv = its first 16 bytes, 16 random bytes + 4-byte length +
#                                                  message + receive id, PKCS#7 padded to 32
#   wecom_vector.sh sign TOKEN TIMESTAMP NONCE ENCRYPT
#                                                → msg_signature: SHA1 of the four sorted and joined
#   wecom_vector.sh decrypt KEY43 < Encrypt      → the plaintext (random, length, message, receive id)
set -eu
keyhex () { printf '%s=' "$1" | openssl base64 -d -A | od -An -v -tx1 | tr -d ' \n'; }
case "$1" in
key)
    head -c 200 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | head -c 43; echo ;;
encrypt)
    k=$(keyhex "$2"); iv=$(printf '%s' "$k" | cut -c1-32)
    rnd=${4:-$(openssl rand -hex 16)}
    tmp=$(mktemp); cat > "$tmp.msg"
    len=$(wc -c < "$tmp.msg")
    { printf '%s' "$rnd" | xxd -r -p; printf '%08x' "$len" | xxd -r -p; cat "$tmp.msg"; printf '%s' "$3"; } > "$tmp"
    total=$(wc -c < "$tmp"); pad=$((32 - total % 32))
    i=0; while [ $i -lt $pad ]; do printf "\\$(printf '%03o' $pad)" >> "$tmp"; i=$((i + 1)); done
    openssl enc -aes-256-cbc -K "$k" -iv "$iv" -nopad -in "$tmp" | base64 -w0; echo
    rm -f "$tmp" "$tmp.msg" ;;
sign)
    printf '%s\n%s\n%s\n%s\n' "$2" "$3" "$4" "$5" | LC_ALL=C sort | tr -d '\n' | openssl dgst -sha1 -r | cut -d' ' -f1 ;;
decrypt)
    k=$(keyhex "$2"); iv=$(printf '%s' "$k" | cut -c1-32)
    base64 -d | openssl enc -d -aes-256-cbc -K "$k" -iv "$iv" -nopad ;;
*)
    echo "usage: wecom_vector.sh key | encrypt KEY43 RECEIVE_ID [RANDOM_HEX] | sign TOKEN TS NONCE ENCRYPT | decrypt KEY43" >&2; exit 2 ;;
esac
