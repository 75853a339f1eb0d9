-- The staff task loop (issue 16 §6, docs/tasks.md). On WeCom's official API
-- no program may recall a customer's message, mute or remove a customer,
-- and a mass post into a group goes out only when the owning staff member
-- confirms it: for a brand whose edge is 'official' such work becomes a
-- task for a person, which notifier hands over, reminds, escalates and
-- closes on evidence.

-- What a brand's edge can do (shared with the WeCom connector, whose
-- migration 060 creates the same table). A brand with no row is 'gateway'.
CREATE TABLE IF NOT EXISTS brand_edges (brand_id bigint PRIMARY KEY REFERENCES brands (id) ON DELETE CASCADE, capability text NOT NULL DEFAULT 'gateway' CHECK (capability IN ('gateway', 'official')), updated_at timestamptz NOT NULL DEFAULT now ());

-- What the connector learnt of each mass send it created (add_msg_template
-- and the group-send result APIs): the evidence that closes a post task and
-- the count of posts staff actually sent. Shared with the connector.
CREATE TABLE IF NOT EXISTS wecom_sends (brand_id bigint NOT NULL REFERENCES brands (id) ON DELETE CASCADE, delivery_key text NOT NULL, msgid text NOT NULL, chat_id text NOT NULL, owner_userid text NOT NULL, status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'not_sent', 'failed')), sent_at timestamptz, checked_at timestamptz, PRIMARY KEY (brand_id, delivery_key));

-- Exactly the text of the connector's 060: whichever runs last leaves the
-- same function and trigger.
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

-- Who a task escalates to: the store's manager, then the region's (WeCom
-- user ids and the names notices use).
ALTER TABLE stores ADD COLUMN IF NOT EXISTS manager_userid text;
ALTER TABLE stores ADD COLUMN IF NOT EXISTS manager_name text;
ALTER TABLE regions ADD COLUMN IF NOT EXISTS manager_userid text;
ALTER TABLE regions ADD COLUMN IF NOT EXISTS manager_name text;

-- One task for a person. source_key names what caused it (the delivery key
-- of a post; "mod:<brand>:<message>:<group>:<kind>" for moderation, so the
-- recall, warning and mute of one message are one task), which makes
-- recording it idempotent. stage is how far the ladder went: 0 nothing sent,
-- 1 handed over, 2 reminded, 3 escalated to the store manager, 4 to the region.
CREATE TABLE IF NOT EXISTS staff_tasks (
    id              bigserial PRIMARY KEY,
    brand_id        bigint NOT NULL REFERENCES brands (id) ON DELETE CASCADE,
    source_key      text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('post', 'answer', 'remove', 'recall_warn')),
    group_id        bigint REFERENCES groups (id),
    store_id        bigint REFERENCES stores (id),
    member_id       bigint REFERENCES members (id),   -- the member it is about (remove, recall_warn, answer)
    member_user     text,                             -- … as the gateway names them
    content         text,                             -- what to post, or the warning to give
    target_msg_id   text,                             -- the message to recall
    mute_until      timestamptz,                      -- the mute Qunyun decided (WeCom has none)
    reason          text,                             -- the category or guard that caused it
    violation_id    bigint REFERENCES violations (id),
    delivery_key    text,                             -- a post's delivery (wecom_sends.delivery_key)
    campaign_job_id bigint,                           -- a post's SOP job, if any
    evidence_msg_id text,                             -- the customer's message that caused it
    evidence_text   text,
    evidence_at     timestamptz,
    owner_userid    text,                             -- the group's owner (groupchat/get), found when handed over
    assignee        text,                             -- who must act now (WeCom user id)
    assignee_name   text,
    level           text NOT NULL DEFAULT 'owner' CHECK (level IN ('owner', 'manager', 'region', 'hq')),
    state           text NOT NULL DEFAULT 'open'
                    CHECK (state IN ('open', 'reminded', 'escalated', 'done', 'done_by_note', 'expired', 'cancelled')),
    stage           smallint NOT NULL DEFAULT 0,
    handovers       integer NOT NULL DEFAULT 0,       -- reassignments (each one hands over again)
    created_at      timestamptz NOT NULL DEFAULT now (),
    due_at          timestamptz,                      -- set when handed over (the kind's deadline)
    notified_at     timestamptz,
    reminded_at     timestamptz,
    escalated_at    timestamptz,
    next_at         timestamptz NOT NULL DEFAULT now (),  -- when the loop looks at it again
    closed_at       timestamptz,
    closed_by       text,                             -- 'wecom', 'archive', or the staff member / operator with a note
    close_evidence  text,
    note            text,
    UNIQUE (brand_id, source_key)
);
CREATE INDEX IF NOT EXISTS staff_tasks_open ON staff_tasks (next_at) WHERE state IN ('open', 'reminded', 'escalated');
CREATE INDEX IF NOT EXISTS staff_tasks_brand ON staff_tasks (brand_id, created_at);
CREATE INDEX IF NOT EXISTS staff_tasks_delivery ON staff_tasks (brand_id, delivery_key) WHERE delivery_key IS NOT NULL;
