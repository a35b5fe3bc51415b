/*
 * metrics.h - the agent's /metrics, /healthz and /readyz, and the small
 * Prometheus text-format (version 0.0.4) writer behind them.
 *
 * The agent fills a struct metrics_sources with the parts it runs (any may
 * be NULL: --watch-only has no reconciler, runtime API or SPOE server) and
 * registers the three handlers with the admin server, ud = the struct
 * metrics. Every scrape reads the parts' counters at that moment; the only
 * state kept here is the reconcile duration histogram, which the owner of
 * the reconciler feeds with metrics_observe_reconcile().
 *
 *   /metrics  text/plain; version=0.0.4
 *   /healthz  200 "ok" while the loop answers
 *   /readyz   200 "ok" once the cache is synced and, in routing mode, the
 *             reconciler has completed a pass; else 503 and one line why
 */
#ifndef SPOKE_ADMIN_METRICS_H
#define SPOKE_ADMIN_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/strbuf.h"

#include "admin/admin_server.h"

struct kube_cache;
struct reconciler;
struct runtime_api;
struct spoe_server;
struct ingress_status;

/* ---- the text writer ---------------------------------------------------- */

/* Output goes to a util/strbuf.h buffer (data NUL-terminated, NULL before
 * the first write). */
/* "# HELP name help" (help escaped: backslash, newline) and "# TYPE name type";
 * type is "counter", "gauge", "histogram", "summary" or "untyped". */
void prom_family(struct strbuf *b, const char *name, const char *type, const char *help);

/* One sample line "name{l1="v1",...} value". labels: name/value pairs
 * ending with NULL (or NULL for none); values are escaped (backslash,
 * double quote, newline). Values print in the shortest form that reads
 * back exactly; infinities as +Inf/-Inf, NaN as NaN. */
void prom_sample(struct strbuf *b, const char *name, const char *const *labels, double value);

/* Appends a label value escaped per the text format (for tests). */
void prom_escape_label(struct strbuf *b, const char *value);

#define PROM_MAX_BUCKETS 16

/* A histogram: bucket counts are kept per bucket and written cumulatively. */
struct prom_histogram {
    size_t n;                                        /* upper bounds in use */
    double bounds[PROM_MAX_BUCKETS];                 /* ascending, finite */
    unsigned long long counts[PROM_MAX_BUCKETS + 1]; /* [n] = above the last bound */
    unsigned long long count;
    double sum;
};

/* bounds: n ascending finite values (n <= PROM_MAX_BUCKETS, extra ignored). */
void prom_histogram_init(struct prom_histogram *h, const double *bounds, size_t n);
/* le is inclusive: a value equal to a bound counts in that bucket. */
void prom_histogram_observe(struct prom_histogram *h, double value);
/* The family header, NAME_bucket{...,le="B"} (cumulative, last le="+Inf"),
 * NAME_sum and NAME_count. labels as for prom_sample. */
void prom_histogram_write(struct strbuf *b, const char *name, const char *help,
                          const char *const *labels, const struct prom_histogram *h);

/* ---- the agent's metrics ---------------------------------------------- */

struct metrics_sources {
    struct kube_cache *cache;      /* objects, informer counters, cache synced */
    struct reconciler *rec;        /* NULL: watch-only (no routing metrics) */
    struct runtime_api *api;       /* runtime API command counters */
    struct spoe_server *spoe;      /* SPOE connections, frames, decisions */
    struct auth_stats *auth;       /* auth allows and denies per Ingress */
    struct ingress_status *status; /* status patches written */
    const size_t *problems;        /* objects or options that cannot be honoured now */
};

struct metrics;

/* Copies src (the parts must outlive the struct metrics, or be replaced
 * with metrics_set_sources before they go). */
struct metrics *metrics_new(const struct metrics_sources *src);
void metrics_set_sources(struct metrics *m, const struct metrics_sources *src);
void metrics_free(struct metrics *m);

/* One reconcile pass took this long (the histogram's buckets go from 1 ms
 * to 30 s). Call on the loop thread, the one the handlers run on. */
void metrics_observe_reconcile(struct metrics *m, double seconds);

/* Writes every metric into b. */
void metrics_write(const struct metrics *m, struct strbuf *b);

/* Ready or not, with a one-line reason when not (reason may be NULL). */
bool metrics_ready(const struct metrics *m, char *reason, size_t len);

/* From now on /readyz fails ("shutting down"): the agent got SIGTERM and
 * drains (options --shutdown-drain-seconds). */
void metrics_set_shutting_down(struct metrics *m);

/* admin_server handlers; ud is the struct metrics. */
void metrics_handler(void *ud, const char *query, struct admin_response *resp);
void metrics_healthz_handler(void *ud, const char *query, struct admin_response *resp);
void metrics_readyz_handler(void *ud, const char *query, struct admin_response *resp);

#endif
