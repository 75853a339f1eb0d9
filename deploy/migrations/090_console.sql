-- The operators' console (issue 17, services/console, docs/api.md): its
-- users, sessions, API tokens and failed-login counters, and the index
-- archive search needs.
--
-- These four tables are the console's own credentials. They carry a brand
-- (a user belongs to one, a platform admin to none) but get no row-level
-- policy: the console must find a session or a login before it knows whose
-- scope to set (099). The console's role reaches them and nothing else
-- reaches them but the owner; no brand's customer data is in them.

CREATE TABLE console_users (
    id            bigserial PRIMARY KEY,
    brand_id      bigint REFERENCES brands (id),        -- NULL: platform admin (every brand)
    login         text NOT NULL UNIQUE,
    role          text NOT NULL CHECK (role IN ('admin', 'hq', 'region', 'store', 'reviewer')),
    region_id     bigint REFERENCES regions (id),       -- role region (or a reviewer of a region)
    store_id      bigint REFERENCES stores (id),        -- role store (or a reviewer of a store)
    password_hash text NOT NULL,                        -- argon2id, libsodium crypto_pwhash_str
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'admin') = (brand_id IS NULL)),
    CHECK (role <> 'region' OR region_id IS NOT NULL),
    CHECK (role <> 'store' OR store_id IS NOT NULL)
);

-- A browser session: the cookie holds a random id, the table its SHA-256
-- (a leaked table opens no session). Shared by every console replica.
CREATE TABLE console_sessions (
    id_sha256  text PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES console_users (id) ON DELETE CASCADE,
    csrf       text NOT NULL,                           -- sent back in X-CSRF-Token on every mutation
    address    text,
    created_at timestamptz NOT NULL DEFAULT now(),
    seen_at    timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);

-- API tokens for integrations: only the SHA-256 is kept; a token acts as
-- its user with at most its role, until it expires or is revoked.
CREATE TABLE console_tokens (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES console_users (id) ON DELETE CASCADE,
    name         text NOT NULL,
    token_sha256 text NOT NULL UNIQUE,
    role         text NOT NULL CHECK (role IN ('admin', 'hq', 'region', 'store', 'reviewer')),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz
);

-- Failed logins per key ('login:NAME' or 'addr:ADDRESS'): past a threshold
-- the key is locked for a time that doubles with each further failure.
CREATE TABLE console_login_failures (
    key          text PRIMARY KEY,
    failures     integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    last_at      timestamptz NOT NULL DEFAULT now()
);

-- Archive search finds Chinese substrings with LIKE '%…%': pg_trgm's GIN
-- index turns a pattern of three characters or more into trigram look-ups
-- (CJK characters make trigrams like any letter). On the partitioned
-- table it is built on every partition, and on each new day's partition
-- as qy_ensure_partition creates it. CONCURRENTLY is not available for a
-- partitioned index: on a large archive, apply this migration in a quiet
-- hour (it blocks writes to messages while it builds).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX messages_text_trgm ON messages USING gin (text gin_trgm_ops);
-- The review queue, and the search by member.
CREATE INDEX messages_member ON messages (brand_id, member_id, event_time);
CREATE INDEX violations_open ON violations (brand_id, created_at) WHERE status = 'open';
