/* servers.c - see servers.h. */
#include "haproxy/servers.h"

#include "haproxy/profiles.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int server_spec_init(struct server_spec *s, const char *addr, int port, int weight, bool drain)
{
    unsigned char buf[16];
    memset(s, 0, sizeof(*s));
    if (port < 1 || port > 65535 || strlen(addr) >= SERVER_ADDR_MAX)
        return -1;
    if (inet_pton(AF_INET, addr, buf) != 1 && inet_pton(AF_INET6, addr, buf) != 1)
        return -1;
    snprintf(s->addr, sizeof(s->addr), "%s", addr);
    snprintf(s->name, sizeof(s->name), "ep-%s-%d", addr, port);
    for (char *p = s->name; *p; p++)
        if (*p == ':')
            *p = '_';
    s->port = port;
    s->weight = weight < 1 ? 1 : weight > 256 ? 256 : weight;
    s->drain = drain;
    return 0;
}

int server_spec_cmp(const void *a, const void *b)
{
    return strcmp(((const struct server_spec *)a)->name, ((const struct server_spec *)b)->name);
}

/* Splits line on spaces into at most max fields (modifies line). */
static int split_fields(char *line, char **fields, int max)
{
    int n = 0;
    for (char *tok = strtok(line, " "); tok && n < max; tok = strtok(NULL, " "))
        fields[n++] = tok;
    return n;
}

enum { COL_BE, COL_SRV, COL_ADDR, COL_ADMIN, COL_WEIGHT, COL_PORT, N_COLS };

int servers_state_parse(const char *answer, servers_state_fn fn, void *ud)
{
    static const char *const names[N_COLS] = {"be_name",         "srv_name",    "srv_addr",
                                              "srv_admin_state", "srv_uweight", "srv_port"};
    int col[N_COLS];
    int have_header = 0, count = 0;
    char *copy = strdup(answer);
    if (!copy)
        return -1;
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[64];
        if (line[0] == '#') {
            int n = split_fields(line + 1, f, 64);
            for (int c = 0; c < N_COLS; c++) {
                col[c] = -1;
                for (int i = 0; i < n; i++)
                    if (strcmp(f[i], names[c]) == 0)
                        col[c] = i;
                if (col[c] < 0) {
                    free(copy);
                    return -1;
                }
            }
            have_header = 1;
            continue;
        }
        if (!have_header)
            continue; /* the version line */
        int n = split_fields(line, f, 64);
        struct server_spec s;
        int need = 0;
        for (int c = 0; c < N_COLS; c++)
            need = col[c] > need ? col[c] : need;
        if (n <= need)
            continue;
        memset(&s, 0, sizeof(s));
        snprintf(s.name, sizeof(s.name), "%s", f[col[COL_SRV]]);
        snprintf(s.addr, sizeof(s.addr), "%s", f[col[COL_ADDR]]);
        s.port = atoi(f[col[COL_PORT]]);
        s.weight = atoi(f[col[COL_WEIGHT]]);
        int admin = atoi(f[col[COL_ADMIN]]);
        s.maint = (admin & 0x01) || (admin & 0x02) || (admin & 0x04); /* FMAINT, IMAINT, CMAINT */
        s.drain = (admin & 0x08) != 0;                                /* FDRAIN */
        fn(ud, f[col[COL_BE]], &s);
        count++;
    }
    free(copy);
    return have_header ? count : -1;
}

void server_spec_write(struct strbuf *out, const struct server_spec *s, const char *profile)
{
    int v6 = strchr(s->addr, ':') != NULL;
    strbuf_printf(out, "%s %s%s%s:%d weight %d", s->name, v6 ? "[" : "", s->addr, v6 ? "]" : "",
                  s->port, s->weight);
    if (profile)
        profile_server_options(profile, out);
}

static void add_server(struct strbuf *cmds, const char *be, const char *profile,
                       const struct server_spec *s)
{
    strbuf_printf(cmds, "add server %s/", be);
    server_spec_write(cmds, s, profile);
    strbuf_puts(cmds, "\n");
    strbuf_printf(cmds, "set server %s/%s state %s\n", be, s->name, s->drain ? "drain" : "ready");
}

static size_t update_server(struct strbuf *cmds, const char *be, const struct server_spec *h,
                            const struct server_spec *w)
{
    size_t n = 0;
    if (h->weight != w->weight) {
        strbuf_printf(cmds, "set server %s/%s weight %d\n", be, w->name, w->weight);
        n++;
    }
    if (h->maint || h->drain != w->drain) {
        strbuf_printf(cmds, "set server %s/%s state %s\n", be, w->name,
                      w->drain ? "drain" : "ready");
        n++;
    }
    return n;
}

size_t servers_diff(const char *backend, const char *profile, const struct server_spec *have,
                    size_t n_have, const struct server_spec *want, size_t n_want,
                    struct strbuf *cmds)
{
    size_t i = 0, j = 0, n = 0, added = 0;
    while (i < n_have || j < n_want) {
        int c = i == n_have ? 1 : j == n_want ? -1 : strcmp(have[i].name, want[j].name);
        if (c < 0) { /* gone */
            if (!have[i].maint) {
                strbuf_printf(cmds, "set server %s/%s state maint\n", backend, have[i].name);
                n++;
            }
            strbuf_printf(cmds, "del server %s/%s\n", backend, have[i].name);
            n++;
            i++;
        } else if (c > 0) { /* new */
            add_server(cmds, backend, profile, &want[j]);
            n += 2;
            added++;
            j++;
        } else {
            n += update_server(cmds, backend, &have[i], &want[j]);
            i++;
            j++;
        }
    }
    if (added && profile_has_cookie(profile)) {
        strbuf_printf(cmds, "enable dynamic-cookie backend %s\n", backend);
        n++;
    }
    return n;
}
