/*
 * certs.c - see certs.h. A sync is a chain of phases on the loop; each
 * phase sends its commands (pipelined, or one after the other where HAProxy
 * needs it) and the next phase starts when the last answer arrived.
 */
#include "haproxy/certs.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "haproxy/atomic_file.h"
#include "haproxy/cli_escape.h"
#include "haproxy/pem_check.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define HASH_LEN 32
/* A file name longer than this gets a shortened name with a hash. */
#define FILE_NAME_MAX 128

/* A certificate store HAProxy has under STATE/certs/ (or the default). */
struct applied {
    char *file;
    bool is_default;
    bool has_content; /* a committed certificate, not an empty store */
    bool hash_known;  /* hash is the SHA-256 of the PEM HAProxy has */
    unsigned char hash[HASH_LEN];
    bool disk_ok; /* the file holds that PEM */
};

/* One crt-list line as HAProxy lists it ("show ssl crt-list -n"). */
struct line {
    char *file;
    unsigned long num;
    char *rest; /* options and filters as printed; "" for none */
    bool ours;
};

struct certs_state {
    struct runtime_api *api;
    char *state_dir, *certs_dir, *list_path, *default_path;
    bool known; /* applied and lines are what HAProxy has */
    long pid;
    long long start_time;
    struct applied *v; /* sorted by file */
    size_t n, cap;
    struct line *lines; /* in HAProxy's order */
    size_t n_lines;
    size_t *by_file; /* indexes of lines, sorted by file */
    struct sync *sync;
};

enum step { STEP_NEW, STEP_SET_CRT, STEP_SET_KEY, STEP_COMMIT, STEP_ABORT, STEP_DONE };

/* One file the sync wants. */
struct job {
    char *file;
    char *secret; /* "" for the default certificate */
    bool is_default;
    bool has_pem; /* the desired entry has a certificate */
    unsigned char hash[HASH_LEN];
    char *pem; /* a copy, when it may have to be sent or written */
    size_t pem_len, key_off;
    bool keep_line; /* hosts refused: leave its crt-list line as it is */
    char **hosts;   /* sorted, unique */
    size_t n_hosts;
    char *filters; /* hosts joined by ' ' */
    bool push, need_new, had_line;
    enum step step;
};

struct problem {
    char *secret, *message;
};

enum phase {
    PH_INFO,
    PH_DISC_CERTS,
    PH_DISC_LIST,
    PH_DISC_FP,
    PH_PLAN,
    PH_CONTENT,
    PH_LIST,
    PH_LIST_REFRESH,
    PH_LIST_WRITE,
    PH_REMOVE,
    PH_CLEANUP,
    PH_DONE
};

struct sync {
    struct certs_state *st; /* NULL once abandoned */
    certs_done_cb cb;
    void *user;
    struct job *jobs; /* sorted by file */
    size_t n_jobs;
    enum phase phase;
    unsigned outstanding;
    size_t cur;
    int err;
    char detail[600];
    bool discover, list_changed, list_write_failed, missing_copy;
    long pid;
    long long start_time;
    char **removals;
    size_t n_removals;
    struct problem *problems;
    size_t n_problems, cap_problems;
    unsigned added, updated, rehosted, removed, commands;
};

typedef void (*answer_fn)(struct sync *s, size_t idx, const char *answer, size_t len);

struct ticket {
    struct sync *s;
    answer_fn fn;
    size_t idx;
    char *command; /* for the report of a failure */
};

static void advance(struct sync *s);

/* ---- small helpers ------------------------------------------------------ */

static void sha256(const void *data, size_t len, unsigned char out[HASH_LEN])
{
    EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL);
}

static char *path_join(const char *a, const char *b)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_printf(&sb, "%s/%s", a, b);
    return strbuf_take(&sb);
}

static void add_problem(struct sync *s, const char *secret, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_problem(struct sync *s, const char *secret, const char *fmt, ...)
{
    if (s->n_problems == s->cap_problems) {
        s->cap_problems = s->cap_problems ? 2 * s->cap_problems : 8;
        s->problems = xrealloc(s->problems, s->cap_problems * sizeof(*s->problems));
    }
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char *who = xstrdup(secret);
    for (char *p = who; *p; p++) /* untrusted: never a line break in a log */
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    s->problems[s->n_problems].secret = who;
    s->problems[s->n_problems].message = xstrdup(msg);
    s->n_problems++;
}

/* HAProxy's answer on one line, for messages. */
static void one_line(const char *answer, size_t len, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 3 < size; i++) {
        char c = answer[i];
        if (c == '\n') {
            if (i + 1 < len) {
                out[o++] = ';';
                out[o++] = ' ';
            }
        } else {
            out[o++] = (unsigned char)c < 0x20 ? '?' : c;
        }
    }
    out[o] = '\0';
}

