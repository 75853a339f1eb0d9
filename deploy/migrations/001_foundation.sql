-- Qunyun foundation schema. Forward-only: never edit a migration that has
-- shipped; add a new numbered file instead. Every table that holds a
-- brand's data carries brand_id, and every query filters on it.

CREATE TABLE brands (
    id             bigserial PRIMARY KEY,
    code           text NOT NULL UNIQUE,             -- as gateways name the brand
    name           text NOT NULL,
    tz_offset_min  integer NOT NULL DEFAULT 480,     -- days and hours are counted in the brand's zone (China: +08:00)
    gateway_url    text,                             -- where notifier posts outbound messages and actions
    gateway_token  text,                             -- bearer token notifier sends to the gateway
    settings       jsonb NOT NULL DEFAULT '{}',      -- moderation thresholds, ladders, guards (see docs/schema.md)
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE regions (
    id         bigserial PRIMARY KEY,
    brand_id   bigint NOT NULL REFERENCES brands (id),
    code       text NOT NULL,
    name       text NOT NULL,
    UNIQUE (brand_id, code)
);

CREATE TABLE stores (
    id         bigserial PRIMARY KEY,
    brand_id   bigint NOT NULL REFERENCES brands (id),
    region_id  bigint REFERENCES regions (id),
    code       text NOT NULL,
    name       text NOT NULL,
    phone      text,
    UNIQUE (brand_id, code)
);

CREATE TABLE channels (
    id         bigserial PRIMARY KEY,
    brand_id   bigint NOT NULL REFERENCES brands (id),
    store_id   bigint REFERENCES stores (id),
    code       text NOT NULL,                        -- the "state" a QR code or invite link carries
    kind       text NOT NULL DEFAULT 'unknown'
               CHECK (kind IN ('staff_invite', 'qr_poster', 'oa_menu', 'member_invite', 'unknown')),
    name       text,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (brand_id, code)
);

CREATE TABLE groups (
    id          bigserial PRIMARY KEY,
    brand_id    bigint NOT NULL REFERENCES brands (id),
    store_id    bigint REFERENCES stores (id),
    code        text NOT NULL,                       -- the gateway's room id
    name        text NOT NULL,
    type        text NOT NULL DEFAULT 'long_term',   -- long_term, temporary, event, vip, …
    positioning text,                                -- what the group is for (新品, 福利, 会员 …)
    capacity    integer NOT NULL DEFAULT 500,
    tags        text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (brand_id, code)
);
CREATE INDEX groups_store ON groups (brand_id, store_id);

CREATE TABLE members (
    id            bigserial PRIMARY KEY,
    brand_id      bigint NOT NULL REFERENCES brands (id),
    user_id       text NOT NULL,                     -- the gateway's user id
    nickname      text,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (brand_id, user_id)
);

CREATE TABLE memberships (
    brand_id     bigint NOT NULL REFERENCES brands (id),
    group_id     bigint NOT NULL REFERENCES groups (id),
    member_id    bigint NOT NULL REFERENCES members (id),
    role         text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'staff', 'member', 'bot')),
    nickname     text,                               -- group nickname
    joined_at    timestamptz,                        -- NULL: seen talking before any join was reported
    join_scene   text,                               -- staff_invite, qr_scan, member_invite, oa_menu
    channel_id   bigint REFERENCES channels (id),
    inviter      text,
    left_at      timestamptz,                        -- NULL while in the group
    leave_reason text CHECK (leave_reason IN ('left', 'removed', 'unknown')),
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX memberships_brand_member ON memberships (brand_id, member_id);
CREATE INDEX memberships_channel ON memberships (brand_id, channel_id);

