-- Gateways in and out (docs/gateway.md).

-- Who may call ingest's HTTP front door. Each credential belongs to exactly
-- one brand: everything it sends is that brand's, whatever the body says.
-- Bearer tokens are kept only as their SHA-256 (a leaked table leaks no
-- token); an HMAC secret must be kept as is to verify signatures.
CREATE TABLE gateway_credentials (
    id           bigserial PRIMARY KEY,
    brand_id     bigint NOT NULL REFERENCES brands (id),
    name         text NOT NULL UNIQUE,               -- X-Qy-Gateway header of signed requests; in logs
    kind         text NOT NULL CHECK (kind IN ('bearer', 'hmac')),
    token_sha256 text UNIQUE,                        -- bearer: lower-case hex SHA-256 of the token
    secret       text,                               -- hmac: the shared secret
    enabled      boolean NOT NULL DEFAULT true,      -- false: answered 403 (revoked), kept for the audit trail
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'bearer' AND token_sha256 IS NOT NULL) OR (kind = 'hmac' AND secret IS NOT NULL))
);
CREATE INDEX gateway_credentials_brand ON gateway_credentials (brand_id);

-- Where operator alerts go: a WeCom group-robot webhook per store (its
-- staff, for their own groups) and one per brand with store_id NULL (HQ,
-- for brand-wide alerts such as spam waves, and for stores without one).
CREATE TABLE alert_routes (
    id                    bigserial PRIMARY KEY,
    brand_id              bigint NOT NULL REFERENCES brands (id),
    store_id              bigint REFERENCES stores (id),
    webhook_url           text NOT NULL,
    msgtype               text NOT NULL DEFAULT 'markdown' CHECK (msgtype IN ('text', 'markdown')),
    mentioned_list        text[] NOT NULL DEFAULT '{}',
    mentioned_mobile_list text[] NOT NULL DEFAULT '{}',
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX alert_routes_once ON alert_routes (brand_id, coalesce (store_id, 0));

-- Deliveries learn their destination when recorded (an alert's webhook, or
-- the brand's gateway when dest_url is NULL), the member they concern (for
-- per-member limits), and, for alerts folded into a digest, the digest's key.
ALTER TABLE deliveries ADD COLUMN dest_url text;
ALTER TABLE deliveries ADD COLUMN member text;
ALTER TABLE deliveries ADD COLUMN digest_key text;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'sending', 'delivered', 'dead', 'digested'));
CREATE INDEX deliveries_digest ON deliveries (digest_key) WHERE digest_key IS NOT NULL;
CREATE INDEX deliveries_alerts_due ON deliveries (brand_id, dest_url) WHERE status = 'pending' AND kind = 'alert';
