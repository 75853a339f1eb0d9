-- The console's rights on what the branches merged beside it brought
-- (099 already put every brand table under its row-level policy).
--   moderation_reports: a decision in the review queue settles the members'
--     reports of that message, and a confirmed report of private poaching
--     turns the flag into a content strike (moderation_decide.c), so the
--     console updates those columns as qyctl does.
--   wecom_brands holds a brand's sealed WeCom secrets: like
--     gateway_credentials, nothing the console reads, policy or not.
GRANT UPDATE (status) ON moderation_reports TO qy_console;
GRANT UPDATE (kind, category, strike) ON violations TO qy_console;
REVOKE ALL ON wecom_brands FROM qy_console;
