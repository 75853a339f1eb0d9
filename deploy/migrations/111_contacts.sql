-- WeCom's 1:1 contacts (change_external_contact, docs/wecom.md): which
-- staff member has which customer as a contact, since when, from which
-- channel (the State of the 联系我 way, as joins carry theirs), and who
-- ended it. A customer who deletes the staff member (del_follow_user) is
-- leaving the brand: a churn signal on the member's profile.
--
-- contact_events: every event once, by (brand, event id): the connector's
-- retries and WeCom's are duplicates here. contacts: the state they add up
-- to, one row per staff member and customer.
CREATE TABLE contact_events (
    brand_id   bigint NOT NULL REFERENCES brands (id),
    event_id   text NOT NULL,                 -- ingest's id: ct:<ChangeType>:<UserID>:<ExternalUserID>:<CreateTime>
    member_id  bigint NOT NULL REFERENCES members (id),
    staff      text NOT NULL,                 -- UserID
    change     text NOT NULL CHECK (change IN ('added', 'edited', 'half_added', 'deleted_by_staff',
                                               'deleted_by_customer', 'transfer_failed')),
    channel_id bigint REFERENCES channels (id),
    detail     text,                          -- Source (del_external_contact) or FailReason (transfer_fail)
    at         timestamptz NOT NULL,          -- CreateTime
    stored_at  timestamptz NOT NULL DEFAULT now (),
    PRIMARY KEY (brand_id, event_id)
);
CREATE INDEX contact_events_member ON contact_events (brand_id, member_id, at);

CREATE TABLE contacts (
    brand_id   bigint NOT NULL REFERENCES brands (id),
    staff      text NOT NULL,
    member_id  bigint NOT NULL REFERENCES members (id),
    channel_id bigint REFERENCES channels (id),   -- of the add that began the current contact
    added_at   timestamptz,                       -- NULL: known only from an edit or a deletion
    half       boolean NOT NULL DEFAULT false,    -- the customer added staff, not yet accepted
    deleted_at timestamptz,                       -- NULL while they are contacts
    deleted_by text CHECK (deleted_by IN ('staff', 'customer')),
    detail     text,                              -- Source of the staff's deletion
    changed_at timestamptz NOT NULL,              -- the newest event applied
    PRIMARY KEY (brand_id, staff, member_id)
);
CREATE INDEX contacts_member ON contacts (brand_id, member_id);

-- Under the console's row-level policies (099), narrowed by member, and
-- readable by qy_console (qy_rls_cover grants SELECT).
SELECT qy_rls_cover ('contact_events');
SELECT qy_rls_cover ('contacts');
