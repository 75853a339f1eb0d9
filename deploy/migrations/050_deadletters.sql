-- Dead letters are replayed once their cause is fixed (qyctl deadletters
-- replay) or closed with a reason (resolve); state says which (open,
-- replayed, resolved). When a replayed item fails again,
-- the service's insert meets the row on its unique index and reopens it
-- with the new reason (common/src/qy_deadletter.c), so one item keeps one
-- row; a resolved row stays closed.
ALTER TABLE dead_letters
    ADD COLUMN replays       integer NOT NULL DEFAULT 0,   -- times qyctl replayed it
    ADD COLUMN replayed_at   timestamptz,                  -- set by a replay that went through
    ADD COLUMN resolved_at   timestamptz,                  -- closed by an operator without a replay
    ADD COLUMN replay_result text,                         -- what the last replay or resolve did
    ADD COLUMN failed_again  integer NOT NULL DEFAULT 0;   -- times it failed again after a replay
ALTER TABLE dead_letters ADD COLUMN state text NOT NULL GENERATED ALWAYS AS (
    CASE WHEN resolved_at IS NOT NULL THEN 'resolved' WHEN replayed_at IS NOT NULL THEN 'replayed' ELSE 'open' END) STORED;
CREATE INDEX dead_letters_open ON dead_letters (id) WHERE state = 'open';