static bool has_line(const char *answer, const char *want)
{
    size_t n = strlen(want);
    for (const char *p = answer; (p = strstr(p, want)) != NULL; p += n)
        if ((p == answer || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

static void fail(struct sync *s, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct sync *s, int err, const char *fmt, ...)
{
    if (s->err)
        return;
    s->err = err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
    va_end(ap);
}

/* ---- names ---------------------------------------------------------------- */

static bool dns_label_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* RFC 1123 subdomain: labels of [a-z0-9-] not starting or ending with '-',
 * 1..63 bytes each, at most max bytes in all. */
static bool dns_name_ok(const char *s, size_t len, size_t max, bool dots)
{
    if (len == 0 || len > max)
        return false;
    size_t label = 0;
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? s[i] : '.';
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-' || (!dots && i < len))
                return false;
            label = 0;
            continue;
        }
        if (!dns_label_char(c) || (label == 0 && c == '-') || ++label > 63)
            return false;
    }
    return true;
}

static bool host_ok(const char *h)
{
    if (!h)
        return false;
    size_t len = strlen(h);
    if (len > 2 && h[0] == '*' && h[1] == '.')
        return dns_name_ok(h + 2, len - 2, 251, true);
    return dns_name_ok(h, len, 253, true);
}

int certs_file_name(const char *state_dir, const char *secret, char *out, size_t len)
{
    const char *slash = secret ? strchr(secret, '/') : NULL;
    if (!slash || !dns_name_ok(secret, (size_t)(slash - secret), 63, false) ||
        !dns_name_ok(slash + 1, strlen(slash + 1), 253, true))
        return -EINVAL;
    size_t ns_len = (size_t)(slash - secret);
    const char *name = slash + 1;
    size_t name_len = strlen(name);
    int n;
    if (ns_len + 1 + name_len + 4 <= FILE_NAME_MAX) {
        n = snprintf(out, len, "%s/certs/%.*s_%s.pem", state_dir, (int)ns_len, secret, name);
    } else {
        /* names cannot hold '_': a second one marks the shortened form */
        unsigned char h[HASH_LEN];
        sha256(secret, strlen(secret), h);
        char hex[17];
        for (int i = 0; i < 8; i++)
            snprintf(hex + 2 * i, 3, "%02x", h[i]);
        size_t keep = FILE_NAME_MAX - 4 - ns_len - 1 - 1 - 16;
        n = snprintf(out, len, "%s/certs/%.*s_%.*s_%s.pem", state_dir, (int)ns_len, secret,
                     (int)keep, name, hex);
    }
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* A store or file of ours: STATE/certs/X_Y.pem (not default.pem). */
static bool is_ours(const struct certs_state *st, const char *file)
{
    size_t dl = strlen(st->certs_dir);
    if (strncmp(file, st->certs_dir, dl) != 0 || file[dl] != '/')
        return false;
    const char *base = file + dl + 1;
    size_t bl = strlen(base);
    return bl > 4 && !strchr(base, '/') && strchr(base, '_') && strcmp(base + bl - 4, ".pem") == 0;
}

/* ---- applied state -------------------------------------------------------- */

/* The first position whose file is not below file. */
static size_t applied_pos(const struct certs_state *st, const char *file)
{
    size_t lo = 0, hi = st->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(st->v[mid].file, file) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct applied *find_applied(const struct certs_state *st, const char *file)
{
    size_t pos = applied_pos(st, file);
    return pos < st->n && strcmp(st->v[pos].file, file) == 0 ? &st->v[pos] : NULL;
}

/* Inserts file (sorted); appending, as HAProxy lists its stores in order,
 * moves nothing. */
static struct applied *add_applied(struct certs_state *st, const char *file)
{
    size_t pos = applied_pos(st, file);
    if (pos < st->n && strcmp(st->v[pos].file, file) == 0)
        return &st->v[pos];
    if (st->n == st->cap) {
        st->cap = st->cap ? 2 * st->cap : 16;
        st->v = xrealloc(st->v, st->cap * sizeof(*st->v));
    }
    memmove(&st->v[pos + 1], &st->v[pos], (st->n - pos) * sizeof(*st->v));
    st->n++;
    struct applied *a = &st->v[pos];
    memset(a, 0, sizeof(*a));
    a->file = xstrdup(file);
    a->is_default = strcmp(file, st->default_path) == 0;
    return a;
}

static void remove_applied(struct certs_state *st, const char *file)
{
    struct applied *a = find_applied(st, file);
    if (!a)
        return;
    size_t pos = (size_t)(a - st->v);
    free(a->file);
    memmove(&st->v[pos], &st->v[pos + 1], (st->n - pos - 1) * sizeof(*st->v));
    st->n--;
}

static void clear_applied(struct certs_state *st)
{
    for (size_t i = 0; i < st->n; i++)
        free(st->v[i].file);
    st->n = 0;
}

static void clear_lines(struct certs_state *st)
{
    for (size_t i = 0; i < st->n_lines; i++) {
        free(st->lines[i].file);
        free(st->lines[i].rest);
    }
    free(st->lines);
    free(st->by_file);
    st->lines = NULL;
    st->by_file = NULL;
    st->n_lines = 0;
}

static int cmp_line_index(const void *a, const void *b, void *ctx)
{
    const struct certs_state *st = ctx;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = strcmp(st->lines[x].file, st->lines[y].file);
    return c ? c : (x > y) - (x < y);
}

static void index_lines(struct certs_state *st)
{
    st->by_file = xrealloc(st->by_file, (st->n_lines + 1) * sizeof(size_t));
    for (size_t i = 0; i < st->n_lines; i++)
        st->by_file[i] = i;
    qsort_r(st->by_file, st->n_lines, sizeof(size_t), cmp_line_index, st);
}

/* The lines naming file: by_file[*first .. return value). */
static size_t lines_of(const struct certs_state *st, const char *file, size_t *first)
{
    size_t lo = 0, hi = st->n_lines;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(st->lines[st->by_file[mid]].file, file) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *first = lo;
    while (hi < st->n_lines && strcmp(st->lines[st->by_file[hi]].file, file) == 0)
        hi++;
    return hi;
}

static bool file_has_lines(const struct certs_state *st, const char *file)
{
    size_t first;
    return lines_of(st, file, &first) > first;
}

/* ---- sending -------------------------------------------------------------- */

static void job_clear(struct job *j)
{
    free(j->file);
    free(j->secret);
    if (j->pem) {
        OPENSSL_cleanse(j->pem, j->pem_len);
        free(j->pem);
    }
    for (size_t i = 0; i < j->n_hosts; i++)
        free(j->hosts[i]);
    free(j->hosts);
    free(j->filters);
}

static void sync_free(struct sync *s)
{
    for (size_t i = 0; i < s->n_jobs; i++)
        job_clear(&s->jobs[i]);
    free(s->jobs);
    for (size_t i = 0; i < s->n_problems; i++) {
        free(s->problems[i].secret);
        free(s->problems[i].message);
    }
    free(s->problems);
    for (size_t i = 0; i < s->n_removals; i++)
        free(s->removals[i]);
    free(s->removals);
    free(s);
}

static void on_answer(void *user, const char *answer, size_t len, int err)
{
    struct ticket *t = user;
    struct sync *s = t->s;
    s->outstanding--;
    if (!s->st) { /* abandoned by certs_state_free */
        if (s->outstanding == 0)
            sync_free(s);
        free(t->command);
        free(t);
        return;
    }
    if (err) {
        fail(s, err, "runtime API, \"%s\": %s", t->command, strerror(-err));
    } else if (!s->err) {
        t->fn(s, t->idx, answer, len);
    }
    free(t->command);
    free(t);
    if (s->outstanding == 0)
        advance(s);
}

/* Queues a command built from trusted verb words and escaped arguments. */
static int send_cmd(struct sync *s, const char *verb, const char *const *args, size_t n_args,
                    const char *payload, size_t payload_len, answer_fn fn, size_t idx)
{
    int status = 0;
    char *cmd = cli_command_new(verb, args, n_args, &status, NULL);
    if (!cmd)
        return -EINVAL;
    struct ticket *t = calloc(1, sizeof(*t));
    if (!t) {
        free(cmd);
        return -ENOMEM;
    }
    *t = (struct ticket){s, fn, idx, cmd};
    struct runtime_api_request req = {cmd, payload, payload_len, 0};
    int rc = runtime_api_submit(s->st->api, &req, on_answer, t);
    if (rc < 0) {
        free(cmd);
        free(t);
        return rc;
    }
    s->outstanding++;
    s->commands++;
    return 0;
}

static void send_or_fail(struct sync *s, const char *verb, const char *const *args, size_t n_args,
                         answer_fn fn, size_t idx)
{
    int rc = send_cmd(s, verb, args, n_args, NULL, 0, fn, idx);
    if (rc < 0)
        fail(s, rc, "runtime API, \"%s %s\": %s", verb, n_args ? args[0] : "", strerror(-rc));
}

static void ignore_answer(struct sync *s, size_t idx, const char *answer, size_t len)
{
    (void)s;
    (void)idx;
    (void)answer;
    (void)len;
}

/* ---- discovery -------------------------------------------------------------- */

static long long field_value(const char *answer, const char *name, bool *found)
{
    size_t n = strlen(name);
    for (const char *p = answer; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, name, n) == 0 && p[n] == ':' && p[n + 1] == ' ') {
            *found = true;
            return strtoll(p + n + 2, NULL, 10);
        }
    }
    *found = false;
    return 0;
}

static void on_info(struct sync *s, size_t idx, const char *answer, size_t len)
{
    (void)idx;
    (void)len;
    struct certs_state *st = s->st;
    bool has_pid, has_start, has_uptime;
    s->pid = (long)field_value(answer, "Pid", &has_pid);
    s->start_time = field_value(answer, "Start_time_sec", &has_start);
    if (!has_start) {
        long long up = field_value(answer, "Uptime_sec", &has_uptime);
        s->start_time = has_uptime ? (long long)time(NULL) - up : 0;
    }
    bool same =
        has_pid && s->pid == st->pid &&
        (has_start ? s->start_time == st->start_time : llabs(s->start_time - st->start_time) <= 2);
    if (!st->known || !same) {
        s->discover = true;
        st->known = false;
    }
}

static void on_show_certs(struct sync *s, size_t idx, const char *answer, size_t len)
{
    (void)idx;
    struct certs_state *st = s->st;
    clear_applied(st);
    char *copy = xstrndup(answer, len);
    for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (l[0] == '#')
            continue;
        if (l[0] == '*') { /* a transaction left open: ours is aborted */
            if (is_ours(st, l + 1) || strcmp(l + 1, st->default_path) == 0) {
                const char *arg = l + 1;
                send_or_fail(s, "abort ssl cert", &arg, 1, ignore_answer, 0);
            }
            continue;
        }
        if (is_ours(st, l) || strcmp(l, st->default_path) == 0)
            add_applied(st, l);
    }
    free(copy);
}

