-- Customer complaints (issue 20 §4) moderation escalated to a store: kept
-- for the voice-of-customer summary (qyctl voc): the topic the judge
-- named and the products the message names. One row per message, so a
-- replayed message is stored once.
CREATE TABLE complaints (
    brand_id   bigint NOT NULL REFERENCES brands (id),
    msg_id     text NOT NULL,
    store_id   bigint,                                -- NULL: the group's store is unknown
    group_id   bigint,
    member_id  bigint,
    topic      text NOT NULL,                         -- 质量, 物流与破损, 退换货, 价格保护, 服务态度, 其他
    products   text[] NOT NULL DEFAULT '{}',
    excerpt    text NOT NULL,
    event_time timestamptz NOT NULL,
    PRIMARY KEY (brand_id, msg_id)
);
CREATE INDEX complaints_brand_time ON complaints (brand_id, event_time);