-- The message archive: every accepted event, one row, partitioned by day of
-- event_time (UTC). (brand_id, event_time, msg_id) is the de-duplication key:
-- a gateway that re-sends a message re-sends the same msgtime.
CREATE TABLE messages (
    brand_id     bigint NOT NULL,
    event_time   timestamptz NOT NULL,
    msg_id       text NOT NULL,
    group_id     bigint NOT NULL,
    store_id     bigint,
    member_id    bigint,
    kind         text NOT NULL,
    role         text,
    text         text,
    extra        jsonb,                              -- url, mentions, join scene, channel, inviter, product …
    ingest_time  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, event_time, msg_id)
) PARTITION BY RANGE (event_time);

-- Create the day's partition of messages if missing; safe under races.
CREATE FUNCTION qy_ensure_partition (day date) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    name text := 'messages_' || to_char (day, 'YYYYMMDD');
BEGIN
    IF to_regclass (name) IS NULL THEN
        BEGIN
            EXECUTE format ('CREATE TABLE %I PARTITION OF messages FOR VALUES FROM (%L) TO (%L)',
                            name, day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
            EXECUTE format ('CREATE INDEX %I ON %I (brand_id, group_id, event_time)', name || '_group', name);
        EXCEPTION WHEN duplicate_table OR invalid_object_definition THEN
            NULL;   -- another replica created it first
        END;
    END IF;
END $$;

-- Drop partitions wholly older than the given day (retention).
CREATE FUNCTION qy_drop_partitions_before (day date) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n integer := 0;
BEGIN
    FOR r IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'messages'::regclass AND c.relname ~ '^messages_[0-9]{8}$'
               AND to_date (substr (c.relname, 10), 'YYYYMMDD') < day LOOP
        EXECUTE format ('DROP TABLE %I', r.relname);
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;

-- Moderation rules. kind and pattern are described in docs/moderation-judge.md.
CREATE TABLE rules (
    id         bigserial PRIMARY KEY,
    brand_id   bigint NOT NULL REFERENCES brands (id),
    name       text NOT NULL,                        -- e.g. ad.wechat_id
    kind       text NOT NULL,                        -- url, phone, qq, wechat_id, contact_phrase, keyword, regex, msgtype, at_all, classifier, flood
    category   text NOT NULL,                        -- ad, fraud, gambling, porn, abuse, flood, spam_wave, format
    pattern    text NOT NULL DEFAULT '',
    weight     double precision NOT NULL DEFAULT 1.0,
    dry_run    boolean NOT NULL DEFAULT false,
    enabled    boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (brand_id, name)
);

CREATE TABLE violations (
    id          bigserial PRIMARY KEY,
    brand_id    bigint NOT NULL REFERENCES brands (id),
    group_id    bigint NOT NULL,
    member_id   bigint,
    msg_id      text NOT NULL,
    event_time  timestamptz NOT NULL,
    category    text NOT NULL,
    score       double precision NOT NULL,
    action      text NOT NULL,                       -- review, warn, recall, mute, remove, block
    rules       text[] NOT NULL,                     -- names of the rules that hit
    hits        jsonb NOT NULL,                      -- [{rule, category, weight, dry_run, start, end, text}]
    excerpt     text,
    strike      integer NOT NULL DEFAULT 0,          -- the member's strike number this violation counts as (0 = none)
    mute_until  timestamptz,
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'confirmed', 'overturned')),
    decided_by  text,
    decided_at  timestamptz,
    decision_reason text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (brand_id, msg_id)
);
CREATE INDEX violations_member ON violations (brand_id, member_id, created_at);

