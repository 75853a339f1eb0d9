-- Scoring: member standing, group health, channel quality, clean-out
-- suggestions and the finer roll-ups. Written by qy-scoring (absolute
-- values: writing a row twice is harmless); read by qyctl report, and by
-- campaign (member_states, group_states). See docs/scoring.md.

-- More of a group-day, from the same Redis hash as the foundation columns.
ALTER TABLE daily_group_stats
    ADD COLUMN staff_messages bigint NOT NULL DEFAULT 0,   -- from staff, admins, owners and bots
    ADD COLUMN posts          bigint NOT NULL DEFAULT 0,   -- bot posts (campaign posts echoed by the gateway)
    ADD COLUMN post_replies   bigint NOT NULL DEFAULT 0,   -- member messages within the response window of a post
    ADD COLUMN replies        bigint NOT NULL DEFAULT 0,   -- reply edges: quotes, mentions, answers in the window
    ADD COLUMN questions      bigint NOT NULL DEFAULT 0,
    ADD COLUMN answered       bigint NOT NULL DEFAULT 0;   -- questions answered by someone else in the window

-- Messages per hour (the brand's local hour), one row per group-hour with activity.
CREATE TABLE hourly_group_stats (
    brand_id   bigint NOT NULL REFERENCES brands (id),
    group_id   bigint NOT NULL REFERENCES groups (id),
    hour       timestamptz NOT NULL,
    messages   bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now (),
    PRIMARY KEY (group_id, hour)
);
CREATE INDEX hourly_group_stats_brand ON hourly_group_stats (brand_id, hour);

-- The contract with campaign: one row per member currently in a group.
-- A member who left has no row (unknown to campaign).
CREATE TABLE member_states (
    brand_id     bigint NOT NULL REFERENCES brands (id),
    group_id     bigint NOT NULL REFERENCES groups (id),
    member_id    bigint NOT NULL REFERENCES members (id),
    trust_level  int NOT NULL CHECK (trust_level BETWEEN 0 AND 4),
    state        text NOT NULL CHECK (state IN ('new', 'active', 'lurker', 'churn_risk', 'key')),
    activity     double precision NOT NULL,
    contribution double precision NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now (),
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX member_states_brand ON member_states (brand_id, state);

-- Everything scoring knows of a member in a group, in or out (for reports).
CREATE TABLE member_scores (
    brand_id         bigint NOT NULL REFERENCES brands (id),
    group_id         bigint NOT NULL REFERENCES groups (id),
    member_id        bigint NOT NULL REFERENCES members (id),
    in_group         boolean NOT NULL,
    staff            boolean NOT NULL,
    trust_level      int NOT NULL,
    state            text NOT NULL,                  -- as member_states, or 'left'
    messages         bigint NOT NULL,                -- all time (while Redis kept the member)
    active_days      bigint NOT NULL,
    streak           bigint NOT NULL,                -- consecutive active days up to last_active
    first_seen       date,
    joined           date,
    last_active      date,
    replies_received bigint NOT NULL,
    mentions         bigint NOT NULL,
    answered         bigint NOT NULL,
    violations       bigint NOT NULL,
    activity         double precision NOT NULL,      -- decayed, short half-life, as of updated_at
    baseline         double precision NOT NULL,      -- decayed, long half-life
    contribution     double precision NOT NULL,
    channel_id       bigint,                         -- channel of the latest join
    updated_at       timestamptz NOT NULL DEFAULT now (),
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX member_scores_brand ON member_scores (brand_id, group_id);

-- The contract with campaign: one row per group scoring has seen.
CREATE TABLE group_states (
    brand_id   bigint NOT NULL REFERENCES brands (id),
    group_id   bigint PRIMARY KEY REFERENCES groups (id),
    state      text NOT NULL CHECK (state IN ('growing', 'healthy', 'declining', 'zombie')),
    health     int NOT NULL CHECK (health BETWEEN 0 AND 100),
    lifecycle  text NOT NULL CHECK (lifecycle IN ('temporary', 'long_term')),
    updated_at timestamptz NOT NULL DEFAULT now ()
);
CREATE INDEX group_states_brand ON group_states (brand_id, state);

-- The measures behind a group's health, as of the last evaluation.
CREATE TABLE group_health (
    brand_id         bigint NOT NULL REFERENCES brands (id),
    group_id         bigint PRIMARY KEY REFERENCES groups (id),
    day              date NOT NULL,                  -- the brand's day the figures are for
    members          bigint NOT NULL,                -- in the group now
    dau              bigint NOT NULL,
    wau              bigint NOT NULL,
    mau              bigint NOT NULL,
    active_ratio     double precision NOT NULL,      -- wau / members
    msgs_per_day     double precision NOT NULL,      -- last 7 days
    top3_share       double precision NOT NULL,      -- last 28 days
    gini             double precision NOT NULL,      -- last 28 days, over speakers
    self_activation  double precision NOT NULL,      -- share of messages not from staff, last 7 days
    growth_rate      double precision NOT NULL,      -- joins last 7 days / members
    leave_rate       double precision NOT NULL,
    violation_rate   double precision NOT NULL,      -- violations / messages, last 7 days
    post_response    double precision NOT NULL,      -- member messages per post within the window, last 28 days
    health           int NOT NULL,
    state            text NOT NULL,
    lifecycle        text NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now ()
);
CREATE INDEX group_health_brand ON group_health (brand_id);

-- Channel quality per group (cumulative while Redis keeps the group's
-- channel counters). Retention counts joins old enough to be judged.
CREATE TABLE channel_group_stats (
    brand_id    bigint NOT NULL REFERENCES brands (id),
    group_id    bigint NOT NULL REFERENCES groups (id),
    channel_id  bigint NOT NULL,                     -- 0: joined with no channel
    joins       bigint NOT NULL,
    members     bigint NOT NULL,                     -- distinct members whose first join came through it
    spoke       bigint NOT NULL,                     -- of those, members who ever spoke
    violators   bigint NOT NULL,                     -- of those, members with a violation
    violations  bigint NOT NULL,
    matured7    bigint NOT NULL,                     -- joins at least 7 days old
    retained7   bigint NOT NULL,                     -- of those, still in the group 7 days after joining
    matured30   bigint NOT NULL,
    retained30  bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now (),
    PRIMARY KEY (group_id, channel_id)
);
CREATE INDEX channel_group_stats_brand ON channel_group_stats (brand_id, channel_id);

-- Members to let go: for a group at its capacity (kind 'capacity'), and
-- long-silent members when activity falls under the floor ('cleanout').
-- Replaced as a whole per group at each evaluation.
CREATE TABLE member_suggestions (
    brand_id    bigint NOT NULL REFERENCES brands (id),
    group_id    bigint NOT NULL REFERENCES groups (id),
    kind        text NOT NULL CHECK (kind IN ('capacity', 'cleanout')),
    rank        int NOT NULL,
    member_id   bigint NOT NULL REFERENCES members (id),
    score       double precision NOT NULL,           -- lower = let go first
    reason      text NOT NULL,
    needed      int NOT NULL,                        -- how many must go (capacity), or how many are suggested
    computed_at timestamptz NOT NULL DEFAULT now (),
    PRIMARY KEY (group_id, kind, rank)
);
CREATE INDEX member_suggestions_brand ON member_suggestions (brand_id, group_id);

-- Store and region roll-ups are sums of their groups' days.
CREATE VIEW store_daily_stats AS
    SELECT d.brand_id, g.store_id, d.day, count (*) AS groups, sum (d.messages) AS messages,
           sum (d.active_members) AS active_members, sum (d.joins) AS joins, sum (d.leaves) AS leaves,
           sum (d.violations) AS violations, sum (d.staff_messages) AS staff_messages
    FROM daily_group_stats d JOIN groups g ON g.id = d.group_id AND g.brand_id = d.brand_id
    GROUP BY d.brand_id, g.store_id, d.day;
CREATE VIEW region_daily_stats AS
    SELECT d.brand_id, s.region_id, d.day, count (*) AS groups, sum (d.messages) AS messages,
           sum (d.active_members) AS active_members, sum (d.joins) AS joins, sum (d.leaves) AS leaves,
           sum (d.violations) AS violations, sum (d.staff_messages) AS staff_messages
    FROM daily_group_stats d JOIN groups g ON g.id = d.group_id AND g.brand_id = d.brand_id
    JOIN stores s ON s.id = g.store_id AND s.brand_id = d.brand_id
    GROUP BY d.brand_id, s.region_id, d.day;
