/*
 * map_txn.c - see map_txn.h. A transaction is a small state machine driven
 * by runtime_api callbacks: prepare -> adds (pipelined) -> file -> commit.
 * The entries are formatted once into the file's bytes; the add chunks are
 * slices of that same buffer, cut at line boundaries, so HAProxy and the file
 * get byte-identical lines.
 */
#include "haproxy/map_txn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haproxy/atomic_file.h"
#include "haproxy/cli_escape.h"
#include "util/log.h"

#define DETAIL_MAX 512

struct map_txn {
    struct runtime_api *api;
    char *map_name;
    char *map_arg; /* map_name escaped for the CLI */
    char *file_path;
    char *lines;
    size_t lines_len;
    unsigned long version;
    size_t adds_waiting;
    int err;
    char detail[DETAIL_MAX];
    map_txn_done_cb cb;
    void *user;
};

/* map_txn_format, with *status -EINVAL (refused entry) or -ENOMEM. */
static char *format_lines(const struct map_entry *entries, size_t n_entries, size_t *len, char *err,
                          size_t errlen, int *status)
{
    *status = -EINVAL;
    size_t total = 1;
    for (size_t i = 0; i < n_entries; i++) {
        const char *what = "key";
        int st = cli_check_map_key(entries[i].key);
        if (st == CLI_ESCAPE_OK) {
            what = "value";
            st = cli_check_map_value(entries[i].value);
        }
        if (st != CLI_ESCAPE_OK) {
            /* Show a bounded, printable prefix of the key to name the entry. */
            char shown[48] = "";
            const char *k = entries[i].key ? entries[i].key : "";
            size_t j = 0;
            for (; j < sizeof(shown) - 1 && k[j]; j++)
                shown[j] = (k[j] >= 0x20 && k[j] < 0x7f) ? k[j] : '?';
            shown[j] = '\0';
            snprintf(err, errlen, "map entry %zu (key \"%s%s\"): %s %s", i, shown,
                     k[j] ? "..." : "", what, cli_escape_strerror(st));
            return NULL;
        }
        total += strlen(entries[i].key) + 1 + strlen(entries[i].value) + 1;
    }
    char *out = malloc(total);
    if (!out) {
        snprintf(err, errlen, "out of memory");
        *status = -ENOMEM;
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < n_entries; i++) {
        size_t kl = strlen(entries[i].key), vl = strlen(entries[i].value);
        memcpy(out + n, entries[i].key, kl);
        n += kl;
        out[n++] = ' ';
        memcpy(out + n, entries[i].value, vl);
        n += vl;
        out[n++] = '\n';
    }
    out[n] = '\0';
    if (len)
        *len = n;
    *status = 0;
    return out;
}

char *map_txn_format(const struct map_entry *entries, size_t n_entries, size_t *len, char *err,
                     size_t errlen)
{
    int status;
    return format_lines(entries, n_entries, len, err, errlen, &status);
}

static void txn_free(struct map_txn *t)
{
    free(t->map_name);
    free(t->map_arg);
    free(t->file_path);
    free(t->lines);
    free(t);
}

/* The last thing a step does: the callback may free the runtime_api. */
static void finish(struct map_txn *t)
{
    if (t->err)
        log_warn("map-txn", "%s: %s", t->map_name, t->detail);
    else
        log_debug("map-txn", "%s: version %lu committed", t->map_name, t->version);
    map_txn_done_cb cb = t->cb;
    void *user = t->user;
    int err = t->err;
    char detail[DETAIL_MAX];
    memcpy(detail, t->detail, sizeof(detail));
    txn_free(t);
    cb(user, err, detail);
}

/* Records the first failure; later ones only repeat its consequences. */
static void fail(struct map_txn *t, int err, const char *step, const char *answer, size_t len)
{
    if (t->err)
        return;
    t->err = err;
    if (answer && len) {
        /* HAProxy's message, first line only, without its newline */
        int shown = (int)strcspn(answer, "\n");
        snprintf(t->detail, sizeof(t->detail), "%s: %.*s", step, shown, answer);
    } else {
        snprintf(t->detail, sizeof(t->detail), "%s: %s", step, strerror(-err));
    }
}

static void on_commit(void *user, const char *answer, size_t len, int err)
{
    struct map_txn *t = user;
    if (err)
        fail(t, err, "commit map", NULL, 0);
    else if (len)
        fail(t, -EPROTO, "commit map", answer, len);
    finish(t);
}

