-- Issue 20 §8 and §5: the review queue, and members' reports (举报).
--
-- kind 'flag': a row raised for a person to look at, not by the judge's
-- score: a member's report of a message, an impersonating nickname.
ALTER TABLE violations DROP CONSTRAINT violations_kind_check;
ALTER TABLE violations ADD CONSTRAINT violations_kind_check
    CHECK (kind IN ('content', 'behaviour', 'enforcement', 'flag'));

-- One row per report (a gateway event 'report', a reply saying 举报, or
-- @-ing the brand's account with 举报), idempotent by the report's own
-- message id. weight: what it adds to the reported message's place in the
-- queue (the reporter's trust level, discounted for reports against staff
-- and for a reporter's earlier false reports). status follows the
-- operator's decision on the reported message: 'confirmed' or 'false'.
CREATE TABLE moderation_reports (
    id              bigserial PRIMARY KEY,
    brand_id        bigint NOT NULL REFERENCES brands (id),
    group_id        bigint NOT NULL,
    msg_id          text NOT NULL,                  -- the report itself
    reporter_id     bigint,
    reported_msg_id text,                           -- the message reported (may be unknown)
    reported_id     bigint,                         -- the member reported
    reason          text NOT NULL,                  -- poaching (私加), ad, abuse, fraud, porn, other
    text            text,
    trust_level     int NOT NULL DEFAULT 0,
    against_staff   boolean NOT NULL DEFAULT false,
    weight          real NOT NULL,
    violation_id    bigint,                         -- the queue row it raised or weighed on
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'confirmed', 'false')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (brand_id, msg_id)
);
CREATE INDEX moderation_reports_reporter ON moderation_reports (brand_id, reporter_id, created_at);
CREATE INDEX moderation_reports_violation ON moderation_reports (violation_id);

-- What the console and `qyctl moderation list` read: open decisions a
-- person should look at, highest risk first.
CREATE VIEW moderation_queue AS
SELECT v.brand_id, v.id, v.review_priority AS priority, v.kind, v.category, v.action, v.score, v.strike,
       v.group_id, v.member_id, v.msg_id, v.event_time, v.excerpt, v.rules,
       (SELECT count (*) FROM moderation_reports r WHERE r.violation_id = v.id) AS reports
  FROM violations v
 WHERE v.status = 'open' AND v.review_priority IS NOT NULL;
