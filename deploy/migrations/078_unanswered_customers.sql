-- Issue 20 §3: customers' questions, the staff message that answered each,
-- and the alerts raised for those left waiting (moderation_questions.c).
-- One open question per member and group stands for the ones that follow
-- it ("在吗" again and again is one waiting customer).
CREATE TABLE moderation_questions (
    id           bigserial PRIMARY KEY,
    brand_id     bigint NOT NULL REFERENCES brands (id),
    group_id     bigint NOT NULL,
    store_id     bigint,
    member_id    bigint NOT NULL,
    msg_id       text NOT NULL,
    asked_at     timestamptz NOT NULL,
    answered_at  timestamptz,
    answered_by  bigint,                          -- the staff member whose message answered it
    alerted_at   timestamptz,                     -- the store was alerted
    escalated_at timestamptz,                     -- HQ was alerted
    UNIQUE (brand_id, msg_id)
);
CREATE INDEX moderation_questions_open ON moderation_questions (brand_id, group_id, asked_at) WHERE answered_at IS NULL;
CREATE INDEX moderation_questions_due ON moderation_questions (asked_at) WHERE answered_at IS NULL AND escalated_at IS NULL;
CREATE INDEX moderation_questions_report ON moderation_questions (brand_id, asked_at);