static void send_commit(struct map_txn *t)
{
    if (t->file_path) {
        int err = atomic_file_write(t->file_path, t->lines, t->lines_len, 0644);
        if (err) {
            t->err = err;
            snprintf(t->detail, sizeof(t->detail), "writing %s: %s", t->file_path, strerror(-err));
            finish(t);
            return;
        }
    }
    char cmd[64 + 2 * MAP_TXN_NAME_MAX];
    snprintf(cmd, sizeof(cmd), "commit map @%lu %s", t->version, t->map_arg);
    int err = runtime_api_send(t->api, cmd, on_commit, t);
    if (err) {
        fail(t, err, "commit map", NULL, 0);
        finish(t);
    }
}

static void on_add(void *user, const char *answer, size_t len, int err)
{
    struct map_txn *t = user;
    if (err)
        fail(t, err, "add map", NULL, 0);
    else if (len)
        fail(t, -EPROTO, "add map", answer, len); /* success prints nothing */
    if (--t->adds_waiting)
        return;
    if (t->err)
        finish(t);
    else
        send_commit(t);
}

/* Queues every chunk at once; answers come back in order. */
static void send_adds(struct map_txn *t)
{
    char cmd[64 + 2 * MAP_TXN_NAME_MAX];
    snprintf(cmd, sizeof(cmd), "add map @%lu %s", t->version, t->map_arg);
    size_t off = 0;
    /* Counts one extra so that no answer can finish the transaction while
     * chunks are still being queued. */
    t->adds_waiting = 1;
    while (off < t->lines_len) {
        size_t end = off;
        /* whole lines only, at most MAP_TXN_CHUNK_BYTES (one line always
         * fits: keys and values are bounded far below it) */
        for (;;) {
            const char *nl = memchr(t->lines + end, '\n', t->lines_len - end);
            size_t next = (size_t)(nl - t->lines) + 1;
            if (end > off && next - off > MAP_TXN_CHUNK_BYTES)
                break;
            end = next;
            if (end == t->lines_len)
                break;
        }
        int err = runtime_api_send_payload(t->api, cmd, t->lines + off, end - off, on_add, t);
        if (err) {
            fail(t, err, "add map", NULL, 0);
            break;
        }
        t->adds_waiting++;
        off = end;
    }
    on_add(t, "", 0, 0); /* drops the extra count */
}

static void on_prepare(void *user, const char *answer, size_t len, int err)
{
    struct map_txn *t = user;
    static const char prefix[] = "New version created: ";
    if (err) {
        fail(t, err, "prepare map", NULL, 0);
        finish(t);
        return;
    }
    char *end = NULL;
    if (strncmp(answer, prefix, sizeof(prefix) - 1) == 0) {
        errno = 0;
        t->version = strtoul(answer + sizeof(prefix) - 1, &end, 10);
    }
    if (!end || errno || (*end != '\n' && *end != '\0') || t->version > 0xffffffffUL) {
        fail(t, -EPROTO, "prepare map", answer, len);
        finish(t);
        return;
    }
    send_adds(t);
}

int map_txn_replace(struct runtime_api *api, const char *map_name, const char *file_path,
                    const struct map_entry *entries, size_t n_entries, map_txn_done_cb cb,
                    void *user, char *err, size_t errlen)
{
    int st = map_name && strlen(map_name) > MAP_TXN_NAME_MAX ? CLI_ESCAPE_TOO_LONG
                                                             : cli_check_arg(map_name);
    if (st != CLI_ESCAPE_OK) {
        snprintf(err, errlen, "map name %s", cli_escape_strerror(st));
        return -EINVAL;
    }
    struct map_txn *t = calloc(1, sizeof(*t));
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int status;
    t->lines = format_lines(entries, n_entries, &t->lines_len, err, errlen, &status);
    if (!t->lines) {
        txn_free(t);
        return status;
    }
    t->api = api;
    t->cb = cb;
    t->user = user;
    t->map_name = strdup(map_name);
    t->map_arg = cli_escape_arg_dup(map_name, NULL);
    t->file_path = file_path ? strdup(file_path) : NULL;
    if (!t->map_name || !t->map_arg || (file_path && !t->file_path)) {
        txn_free(t);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    char cmd[64 + 2 * MAP_TXN_NAME_MAX];
    snprintf(cmd, sizeof(cmd), "prepare map %s", t->map_arg);
    int e = runtime_api_send(api, cmd, on_prepare, t);
    if (e) {
        snprintf(err, errlen, "prepare map: %s", strerror(-e));
        txn_free(t);
        return e;
    }
    return 0;
}