static void on_show_list(struct sync *s, size_t idx, const char *answer, size_t len)
{
    (void)idx;
    struct certs_state *st = s->st;
    if (len < 2 || strncmp(answer, "# ", 2) != 0) {
        char msg[300];
        one_line(answer, len, msg, sizeof(msg));
        fail(s, -ENOENT, "HAProxy has no crt-list %s (is it on the HTTPS bind line?): %s",
             st->list_path, msg);
        return;
    }
    clear_lines(st);
    char *copy = xstrndup(answer, len);
    size_t cap = 0;
    for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (l[0] == '#')
            continue;
        char *sp = strchr(l, ' ');
        char *rest = sp ? sp + 1 : l + strlen(l);
        if (sp)
            *sp = '\0';
        char *colon = strrchr(l, ':');
        if (!colon)
            continue;
        *colon = '\0';
        if (st->n_lines == cap) {
            cap = cap ? 2 * cap : 16;
            st->lines = xrealloc(st->lines, cap * sizeof(*st->lines));
        }
        struct line *ln = &st->lines[st->n_lines++];
        ln->file = xstrdup(l);
        ln->num = strtoul(colon + 1, NULL, 10);
        ln->rest = xstrdup(rest);
        ln->ours = is_ours(st, l);
    }
    free(copy);
    index_lines(st);
}

