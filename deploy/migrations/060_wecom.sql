-- The WeCom connector (qy-wecom, docs/wecom.md): per-brand WeCom settings
-- with their secrets sealed, the callbacks kept before they are answered,
-- the chat archive's cursor, and what the outbound edge can do.

-- Shared with the staff task loop (migration 065): exactly the same text.
CREATE TABLE IF NOT EXISTS brand_edges (brand_id bigint PRIMARY KEY REFERENCES brands (id) ON DELETE CASCADE, capability text NOT NULL DEFAULT 'gateway' CHECK (capability IN ('gateway', 'official')), updated_at timestamptz NOT NULL DEFAULT now ());

CREATE TABLE IF NOT EXISTS wecom_sends (brand_id bigint NOT NULL REFERENCES brands (id) ON DELETE CASCADE, delivery_key text NOT NULL, msgid text NOT NULL, chat_id text NOT NULL, owner_userid text NOT NULL, status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'not_sent', 'failed')), sent_at timestamptz, checked_at timestamptz, PRIMARY KEY (brand_id, delivery_key));

-- The task loop listens: a row whose status changed (or a new one) wakes it.
CREATE OR REPLACE FUNCTION wecom_sends_notify () RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        PERFORM pg_notify ('qy_wecom_sends', NEW.brand_id::text);
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS wecom_sends_notify ON wecom_sends;
CREATE TRIGGER wecom_sends_notify AFTER INSERT OR UPDATE OF status ON wecom_sends
    FOR EACH ROW EXECUTE FUNCTION wecom_sends_notify ();

-- Secrets are sealed with AES-256-GCM under the master key
-- (QY_WECOM_MASTER_KEY_FILE): base64 of nonce(12) || ciphertext || tag(16).
-- ingest_token_sealed is the bearer token of the connector's own gateway
-- credential at ingest (gateway_credentials name 'wecom-<brand code>').
CREATE TABLE IF NOT EXISTS wecom_brands (
    brand_id              bigint PRIMARY KEY REFERENCES brands (id) ON DELETE CASCADE,
    corp_id               text NOT NULL,
    agent_id              bigint NOT NULL,
    token_sealed          text NOT NULL,
    aes_key_sealed        text NOT NULL,
    secret_sealed         text NOT NULL,
    contact_secret_sealed text,
    archive_key_sealed    text,
    archive_secret_sealed text,
    ingest_token_sealed   text NOT NULL,
    updated_at            timestamptz NOT NULL DEFAULT now ()
);

-- Every callback that passed its signature, kept before WeCom is answered;
-- forwarded to ingest from here (status), so none is lost if ingest is slow.
CREATE TABLE IF NOT EXISTS wecom_callbacks (
    id          bigserial PRIMARY KEY,
    brand_id    bigint NOT NULL REFERENCES brands (id) ON DELETE CASCADE,
    signature   text NOT NULL,
    nonce       text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now (),
    event       text NOT NULL,                 -- change_external_chat, change_external_contact, …
    xml         text NOT NULL,                 -- the decrypted XML
    status      text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'done', 'rejected', 'kept')),
    attempts    integer NOT NULL DEFAULT 0,
    next_at     timestamptz NOT NULL DEFAULT now (),
    error       text,
    done_at     timestamptz,
    UNIQUE (brand_id, signature, nonce)
);
CREATE INDEX IF NOT EXISTS wecom_callbacks_due ON wecom_callbacks (next_at) WHERE status = 'pending';

-- The chat archive's cursor: the last seq handed to ingest and accepted.
CREATE TABLE IF NOT EXISTS wecom_archive_cursor (
    brand_id   bigint PRIMARY KEY REFERENCES brands (id) ON DELETE CASCADE,
    seq        bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now ()
);
