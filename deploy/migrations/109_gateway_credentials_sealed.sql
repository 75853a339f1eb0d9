-- Gateways' HTTP credentials (docs/gateway.md, "Rotation"): HMAC secrets
-- kept sealed (AES-256-GCM under the master key outside PostgreSQL,
-- gateway.master_key_file; the WeCom connector's helper, qy_seal), and a
-- rotation that keeps the previous token or secret valid until its
-- not_after, so a gateway can switch without a gap.
ALTER TABLE gateway_credentials
    ADD COLUMN secret_sealed      text,           -- hmac: the secret, sealed
    ADD COLUMN prev_token_sha256  text,           -- bearer: the previous token's SHA-256, until prev_not_after
    ADD COLUMN prev_secret_sealed text,           -- hmac: the previous secret, sealed, until prev_not_after
    ADD COLUMN prev_not_after     timestamptz,    -- from then on the previous one is refused
    ADD COLUMN rotated_at         timestamptz;
-- A plain secret is what rows made before this migration (or by qyctl
-- without the master key, in development) hold; ingest seals it in place
-- on its next reload when it has the master key, and clears the column.
ALTER TABLE gateway_credentials DROP CONSTRAINT gateway_credentials_check;
ALTER TABLE gateway_credentials ADD CONSTRAINT gateway_credentials_check
    CHECK ((kind = 'bearer' AND token_sha256 IS NOT NULL)
        OR (kind = 'hmac' AND (secret IS NOT NULL OR secret_sealed IS NOT NULL)));
ALTER TABLE gateway_credentials ADD CONSTRAINT gateway_credentials_prev_check
    CHECK ((prev_token_sha256 IS NULL AND prev_secret_sealed IS NULL) OR prev_not_after IS NOT NULL);
