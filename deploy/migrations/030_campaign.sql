-- Campaigns (playbooks, SOPs): definitions, guards, the scheduler's jobs,
-- activities (check-in, lottery, contest) and measurement. Owned by the
-- campaign service; docs/campaign.md describes the definition file.
--
-- A campaign row with definition '{}' is the foundation's welcome (trigger
-- 'join', template); a row applied from a definition file carries the
-- whole parsed definition in definition and its first template in template.

ALTER TABLE campaigns ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE campaigns ADD COLUMN version integer NOT NULL DEFAULT 1;

-- Guards per brand (group_id 0) with per-group overrides; settings holds
-- only the keys that differ from the defaults (see docs/campaign.md).
CREATE TABLE campaign_guards (
    brand_id   bigint NOT NULL REFERENCES brands (id),
    group_id   bigint NOT NULL DEFAULT 0,            -- 0: the brand's defaults
    settings   jsonb NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, group_id)
);
CREATE TRIGGER campaign_guards_notify AFTER INSERT OR UPDATE OR DELETE ON campaign_guards
    FOR EACH ROW EXECUTE FUNCTION qy_notify_config ();

-- Members who asked not to be contacted by campaigns (keyword or operator).
CREATE TABLE campaign_optouts (
    brand_id   bigint NOT NULL REFERENCES brands (id),
    member_id  bigint NOT NULL REFERENCES members (id),
    source     text NOT NULL,                        -- the message id, or "operator"
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, member_id)
);

-- Tags operators put on members, for member segments.
CREATE TABLE member_tags (
    brand_id   bigint NOT NULL REFERENCES brands (id),
    member_id  bigint NOT NULL REFERENCES members (id),
    tag        text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, member_id, tag)
);

-- One step of one campaign for one group and one period: the scheduler's
-- unit of work. (campaign_id, step, group_id, period) makes scheduling
-- idempotent and delivery_key (the same four) makes the send idempotent at
-- notifier. due_at is the next-run time, so a restart resumes from here.
CREATE TABLE campaign_jobs (
    id            bigserial PRIMARY KEY,
    brand_id      bigint NOT NULL REFERENCES brands (id),
    campaign_id   bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    step          integer NOT NULL,
    group_id      bigint NOT NULL REFERENCES groups (id),
    period        text NOT NULL,                     -- 2026-11-20, g (once), m<member>:<msg>, kw:<window> …
    member_id     bigint NOT NULL DEFAULT 0,         -- the member the step is about (0: the group)
    variant       text NOT NULL DEFAULT '',
    product       text,                              -- purchase reminders: what was bought
    coupon        text,                              -- the coupon the step carries (conversions)
    mentions      bigint[] NOT NULL DEFAULT '{}',    -- members gathered by a folded reply
    fold_msgs     text[] NOT NULL DEFAULT '{}',      -- … and the messages that asked (a redelivery is not asked twice)
    due_at        timestamptz NOT NULL,
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'sent', 'blocked', 'expired', 'cancelled')),
    guard         text,                              -- the guard that blocked (or deferred) it
    deferrals     integer NOT NULL DEFAULT 0,
    promotional   boolean NOT NULL DEFAULT false,
    at_all        boolean NOT NULL DEFAULT false,
    delivery_key  text NOT NULL UNIQUE,
    text          text,                              -- as sent
    sent_mentions text[],                            -- gateway user ids, as sent
    sent_at       timestamptz,                       -- campaign clock
    trigger_msg   text,                              -- the event that caused it …
    trigger_at    timestamptz,                       -- … and when it happened
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (campaign_id, step, group_id, period)
);
CREATE INDEX campaign_jobs_due ON campaign_jobs (due_at) WHERE status = 'pending';
CREATE INDEX campaign_jobs_sent ON campaign_jobs (brand_id, group_id, sent_at) WHERE status = 'sent';
CREATE INDEX campaign_jobs_campaign ON campaign_jobs (brand_id, campaign_id, step);

-- Who a sent job contacted (its subject and the members it mentioned), for
-- the weekly per-member cap.
CREATE TABLE campaign_contacts (
    brand_id    bigint NOT NULL REFERENCES brands (id),
    member_id   bigint NOT NULL,
    campaign_id bigint NOT NULL,
    job_id      bigint NOT NULL REFERENCES campaign_jobs (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL,
    PRIMARY KEY (job_id, member_id)
);
CREATE INDEX campaign_contacts_member ON campaign_contacts (brand_id, member_id, at);

-- Check-ins (签到打卡): one per member, group and local day.
CREATE TABLE campaign_checkins (
    brand_id    bigint NOT NULL REFERENCES brands (id),
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    group_id    bigint NOT NULL,
    member_id   bigint NOT NULL,
    day         date NOT NULL,                       -- brand's local day
    streak      integer NOT NULL,
    points      integer NOT NULL,
    msg_id      text NOT NULL,
    at          timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, group_id, member_id, day)
);
CREATE INDEX campaign_checkins_brand ON campaign_checkins (brand_id, campaign_id, group_id, day);

-- Lottery draws: the seed and the eligible members are kept so anyone can
-- re-run the draw and get the same winners (qyctl campaign draws).
CREATE TABLE campaign_draws (
    brand_id    bigint NOT NULL REFERENCES brands (id),
    job_id      bigint PRIMARY KEY REFERENCES campaign_jobs (id) ON DELETE CASCADE,
    campaign_id bigint NOT NULL,
    group_id    bigint NOT NULL,
    seed        numeric(20) NOT NULL,                -- uint64
    eligible    bigint[] NOT NULL,                   -- member ids, ascending
    winners     bigint[] NOT NULL,
    drawn_at    timestamptz NOT NULL
);

-- Contest entries (征集有奖).
CREATE TABLE campaign_entries (
    brand_id    bigint NOT NULL REFERENCES brands (id),
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    group_id    bigint NOT NULL,
    member_id   bigint NOT NULL,
    msg_id      text NOT NULL,
    kind        text NOT NULL,
    text        text,
    url         text,
    at          timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, msg_id)
);
CREATE INDEX campaign_entries_member ON campaign_entries (brand_id, campaign_id, member_id);

-- Purchases and coupon redemptions attributed to the campaign job that
-- last reached the buyer's group (or carried the redeemed coupon).
CREATE TABLE campaign_conversions (
    brand_id     bigint NOT NULL REFERENCES brands (id),
    msg_id       text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('purchase', 'coupon_redeemed')),
    product      text,
    amount_cents bigint NOT NULL DEFAULT 0,
    group_id     bigint NOT NULL,
    member_id    bigint,
    job_id       bigint NOT NULL REFERENCES campaign_jobs (id) ON DELETE CASCADE,
    campaign_id  bigint NOT NULL,
    step         integer NOT NULL,
    variant      text NOT NULL,
    at           timestamptz NOT NULL,
    PRIMARY KEY (brand_id, msg_id)
);
CREATE INDEX campaign_conversions_campaign ON campaign_conversions (brand_id, campaign_id, step);
