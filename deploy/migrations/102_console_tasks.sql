-- The console closes a staff task by hand as `qyctl tasks done` does
-- (docs/tasks.md): state done_by_note, when, by whom, the note, and the
-- note as the close evidence. staff_tasks is already under its row-level
-- policy (099), so a store user can close only its own groups' tasks.
GRANT UPDATE (state, closed_at, closed_by, note, close_evidence) ON staff_tasks TO qy_console;
-- A campaign paused or resumed from the console, as `qyctl campaign
-- disable|enable` does (campaigns is under its brand policy).
GRANT UPDATE (enabled, updated_at) ON campaigns TO qy_console;
-- A definition applied from the console, as `qyctl campaign apply` writes
-- it: campaigns and guards upserted, planned steps not yet sent dropped
-- for the planner to make again.
GRANT INSERT, UPDATE (trigger, template, definition, enabled, updated_at, version) ON campaigns TO qy_console;
GRANT USAGE ON SEQUENCE campaigns_id_seq TO qy_console;
GRANT INSERT, UPDATE (settings, updated_at) ON campaign_guards TO qy_console;
GRANT DELETE ON campaign_jobs TO qy_console;
