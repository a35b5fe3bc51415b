/*
 * fuzz_watch_parser.c - libFuzzer target for the watch stream splitter.
 *
 * Input layout: byte 0 picks how many of the following bytes (0-7) are chunk
 * sizes; byte 1 picks the event size limit; the rest is the stream. The stream
 * is fed in chunks of those sizes, cycling, and separately in one piece: both
 * runs must produce the same events, the same return value and the same
 * error, since chunking may never change what the parser sees.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/watch_parser.h"

struct run {
    json_t *events; /* [[type, object], ...] */
    int stop_on_error_event;
};

static int collect(void *ud, enum watch_event_type type, json_t *object)
{
    struct run *r = ud;
    if ((unsigned)type > WATCH_ERROR || !json_is_object(object))
        abort();
    json_array_append_new(r->events, json_pack("[s, O]", watch_event_type_name(type), object));
    /* Exercise the early-stop path on ERROR events. */
    return r->stop_on_error_event && type == WATCH_ERROR ? 3 : 0;
}

static int run_feeds(struct watch_parser *p, struct run *r, const uint8_t *data, size_t n,
                     const uint8_t *sizes, size_t nsizes, char *err, size_t errlen)
{
    int rc = 0;
    size_t off = 0, k = 0;
    while (off < n && rc == 0) {
        size_t chunk = nsizes ? (size_t)sizes[k++ % nsizes] + 1 : n;
        if (chunk > n - off)
            chunk = n - off;
        rc = watch_parser_feed(p, (const char *)data + off, chunk, collect, r);
        off += chunk;
        if (p->len > p->max_event || (rc == -1 && !p->error[0]))
            abort();
    }
    snprintf(err, errlen, "%s", p->error);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t nsizes = data[0] % 8;
    size_t max_event = 64 + (size_t)data[1] * 64;
    data += 2;
    size -= 2;
    if (nsizes > size)
        nsizes = size;
    const uint8_t *sizes = data;
    data += nsizes;
    size -= nsizes;
    int stop = nsizes % 2;

    struct watch_parser p;
    char err_chunked[256], err_whole[256];
    struct run chunked = {json_array(), stop}, whole = {json_array(), stop};

    watch_parser_init(&p, max_event);
    int rc_chunked =
        run_feeds(&p, &chunked, data, size, sizes, nsizes, err_chunked, sizeof(err_chunked));
    watch_parser_free(&p);

    watch_parser_init(&p, max_event);
    int rc_whole = run_feeds(&p, &whole, data, size, NULL, 0, err_whole, sizeof(err_whole));
    /* A reset parser must work again. */
    watch_parser_reset(&p);
    if (watch_parser_feed(&p, "{\"type\":\"ADDED\",\"object\":{}}", 28, NULL, NULL) != 0)
        abort();
    watch_parser_free(&p);

    if (rc_chunked != rc_whole || strcmp(err_chunked, err_whole) != 0 ||
        !json_equal(chunked.events, whole.events))
        abort();
    json_decref(chunked.events);
    json_decref(whole.events);
    return 0;
}