static char *read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    fclose(f);
    if (!buf || n > max) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int hex_sha1(const char *hex, unsigned char out[20])
{
    for (int i = 0; i < 20; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    return 0;
}

static void on_fingerprint(struct sync *s, size_t idx, const char *answer, size_t len)
{
    (void)len;
    struct certs_state *st = s->st;
    if (idx >= st->n)
        return;
    struct applied *a = &st->v[idx];
    const char *fp = strstr(answer, "\nSHA1 FingerPrint: ");
    unsigned char have[20], disk_sha1[20];
    a->has_content = fp && hex_sha1(fp + 19, have) == 0;
    a->hash_known = a->disk_ok = false;
    if (!a->has_content)
        return;
    size_t dlen = 0;
    char *disk = read_file(a->file, 1024 * 1024, &dlen);
    if (disk && pem_leaf_sha1(disk, dlen, disk_sha1) == 0 && memcmp(have, disk_sha1, 20) == 0) {
        sha256(disk, dlen, a->hash);
        a->hash_known = a->disk_ok = true;
    }
    if (disk) {
        OPENSSL_cleanse(disk, dlen);
        free(disk);
    }
}

/* ---- certificate content -------------------------------------------------- */

static void content_next(struct sync *s);

static void on_new(struct sync *s, size_t idx, const char *answer, size_t len)
{
    struct job *j = &s->jobs[idx];
    if (strncmp(answer, "New empty certificate store", 27) == 0 ||
        strstr(answer, "already exists")) {
        add_applied(s->st, j->file);
        j->step = STEP_SET_CRT;
    } else {
        char msg[400];
        one_line(answer, len, msg, sizeof(msg));
        add_problem(s, j->secret, "HAProxy refused \"new ssl cert\": %s", msg);
        j->step = STEP_DONE;
    }
    content_next(s);
}

static bool transaction_ok(const char *answer, const char *file)
{
    char want[4200];
    snprintf(want, sizeof(want), "Transaction created for certificate %s!", file);
    if (has_line(answer, want))
        return true;
    snprintf(want, sizeof(want), "Transaction updated for certificate %s!", file);
    return has_line(answer, want);
}

static void on_set(struct sync *s, size_t idx, const char *answer, size_t len)
{
    struct job *j = &s->jobs[idx];
    if (transaction_ok(answer, j->file)) {
        j->step = j->step == STEP_SET_CRT ? STEP_SET_KEY : STEP_COMMIT;
    } else {
        char msg[400];
        one_line(answer, len, msg, sizeof(msg));
        add_problem(s, j->secret, "HAProxy refused the %s: %s",
                    j->step == STEP_SET_CRT ? "certificate" : "key", msg);
        j->step = STEP_ABORT;
    }
    content_next(s);
}

static void on_commit(struct sync *s, size_t idx, const char *answer, size_t len)
{
    struct job *j = &s->jobs[idx];
    if (!has_line(answer, "Success!")) {
        char msg[400];
        one_line(answer, len, msg, sizeof(msg));
        add_problem(s, j->secret, "HAProxy refused to commit the certificate: %s", msg);
        j->step = STEP_ABORT;
        content_next(s);
        return;
    }
    struct applied *a = add_applied(s->st, j->file);
    if (a->has_content)
        s->updated++;
    a->has_content = a->hash_known = true;
    memcpy(a->hash, j->hash, HASH_LEN);
    int rc = atomic_file_write(j->file, j->pem, j->pem_len, 0600);
    a->disk_ok = rc == 0;
    if (rc < 0)
        add_problem(s, j->secret, "writing %s: %s", j->file, strerror(-rc));
    j->step = STEP_DONE;
    content_next(s);
}

static void on_abort(struct sync *s, size_t idx, const char *answer, size_t len)
{
    (void)answer;
    (void)len;
    s->jobs[idx].step = STEP_DONE;
    content_next(s);
}

/* Sends the next command of the job; false when the job has nothing to send. */
static bool job_send(struct sync *s, size_t idx)
{
    struct job *j = &s->jobs[idx];
    const char *file = j->file;
    char key_name[4200];
    snprintf(key_name, sizeof(key_name), "%s.key", j->file);
    const char *key_arg = key_name;
    int rc;
    switch (j->step) {
    case STEP_NEW:
        if (!j->need_new) {
            j->step = STEP_SET_CRT;
            return job_send(s, idx);
        }
        rc = send_cmd(s, "new ssl cert", &file, 1, NULL, 0, on_new, idx);
        break;
    case STEP_SET_CRT:
        rc = send_cmd(s, "set ssl cert", &file, 1, j->pem, j->key_off, on_set, idx);
        if (rc == -EMSGSIZE) {
            add_problem(s, j->secret,
                        "the certificate and its chain (%zu bytes of PEM) do not fit one runtime "
                        "API command (about 15 KiB with tune.bufsize 16384)",
                        j->key_off);
            j->step = STEP_DONE;
            return false;
        }
        break;
    case STEP_SET_KEY:
        rc = send_cmd(s, "set ssl cert", &key_arg, 1, j->pem + j->key_off, j->pem_len - j->key_off,
                      on_set, idx);
        if (rc == -EMSGSIZE || rc == -EINVAL) {
            add_problem(s, j->secret, "the key cannot be sent through the runtime API: %s",
                        strerror(-rc));
            j->step = STEP_ABORT;
            return job_send(s, idx);
        }
        break;
    case STEP_COMMIT:
        rc = send_cmd(s, "commit ssl cert", &file, 1, NULL, 0, on_commit, idx);
        break;
    case STEP_ABORT:
        rc = send_cmd(s, "abort ssl cert", &file, 1, NULL, 0, on_abort, idx);
        break;
    default:
        return false;
    }
    if (rc == -EINVAL) {
        add_problem(s, j->secret, "the certificate cannot be sent through the runtime API");
        j->step = STEP_DONE;
        return false;
    }
    if (rc < 0) {
        fail(s, rc, "runtime API, certificate %s: %s", j->file, strerror(-rc));
        return false;
    }
    return true;
}

static void content_next(struct sync *s)
{
    while (!s->err && s->cur < s->n_jobs) {
        struct job *j = &s->jobs[s->cur];
        if (j->push && j->step != STEP_DONE && job_send(s, s->cur))
            return;
        if (!j->push || j->step == STEP_DONE)
            s->cur++;
    }
}

/* The non-default job for file (jobs are sorted by file, the default last). */
static const struct job *find_job(const struct sync *s, const char *file)
{
    size_t lo = 0, hi = s->n_jobs;
    if (hi && s->jobs[hi - 1].is_default)
        hi--;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(s->jobs[mid].file, file);
        if (c == 0)
            return &s->jobs[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- plan ------------------------------------------------------------------- */

static void write_disk_copy(struct sync *s, struct job *j, struct applied *a)
{
    int rc = atomic_file_write(j->file, j->pem, j->pem_len, 0600);
    a->disk_ok = rc == 0;
    if (rc < 0)
        add_problem(s, j->secret, "writing %s: %s", j->file, strerror(-rc));
}

static void plan(struct sync *s)
{
    struct certs_state *st = s->st;
    for (size_t i = 0; i < s->n_jobs; i++) {
        struct job *j = &s->jobs[i];
        struct applied *a = find_applied(st, j->file);
        if (!j->has_pem)
            continue;
        bool same = a && a->has_content && a->hash_known && memcmp(a->hash, j->hash, HASH_LEN) == 0;
        if (same && a->disk_ok)
            continue;
        if (!j->pem) { /* HAProxy changed under the sync: not copied, retry */
            s->missing_copy = true;
            continue;
        }
        if (same) {
            write_disk_copy(s, j, a);
            continue;
        }
        if (j->is_default && !a) {
            add_problem(s, "", "HAProxy has no certificate %s to replace", j->file);
            continue;
        }
        j->push = true;
        j->need_new = !a;
        j->step = STEP_NEW;
    }
    /* Stores of ours no entry wants any more. */
    for (size_t i = 0; i < st->n; i++) {
        const struct applied *a = &st->v[i];
        if (a->is_default)
            continue;
        if (!find_job(s, a->file)) {
            s->removals = xrealloc(s->removals, (s->n_removals + 1) * sizeof(char *));
            s->removals[s->n_removals++] = xstrdup(a->file);
        }
    }
}

/* ---- crt-list ---------------------------------------------------------------- */

static void on_add_line(struct sync *s, size_t idx, const char *answer, size_t len)
{
    struct job *j = &s->jobs[idx];
    if (has_line(answer, "Success!")) {
        if (j->had_line)
            s->rehosted++;
        else
            s->added++;
        return;
    }
    char msg[400];
    one_line(answer, len, msg, sizeof(msg));
    add_problem(s, j->secret, "HAProxy refused the crt-list line: %s", msg);
}

static void on_del_line(struct sync *s, size_t idx, const char *answer, size_t len)
{
    (void)idx;
    if (strstr(answer, " deleted in crtlist "))
        return;
    char msg[400];
    one_line(answer, len, msg, sizeof(msg));
    /* numbers we had are stale: read HAProxy's state again next time */
    s->st->known = false;
    add_problem(s, "", "HAProxy refused to delete a crt-list line: %s", msg);
}

static const char *secret_of(const struct sync *s, const char *file)
{
    const struct job *j = find_job(s, file);
    return j ? j->secret : "";
}

static void send_del_line(struct sync *s, const struct line *ln)
{
    char ref[4200];
    snprintf(ref, sizeof(ref), "%s:%lu", ln->file, ln->num);
    const char *args[] = {s->st->list_path, ref};
    send_or_fail(s, "del ssl crt-list", args, 2, on_del_line, 0);
    s->list_changed = true;
}

static void list_phase(struct sync *s)
{
    struct certs_state *st = s->st;
    /* which of our lines stay */
    bool *keep = calloc(st->n_lines + 1, sizeof(bool));
    if (!keep) {
        fail(s, -ENOMEM, "out of memory");
        return;
    }
    for (size_t i = 0; i < st->n_lines; i++)
        keep[i] = !st->lines[i].ours;
    /* adds first: a host changing lines keeps being served meanwhile */
    for (size_t i = 0; i < s->n_jobs && !s->err; i++) {
        struct job *j = &s->jobs[i];
        if (j->is_default)
            continue;
        const struct applied *a = find_applied(st, j->file);
        /* no certificate to serve, or its file is not written: lines stay */
        bool can_change = !j->keep_line && a && a->has_content && a->disk_ok;
        size_t best = SIZE_MAX, first;
        size_t end = lines_of(st, j->file, &first);
        for (size_t x = first; x < end; x++) {
            size_t k = st->by_file[x];
            const struct line *ln = &st->lines[k];
            if (!ln->ours)
                continue;
            j->had_line = true;
            if (!can_change)
                keep[k] = true;
            if (strcmp(ln->rest, j->filters) == 0 &&
                (best == SIZE_MAX || ln->num > st->lines[best].num))
                best = k; /* the newest line that is already right */
        }
        if (best != SIZE_MAX)
            keep[best] = true;
        if (!can_change && best == SIZE_MAX && !j->keep_line && a && a->has_content)
            add_problem(s, j->secret, "hosts not changed: %s is not written", j->file);
        if (!can_change || best != SIZE_MAX)
            continue;
        struct strbuf payload = STRBUF_INIT;
        strbuf_puts(&payload, j->file);
        if (j->filters[0])
            strbuf_printf(&payload, " %s", j->filters);
        const char *arg = st->list_path;
        int rc =
            send_cmd(s, "add ssl crt-list", &arg, 1, payload.data, payload.len, on_add_line, i);
        if (rc < 0)
            add_problem(s, j->secret, "the crt-list line cannot be sent: %s", strerror(-rc));
        else
            s->list_changed = true;
        strbuf_free(&payload);
    }
    for (size_t k = 0; k < st->n_lines && !s->err; k++) {
        if (!keep[k]) {
            send_del_line(s, &st->lines[k]);
        }
    }
    free(keep);
}

static void write_list_file(struct sync *s)
{
    struct certs_state *st = s->st;
    struct strbuf text = STRBUF_INIT;
    strbuf_puts(&text, "");
    for (size_t i = 0; i < st->n_lines; i++) {
        const struct line *ln = &st->lines[i];
        if (ln->ours) {
            const struct applied *a = find_applied(st, ln->file);
            if (!a || !a->disk_ok) {
                /* a line naming a missing file would stop HAProxy's restart */
                add_problem(s, secret_of(s, ln->file),
                            "%s left out of %s: the certificate file is not written", ln->file,
                            st->list_path);
                continue;
            }
        }
        strbuf_puts(&text, ln->file);
        if (ln->rest[0])
            strbuf_printf(&text, " %s", ln->rest);
        strbuf_puts(&text, "\n");
    }
    size_t old_len = 0;
    char *old = read_file(st->list_path, 64 * 1024 * 1024, &old_len);
    if (!old || old_len != text.len || memcmp(old, text.data, text.len) != 0) {
        int rc = atomic_file_write(st->list_path, text.data, text.len, 0644);
        if (rc < 0) {
            s->list_write_failed = true;
            fail(s, rc, "writing %s: %s", st->list_path, strerror(-rc));
        }
    }
    free(old);
    strbuf_free(&text);
}

/* ---- removal ------------------------------------------------------------------ */

static void remove_next(struct sync *s);

static void on_del_cert(struct sync *s, size_t idx, const char *answer, size_t len)
{
    const char *file = s->removals[idx];
    if (strstr(answer, "' deleted!")) {
        if (unlink(file) < 0 && errno != ENOENT)
            add_problem(s, "", "removing %s: %s", file, strerror(errno));
        remove_applied(s->st, file);
        s->removed++;
    } else {
        char msg[400];
        one_line(answer, len, msg, sizeof(msg));
        add_problem(s, "", "HAProxy refused to delete certificate %s: %s", file, msg);
    }
    remove_next(s);
}

static void remove_next(struct sync *s)
{
    while (!s->err && s->cur < s->n_removals) {
        const char *file = s->removals[s->cur];
        size_t idx = s->cur++;
        const struct applied *a = find_applied(s->st, file);
        if (!a || file_has_lines(s->st, file))
            continue; /* its line could not be deleted: the store is in use */
        /* one at a time: HAProxy 2.6 breaks the CLI framing on a refused "del
         * ssl cert" (an extra empty line), which drops the connection */
        send_or_fail(s, "del ssl cert", &file, 1, on_del_cert, idx);
        return;
    }
}

/* Files of ours on disk that HAProxy does not serve (a crash between a write
 * and the crt-list, leftovers of atomic writes). */
static void cleanup_files(struct sync *s)
{
    struct certs_state *st = s->st;
    DIR *d = opendir(st->certs_dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *path = path_join(st->certs_dir, e->d_name);
        char *tmp = strstr(path, ".pem.tmp.");
        if (tmp) {
            tmp[4] = '\0';
            if (is_ours(st, path)) {
                tmp[4] = '.';
                unlink(path);
            }
        } else if (is_ours(st, path)) {
            const struct applied *a = find_applied(st, path);
            if (!a || !a->has_content)
                unlink(path);
        }
        free(path);
    }
    closedir(d);
}

/* ---- driver --------------------------------------------------------------------- */

static void finish(struct sync *s)
{
    struct certs_state *st = s->st;
    st->sync = NULL;
    if (s->err)
        st->known = false;
    else if (s->missing_copy)
        fail(s, -EAGAIN, "HAProxy restarted during the sync; sync again");
    struct certs_problem *probs = calloc(s->n_problems + 1, sizeof(*probs));
    for (size_t i = 0; probs && i < s->n_problems; i++)
        probs[i] = (struct certs_problem){s->problems[i].secret, s->problems[i].message};
    struct certs_report r = {
        .err = s->err,
        .detail = s->detail,
        .added = s->added,
        .updated = s->updated,
        .rehosted = s->rehosted,
        .removed = s->removed,
        .commands = s->commands,
        .discovered = s->discover,
        .problems = probs,
        .n_problems = probs ? s->n_problems : 0,
    };
    certs_done_cb cb = s->cb;
    void *user = s->user;
    cb(user, &r);
    free(probs);
    sync_free(s);
}

static void advance(struct sync *s)
{
    struct certs_state *st = s->st;
    while (s->outstanding == 0) {
        if (s->err || s->phase == PH_DONE) {
            finish(s);
            return;
        }
        enum phase p = s->phase++;
        switch (p) {
        case PH_INFO:
            send_or_fail(s, "show info", NULL, 0, on_info, 0);
            break;
        case PH_DISC_CERTS:
            if (s->discover)
                send_or_fail(s, "show ssl cert", NULL, 0, on_show_certs, 0);
            break;
        case PH_DISC_LIST:
            if (s->discover) {
                const char *args[] = {"-n", st->list_path};
                send_or_fail(s, "show ssl crt-list", args, 2, on_show_list, 0);
            }
            break;
        case PH_DISC_FP:
            for (size_t i = 0; s->discover && i < st->n && !s->err; i++) {
                const char *arg = st->v[i].file;
                send_or_fail(s, "show ssl cert", &arg, 1, on_fingerprint, i);
            }
            break;
        case PH_PLAN:
            if (s->discover) {
                st->known = true;
                st->pid = s->pid;
                st->start_time = s->start_time;
            }
            plan(s);
            break;
        case PH_CONTENT:
            s->cur = 0;
            content_next(s);
            break;
        case PH_LIST:
            list_phase(s);
            break;
        case PH_LIST_REFRESH:
            if (s->list_changed) {
                const char *args[] = {"-n", st->list_path};
                send_or_fail(s, "show ssl crt-list", args, 2, on_show_list, 0);
            }
            break;
        case PH_LIST_WRITE:
            write_list_file(s);
            break;
        case PH_REMOVE:
            s->cur = 0;
            if (!s->list_write_failed)
                remove_next(s);
            break;
        case PH_CLEANUP:
            if (s->discover)
                cleanup_files(s);
            break;
        case PH_DONE:
            break;
        }
    }
}

/* ---- desired set ------------------------------------------------------------------ */

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

struct named {
    char *file;
    size_t entry;
};

static int cmp_named(const void *a, const void *b)
{
    const struct named *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    return c ? c : (x->entry > y->entry) - (x->entry < y->entry);
}

/* Where the key starts: the first line "-----BEGIN ...PRIVATE KEY-----". */
static size_t key_offset(const char *pem, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if ((i == 0 || pem[i - 1] == '\n') && len - i > 11 &&
            memcmp(pem + i, "-----BEGIN ", 11) == 0) {
            const char *eol = memchr(pem + i, '\n', len - i);
            size_t ll = eol ? (size_t)(eol - (pem + i)) : len - i;
            if (ll >= 16 && memcmp(pem + i + ll - 16, "PRIVATE KEY-----", 16) == 0)
                return i;
        }
    }
    return 0;
}

static void set_filters(struct job *j)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_puts(&sb, "");
    for (size_t i = 0; i < j->n_hosts; i++)
        strbuf_printf(&sb, "%s%s", i ? " " : "", j->hosts[i]);
    free(j->filters);
    j->filters = strbuf_take(&sb);
}

/* Copies the PEM of a job when it may be needed: HAProxy or the disk may
 * not have it. */
static void job_set_pem(const struct certs_state *st, struct sync *s, struct job *j,
                        const char *pem, size_t len)
{
    if (!pem)
        return;
    size_t off = key_offset(pem, len);
    if (off == 0) {
        add_problem(s, j->secret, "the PEM has no private key after the certificate");
        return;
    }
    j->has_pem = true;
    sha256(pem, len, j->hash);
    const struct applied *a = find_applied(st, j->file);
    bool same = st->known && a && a->has_content && a->hash_known && a->disk_ok &&
                memcmp(a->hash, j->hash, HASH_LEN) == 0;
    if (same)
        return;
    j->pem = malloc(len + 1);
    if (!j->pem)
        abort();
    memcpy(j->pem, pem, len);
    j->pem[len] = '\0';
    j->pem_len = len;
    j->key_off = off;
}

/* Builds the jobs of d, merged per file, hosts checked. */
static int build_jobs(struct certs_state *st, struct sync *s, const struct certs_desired *d)
{
    struct named *names = calloc(d->n_entries + 1, sizeof(*names));
    s->jobs = calloc(d->n_entries + 2, sizeof(*s->jobs));
    if (!names || !s->jobs) {
        free(names);
        return -ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < d->n_entries; i++) {
        const struct certs_entry *e = &d->entries[i];
        char file[4200];
        if (certs_file_name(st->state_dir, e->secret, file, sizeof(file)) < 0) {
            add_problem(s, e->secret ? e->secret : "",
                        "not a valid \"namespace/name\" Secret reference");
            continue;
        }
        names[n].file = xstrdup(file);
        names[n++].entry = i;
    }
    qsort(names, n, sizeof(*names), cmp_named);
    for (size_t i = 0; i < n;) {
        size_t end = i;
        while (end < n && strcmp(names[end].file, names[i].file) == 0)
            end++;
        struct job *j = &s->jobs[s->n_jobs++];
        const struct certs_entry *first = &d->entries[names[i].entry];
        j->file = xstrdup(names[i].file);
        j->secret = xstrdup(first->secret);
        j->step = STEP_DONE;
        const struct certs_entry *with_pem = NULL;
        size_t total = 0;
        for (size_t k = i; k < end; k++) {
            const struct certs_entry *e = &d->entries[names[k].entry];
            if (!with_pem && e->pem)
                with_pem = e;
            total += e->n_hosts;
        }
        if (with_pem)
            job_set_pem(st, s, j, with_pem->pem, with_pem->pem_len);
        j->hosts = calloc(total + 1, sizeof(char *));
        if (!j->hosts)
            abort();
        for (size_t k = i; k < end && !j->keep_line; k++) {
            const struct certs_entry *e = &d->entries[names[k].entry];
            for (size_t h = 0; h < e->n_hosts; h++) {
                if (!host_ok(e->hosts[h])) {
                    char shown[80];
                    int status = 0;
                    const char *host = e->hosts[h];
                    char *esc = host && host[0] ? cli_escape_arg_dup(host, &status) : NULL;
                    snprintf(shown, sizeof(shown), "%s",
                             esc                ? esc
                             : host && !host[0] ? ""
                                                : "(not printable)");
                    free(esc);
                    add_problem(s, j->secret,
                                "host \"%s\" is not a DNS name (or \"*.\" one): hosts left as "
                                "they are",
                                shown);
                    j->keep_line = true;
                    break;
                }
                j->hosts[j->n_hosts++] = xstrdup(e->hosts[h]);
            }
        }
        qsort(j->hosts, j->n_hosts, sizeof(char *), cmp_str_ptr);
        size_t u = 0;
        for (size_t k = 0; k < j->n_hosts; k++) {
            if (u && strcmp(j->hosts[u - 1], j->hosts[k]) == 0)
                free(j->hosts[k]);
            else
                j->hosts[u++] = j->hosts[k];
        }
        j->n_hosts = u;
        set_filters(j);
        if (!j->keep_line && (j->n_hosts > CERTS_MAX_HOSTS ||
                              strlen(j->file) + 1 + strlen(j->filters) > CERTS_MAX_LINE_BYTES)) {
            add_problem(s, j->secret,
                        "too many hosts (%zu) for one crt-list line: left as they are", j->n_hosts);
            j->keep_line = true;
        }
        i = end;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i].file);
    free(names);
    if (d->default_pem) {
        struct job *j = &s->jobs[s->n_jobs++];
        j->file = xstrdup(st->default_path);
        j->secret = xstrdup("");
        j->is_default = j->keep_line = true;
        j->step = STEP_DONE;
        j->hosts = NULL;
        j->filters = xstrdup("");
        job_set_pem(st, s, j, d->default_pem, d->default_pem_len);
    }
    return 0;
}

