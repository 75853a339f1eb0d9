//  A circuit breaker per endpoint. When a gateway or webhook keeps failing
//  (timeouts, connection errors, 5xx), sending more only piles up work and
//  load on it: after `failures` failures in a row the circuit opens and
//  deliveries for that endpoint wait (without spending attempts) until
//  open_ms has passed; then one probe goes out. Per process on purpose:
//  each replica learns an endpoint's health from its own requests.
#include "notifier_edge.h"
#include "qy/log.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    int     failures;        //  consecutive
    int64_t open_until;      //  ms; 0 closed
    bool    probing;         //  half-open: one request is out
} s_circuit_t;

struct notifier_breaker_t {
    int          threshold;
    int64_t      open_ms;
    qy_map_t    *index;      //  url → slot
    s_circuit_t *circuits;
    size_t       n, cap;
};

notifier_breaker_t *notifier_breaker_new (int failures, int64_t open_ms)
{
    notifier_breaker_t *self = qy_calloc (1, sizeof (*self));
    self->threshold = failures > 0 ? failures : 1;
    self->open_ms = open_ms;
    self->index = qy_map_new ();
    return self;
}

void notifier_breaker_destroy (notifier_breaker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    notifier_breaker_t *self = *self_p;
    qy_map_destroy (&self->index);
    free (self->circuits);
    free (self);
    *self_p = NULL;
}

static s_circuit_t *s_get (notifier_breaker_t *self, const char *url)
{
    int64_t slot;
    if (qy_map_get (self->index, url, &slot))
        return &self->circuits [slot];
    if (self->n == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 16;
        self->circuits = qy_realloc (self->circuits, self->cap * sizeof (s_circuit_t));
    }
    memset (&self->circuits [self->n], 0, sizeof (s_circuit_t));
    qy_map_put (self->index, url, (int64_t) self->n);
    return &self->circuits [self->n++];
}

int64_t notifier_breaker_allow (notifier_breaker_t *self, const char *url, int64_t now_ms)
{
    s_circuit_t *c = s_get (self, url);
    if (!c->open_until)
        return 0;
    if (now_ms < c->open_until)
        return c->open_until - now_ms;
    if (c->probing)
        return self->open_ms / 10 > 0 ? self->open_ms / 10 : 1;   //  wait for the probe's outcome
    c->probing = true;
    return 0;
}

void notifier_breaker_report (notifier_breaker_t *self, const char *url, bool ok, int64_t now_ms)
{
    s_circuit_t *c = s_get (self, url);
    if (ok) {
        if (c->open_until)
            qy_log_info ("circuit closed endpoint=%s", url);
        memset (c, 0, sizeof (*c));
        return;
    }
    c->failures++;
    if (c->probing || (!c->open_until && c->failures >= self->threshold)) {
        if (!c->open_until)
            qy_log_warn ("circuit open endpoint=%s failures=%d open_ms=%lld", url, c->failures, (long long) self->open_ms);
        c->open_until = now_ms + self->open_ms;
        c->probing = false;
    }
}

void notifier_breaker_release (notifier_breaker_t *self, const char *url)
{
    s_get (self, url)->probing = false;
}

int notifier_breaker_open_count (notifier_breaker_t *self, int64_t now_ms)
{
    int n = 0;
    for (size_t i = 0; i < self->n; i++)
        n += self->circuits [i].open_until && (now_ms < self->circuits [i].open_until || self->circuits [i].probing);
    return n;
}
