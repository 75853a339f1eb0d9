-- The ZeroMQ gateway door with CURVE (docs/gateway.md): one key pair per
-- gateway, made by `qyctl gatekey create`. Only the public key is kept
-- here (Z85, 40 characters); the secret key goes to a file for the
-- gateway and never into PostgreSQL. A key belongs to exactly one brand:
-- ingest refuses a batch arriving over it with events of another brand.
CREATE TABLE gateway_keys (
    id          bigserial PRIMARY KEY,
    brand_id    bigint NOT NULL REFERENCES brands (id),
    name        text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9._-]{1,64}$'),   -- the connection's User-Id; in logs
    public_key  text NOT NULL UNIQUE CHECK (length (public_key) = 40),
    enabled     boolean NOT NULL DEFAULT true,      -- false: refused at the handshake, kept for the audit trail
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX gateway_keys_brand ON gateway_keys (brand_id);
SELECT qy_rls_cover ('gateway_keys');
-- Nothing the console reads (as gateway_credentials).
REVOKE ALL ON gateway_keys FROM qy_console;