struct owner {
    const char *host;
    size_t job;
};

static int cmp_owner(const void *a, const void *b)
{
    const struct owner *x = a, *y = b;
    int c = strcmp(x->host, y->host);
    return c ? c : (x->job > y->job) - (x->job < y->job);
}

/* A host listed by two secrets goes to the first by file name. */
static void resolve_shared_hosts(struct sync *s)
{
    size_t total = 0;
    for (size_t i = 0; i < s->n_jobs; i++)
        if (!s->jobs[i].keep_line)
            total += s->jobs[i].n_hosts;
    struct owner *v = calloc(total + 1, sizeof(*v));
    if (!v)
        abort();
    size_t n = 0;
    for (size_t i = 0; i < s->n_jobs; i++)
        for (size_t h = 0; !s->jobs[i].keep_line && h < s->jobs[i].n_hosts; h++)
            v[n++] = (struct owner){s->jobs[i].hosts[h], i};
    /* jobs are sorted by file: the first job listing a host keeps it */
    qsort(v, n, sizeof(*v), cmp_owner);
    bool *changed = calloc(s->n_jobs + 1, sizeof(bool));
    bool *lose = calloc(n + 1, sizeof(bool));
    if (!changed || !lose)
        abort();
    size_t owner = 0; /* the first entry of the current run of one host */
    for (size_t i = 1; i < n; i++) {
        if (strcmp(v[owner].host, v[i].host) != 0) {
            owner = i;
            continue;
        }
        add_problem(s, s->jobs[v[i].job].secret, "host %s is served by secret %s", v[i].host,
                    s->jobs[v[owner].job].secret);
        lose[i] = changed[v[i].job] = true;
    }
    for (size_t i = 0; i < n; i++) {
        struct job *j = &s->jobs[v[i].job];
        for (size_t h = 0; lose[i] && h < j->n_hosts; h++) {
            if (j->hosts[h] == v[i].host) {
                free(j->hosts[h]);
                j->hosts[h] = NULL;
            }
        }
    }
    free(lose);
    for (size_t i = 0; i < s->n_jobs; i++) {
        if (!changed[i])
            continue;
        struct job *j = &s->jobs[i];
        size_t u = 0;
        for (size_t h = 0; h < j->n_hosts; h++)
            if (j->hosts[h])
                j->hosts[u++] = j->hosts[h];
        j->n_hosts = u;
        set_filters(j);
    }
    free(changed);
    free(v);
}

