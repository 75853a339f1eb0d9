-- Issue 20 §4: a complaint goes to a person and is tracked to its
-- resolution. A staff member's message in the complaint's group after it
-- answers it (moderation, like an unanswered question); a staff task made
-- from it (official brands: notifier turns the complaint alert into an
-- "answer" task for the group owner) closing done resolves it; one left
-- open past alert.complaint_escalate_s is escalated to HQ once.
ALTER TABLE complaints
    ADD COLUMN arrived_at   timestamptz NOT NULL DEFAULT now (),  -- a replay is history: never escalated
    ADD COLUMN answered_at  timestamptz,              -- the first staff message after it in its group
    ADD COLUMN answered_by  bigint,                   -- that staff member (members.id)
    ADD COLUMN resolved_at  timestamptz,
    ADD COLUMN resolution   text CHECK (resolution IN ('staff_reply', 'task_done', 'task_note')),
    ADD COLUMN escalated_at timestamptz;              -- HQ was told it is still open

-- Complaints escalated before this migration are history: not escalated now.
UPDATE complaints SET arrived_at = event_time;

CREATE INDEX complaints_open ON complaints (brand_id, group_id, event_time) WHERE resolved_at IS NULL;
CREATE INDEX complaints_due ON complaints (event_time) WHERE resolved_at IS NULL AND escalated_at IS NULL;

-- The answer task made from a complaint (kind answer, reason complaint,
-- the complaint's message as its evidence) closing done resolves the
-- complaint, however it closed: on evidence (notifier), or by hand with a
-- note (qyctl tasks done, the console). One trigger for every writer;
-- SECURITY DEFINER because the console's role may close a task but not
-- write complaints.
CREATE FUNCTION qy_complaint_task_closed () RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public AS $$
BEGIN
    UPDATE complaints SET resolved_at = coalesce (NEW.closed_at, now ()),
           resolution = CASE NEW.state WHEN 'done_by_note' THEN 'task_note' ELSE 'task_done' END
    WHERE brand_id = NEW.brand_id AND msg_id = NEW.evidence_msg_id AND resolved_at IS NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER staff_tasks_complaint_closed AFTER UPDATE OF state ON staff_tasks
    FOR EACH ROW WHEN (NEW.kind = 'answer' AND NEW.reason = 'complaint' AND NEW.state IN ('done', 'done_by_note')
                       AND OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION qy_complaint_task_closed ();
