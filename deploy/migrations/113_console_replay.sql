-- Dead letters replayed from the console (services/console/console_replay.c)
-- with the effect of `qyctl deadletters replay`: a delivery that ran out
-- of attempts is set pending again, and a replay refused again by ingest
-- records ingest's new reason. Both tables are under their brand policy
-- (099), so an HQ user touches only its brand's rows.
GRANT UPDATE (status, attempts, next_attempt_at, lease_until, last_error) ON deliveries TO qy_console;
GRANT UPDATE (failed_again, reason) ON dead_letters TO qy_console;
