-- Moderation in layers (issue 3): scoped policies, per-brand lists, models
-- learned from operators' decisions, and what dry-run rules would have done.
-- Every table carries brand_id; every change notifies qy_config so the
-- moderation service reloads the brand without a restart.

-- A policy layer: settings JSON (thresholds, ladder, staff exemption,
-- behaviour limits, nickname format, quiet hours, per-rule overrides) at
-- one scope. Resolution, most specific last: built-in defaults, then
-- brands.settings, then scope brand, region, store, group_type, group
-- (docs/moderation.md).
CREATE TABLE moderation_policies (
    brand_id   bigint NOT NULL REFERENCES brands (id),
    scope      text NOT NULL CHECK (scope IN ('brand', 'region', 'store', 'group_type', 'group')),
    scope_key  text NOT NULL DEFAULT '',          -- region code, store code, group type or group code; '' for brand
    settings   jsonb NOT NULL DEFAULT '{}',
    updated_by text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, scope, scope_key),
    CHECK ((scope = 'brand') = (scope_key = ''))
);
CREATE TRIGGER moderation_policies_notify AFTER INSERT OR UPDATE OR DELETE ON moderation_policies
    FOR EACH ROW EXECUTE FUNCTION qy_notify_config ();

-- Per-brand additions to the rule set: keywords per category, exemptions
-- (words never matched by any keyword or contact rule), allow-listed
-- domains and phone numbers. Merged into the brand's rules at load.
CREATE TABLE moderation_lists (
    brand_id   bigint NOT NULL REFERENCES brands (id),
    list       text NOT NULL CHECK (list IN ('keyword', 'exempt', 'allow_domain', 'allow_phone')),
    category   text NOT NULL DEFAULT '',          -- keyword: ad, fraud, gambling, porn, abuse; else ''
    value      text NOT NULL,
    created_by text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, list, category, value),
    CHECK ((list = 'keyword') = (category <> ''))
);
CREATE TRIGGER moderation_lists_notify AFTER INSERT OR UPDATE OR DELETE ON moderation_lists
    FOR EACH ROW EXECUTE FUNCTION qy_notify_config ();

-- Classifier models of a brand, one row per version, written by qyctl when
-- an operator confirms or overturns a violation (online learning). The
-- service loads the newest version of each category on (re)load; without
-- a row it uses the shipped model file.
CREATE TABLE moderation_models (
    id         bigserial PRIMARY KEY,
    brand_id   bigint NOT NULL REFERENCES brands (id),
    category   text NOT NULL CHECK (category IN ('ad', 'abuse')),
    model      bytea NOT NULL,                    -- the model file (docs/moderation-judge.md, format 1)
    examples   bigint NOT NULL DEFAULT 0,         -- operator decisions learned so far
    reason     text,                              -- e.g. "overturn violation 42"
    created_by text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX moderation_models_latest ON moderation_models (brand_id, category, id DESC);
CREATE TRIGGER moderation_models_notify AFTER INSERT ON moderation_models
    FOR EACH ROW EXECUTE FUNCTION qy_notify_config ();

-- What a dry-run rule would have done. A row with dry_run = true exists
-- only because of dry-run rules (action 'allow', nothing was done).
ALTER TABLE violations ADD COLUMN would_action text;
ALTER TABLE violations ADD COLUMN dry_run boolean NOT NULL DEFAULT false;
CREATE INDEX violations_status ON violations (brand_id, status, created_at);
