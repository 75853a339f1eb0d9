//  The simulated brand: S stores × G groups × M members, a day of joins,
//  chat with a heavy tail and an evening peak, ads with contact tricks,
//  floods, leaves and duplicates. Deterministic for a seed.
//
//  Chat is a fixed number of messages whatever the layout, but joins,
//  leaves, staff posts and flood bursts come per group and per member.
//  day_groups keeps them at what day_groups groups would make, spread over
//  all groups: each of those per-group events happens today with
//  probability day_groups / (stores × groups), and the other members had
//  joined before the day. So a brand of 100,000 groups with day_groups 60
//  has the 60-group day's mix, only spread over more groups.
#ifndef LOADGEN_SIM_H
#define LOADGEN_SIM_H
#include <stddef.h>
#include <stdint.h>
#include "qunyun.pb-c.h"

typedef struct {
    const char *brand;
    const char *run;                     //  prefix of message ids, so runs never collide
    int     stores, groups, members;     //  members per group
    long    messages;                    //  chat messages in the day (besides joins, leaves, floods)
    int     day_groups;                  //  0: every group's joins, staff posts and floods; else as many as this many groups make
    double  ad_rate, flooder_rate, leave_rate, dup_rate;
    int64_t day_start_us;                //  first instant of the simulated day
    unsigned seed;
} sim_config_t;

typedef struct {
    long joins, messages, ads, flood_msgs, leaves, renames, staff_posts, duplicates;
} sim_counts_t;

//  Generate the day's events, sorted by time, then the re-sent duplicates
//  at the end. Caller owns the array and frees it with sim_free.
Qy__Event **sim_generate (const sim_config_t *cfg, size_t *n, sim_counts_t *counts);
void sim_free (Qy__Event **events, size_t n);
//  What the simulation meant an event to be, for comparing with what the
//  chain made of it: "ad" (a spammer's ad), "flood" (a flooder's burst),
//  "staff" (the store's own posts), "chat" (an ordinary member's message),
//  "join", "leave" or "other".
const char *sim_truth (const Qy__Event *ev);
#endif
