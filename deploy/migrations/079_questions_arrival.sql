-- Issue 20 §3: a question is a waiting customer only if it arrived while it
-- was fresh. One that reached moderation long after it was asked (a
-- gateway's backfill, a replay, a simulated day) is history: it counts in
-- the reply-time reports, and never raises an alert now.
ALTER TABLE moderation_questions ADD COLUMN arrived_at timestamptz NOT NULL DEFAULT now ();