int certs_sync(struct certs_state *st, const struct certs_desired *d, certs_done_cb cb, void *user)
{
    if (st->sync)
        return -EBUSY;
    struct sync *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->st = st;
    s->cb = cb;
    s->user = user;
    int rc = build_jobs(st, s, d);
    if (rc == 0) {
        resolve_shared_hosts(s);
        rc = send_cmd(s, "show info", NULL, 0, NULL, 0, on_info, 0);
    }
    if (rc < 0) {
        sync_free(s);
        return rc;
    }
    s->phase = PH_DISC_CERTS;
    st->sync = s;
    return 0;
}

/* ---- state ------------------------------------------------------------------------- */

static bool path_chars_ok(const char *p)
{
    for (; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '.' || c == '_' || c == '+' || c == '-'))
            return false;
    }
    return true;
}

struct certs_state *certs_state_new(struct runtime_api *api, const char *state_dir, char *err,
                                    size_t errlen)
{
    if (!state_dir || state_dir[0] != '/' || !path_chars_ok(state_dir) ||
        strlen(state_dir) > 3000) {
        snprintf(err, errlen,
                 "state directory must be an absolute path of [A-Za-z0-9/._+-] (it appears in "
                 "crt-list lines)");
        return NULL;
    }
    struct certs_state *st = calloc(1, sizeof(*st));
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    st->api = api;
    st->state_dir = xstrdup(state_dir);
    st->certs_dir = path_join(state_dir, "certs");
    st->list_path = path_join(state_dir, "certs.list");
    st->default_path = path_join(state_dir, "certs/default.pem");
    return st;
}

void certs_state_free(struct certs_state *st)
{
    if (!st)
        return;
    if (st->sync) {
        st->sync->st = NULL; /* freed by its last answer */
        if (st->sync->outstanding == 0)
            sync_free(st->sync);
    }
    clear_applied(st);
    free(st->v);
    clear_lines(st);
    free(st->state_dir);
    free(st->certs_dir);
    free(st->list_path);
    free(st->default_path);
    free(st);
}

void certs_state_invalidate(struct certs_state *st)
{
    st->known = false;
}

size_t certs_state_count(const struct certs_state *st)
{
    size_t n = 0;
    for (size_t i = 0; i < st->n; i++)
        n += !st->v[i].is_default && st->v[i].has_content;
    return n;
}
