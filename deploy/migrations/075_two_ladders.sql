-- Issue 20: content and behaviour climb separate ladders, and the review
-- queue holds only what needs a person.
--
-- kind: 'content' (ads, contact poaching, porn, gambling, fraud, abuse,
-- spam waves with evidence of promotion) climbs the penalty ladder;
-- 'behaviour' (flood, repeats, quiet hours, @all) gets reminders and
-- slow-downs and counts as a strike only for a member with recent content
-- strikes; 'enforcement' is a muted or blocked member's message recalled or
-- answered with removal: a record of a penalty applied, not a decision.
ALTER TABLE violations ADD COLUMN kind text NOT NULL DEFAULT 'content'
    CHECK (kind IN ('content', 'behaviour', 'enforcement'));
-- Where the row stands in the review queue (higher first); NULL: no person
-- needs to look at it (moderation_review_priority).
ALTER TABLE violations ADD COLUMN review_priority real;
-- Enforcement records are not open decisions.
ALTER TABLE violations DROP CONSTRAINT violations_status_check;
ALTER TABLE violations ADD CONSTRAINT violations_status_check
    CHECK (status IN ('open', 'confirmed', 'overturned', 'enforced'));

UPDATE violations SET kind = 'enforcement', status = 'enforced'
 WHERE category IN ('mute', 'blocked') AND status = 'open';
UPDATE violations SET kind = 'enforcement' WHERE category IN ('mute', 'blocked');
UPDATE violations SET kind = 'behaviour' WHERE category IN ('flood', 'format');
-- One member's copies in several groups with nothing but the wave charged
-- (no link, contact detail or content rule): a customer repeating a
-- remark, not promotion.
UPDATE violations SET kind = 'behaviour'
 WHERE category = 'spam_wave'
   AND NOT EXISTS (SELECT 1 FROM unnest (rules) r WHERE r NOT LIKE 'behaviour.%');

-- Behaviour strikes stop counting on the content ladder. The number they
-- had is kept in the audit log, one record per row re-classified.
INSERT INTO audit_log (brand_id, actor, action, object_type, object_id, detail)
SELECT brand_id, 'migration 075', 'reclassify', 'violation', id::text,
       jsonb_build_object ('kind', 'behaviour', 'strike', strike, 'category', category)
  FROM violations WHERE kind = 'behaviour' AND strike > 0;
UPDATE violations SET strike = 0 WHERE kind = 'behaviour' AND strike > 0;

-- The queue: open content decisions a person should look at.
UPDATE violations SET review_priority = score + CASE action WHEN 'review' THEN 2.0 WHEN 'block' THEN 1.5 ELSE 1.0 END
 WHERE status = 'open' AND kind = 'content' AND NOT dry_run AND action IN ('review', 'block', 'mute');
CREATE INDEX violations_queue ON violations (brand_id, review_priority DESC)
    WHERE status = 'open' AND review_priority IS NOT NULL;
-- The behaviour ladder counts a member's recent reminders and slow-downs.
CREATE INDEX violations_member_behaviour ON violations (brand_id, member_id, created_at) WHERE kind = 'behaviour';