CREATE TABLE blocks (
    brand_id     bigint NOT NULL REFERENCES brands (id),
    member_id    bigint NOT NULL REFERENCES members (id),
    reason       text NOT NULL,
    violation_id bigint REFERENCES violations (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    lifted_at    timestamptz,
    PRIMARY KEY (brand_id, member_id)
);

CREATE TABLE campaigns (
    id         bigserial PRIMARY KEY,
    brand_id   bigint NOT NULL REFERENCES brands (id),
    name       text NOT NULL,
    trigger    text NOT NULL,                        -- join (welcome); more in later migrations
    template   text NOT NULL,                        -- {nickname} {group} {store}
    enabled    boolean NOT NULL DEFAULT true,
    definition jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (brand_id, name)
);

-- Everything notifier delivers, keyed by its idempotency key.
CREATE TABLE deliveries (
    key             text PRIMARY KEY,
    brand_id        bigint NOT NULL REFERENCES brands (id),
    group_id        bigint,
    kind            text NOT NULL,                   -- post, action, alert
    priority        smallint NOT NULL,               -- 1 action, 2 alert, 3 campaign
    payload         jsonb NOT NULL,                  -- the JSON body posted to the gateway
    source          text,
    event_id        text,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'delivered', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    http_status     integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);
CREATE INDEX deliveries_due ON deliveries (priority, next_attempt_at) WHERE status IN ('pending', 'sending');
CREATE INDEX deliveries_brand ON deliveries (brand_id, created_at);

CREATE TABLE dead_letters (
    id         bigserial PRIMARY KEY,
    brand_id   bigint REFERENCES brands (id),        -- NULL when the brand was unknown
    brand_code text,
    service    text NOT NULL,
    msg_id     text,
    reason     text NOT NULL,
    payload    bytea,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dead_letters_brand ON dead_letters (brand_id, created_at);
-- A retried batch must not set the same item aside twice.
CREATE UNIQUE INDEX dead_letters_once ON dead_letters (service, brand_code, msg_id) WHERE msg_id <> '';

-- Roll-ups written by scoring from its Redis counters (absolute values, so
-- writing the same day twice is harmless).
CREATE TABLE daily_group_stats (
    brand_id        bigint NOT NULL REFERENCES brands (id),
    group_id        bigint NOT NULL REFERENCES groups (id),
    day             date NOT NULL,                   -- in the brand's time zone
    messages        bigint NOT NULL DEFAULT 0,
    active_members  bigint NOT NULL DEFAULT 0,
    joins           bigint NOT NULL DEFAULT 0,
    leaves          bigint NOT NULL DEFAULT 0,
    violations      bigint NOT NULL DEFAULT 0,
    hour_hist       bigint[] NOT NULL DEFAULT '{}',  -- messages per hour of day, 24 entries
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, day)
);
CREATE INDEX daily_group_stats_brand ON daily_group_stats (brand_id, day);

CREATE TABLE daily_member_stats (
    brand_id   bigint NOT NULL REFERENCES brands (id),
    group_id   bigint NOT NULL REFERENCES groups (id),
    member_id  bigint NOT NULL REFERENCES members (id),
    day        date NOT NULL,
    messages   bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, member_id, day)
);
CREATE INDEX daily_member_stats_brand ON daily_member_stats (brand_id, day);

CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    brand_id    bigint REFERENCES brands (id),
    actor       text NOT NULL,                       -- operator name, or a service
    action      text NOT NULL,
    object_type text NOT NULL,
    object_id   text,
    detail      jsonb NOT NULL DEFAULT '{}',
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_brand ON audit_log (brand_id, at);

-- Services reload rules and campaigns when they change.
CREATE FUNCTION qy_notify_config () RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify ('qy_config', TG_TABLE_NAME || ':' || COALESCE (NEW.brand_id, OLD.brand_id));
    RETURN NULL;
END $$;
CREATE TRIGGER rules_notify AFTER INSERT OR UPDATE OR DELETE ON rules
    FOR EACH ROW EXECUTE FUNCTION qy_notify_config ();
CREATE TRIGGER campaigns_notify AFTER INSERT OR UPDATE OR DELETE ON campaigns
    FOR EACH ROW EXECUTE FUNCTION qy_notify_config ();
CREATE FUNCTION qy_notify_brand () RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify ('qy_config', 'brands:' || NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER brands_notify AFTER UPDATE ON brands
    FOR EACH ROW EXECUTE FUNCTION qy_notify_brand ();
