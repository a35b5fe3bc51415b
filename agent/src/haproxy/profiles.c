/* profiles.c - see profiles.h. */
#include "haproxy/profiles.h"

#include <stdbool.h>
#include <string.h>

struct parsed {
    const char *proto;
    const char *balance;
    bool cookie;
};

static int parse(const char *profile, struct parsed *out)
{
    static const char *const protos[] = {"http", "h2", "https"};
    static const char *const balances[] = {"roundrobin", "leastconn", "source", "random"};
    const char *dash = strchr(profile, '-');
    if (!dash)
        return -1;
    out->proto = NULL;
    for (size_t i = 0; i < 3; i++)
        if ((size_t)(dash - profile) == strlen(protos[i]) &&
            strncmp(profile, protos[i], (size_t)(dash - profile)) == 0)
            out->proto = protos[i];
    const char *rest = dash + 1;
    const char *cookie = strstr(rest, "-cookie");
    out->cookie = cookie && strcmp(cookie, "-cookie") == 0;
    size_t blen = out->cookie ? (size_t)(cookie - rest) : strlen(rest);
    out->balance = NULL;
    for (size_t i = 0; i < 4; i++)
        if (blen == strlen(balances[i]) && strncmp(rest, balances[i], blen) == 0)
            out->balance = balances[i];
    return out->proto && out->balance ? 0 : -1;
}

int profile_backend_lines(const char *profile, struct strbuf *out)
{
    struct parsed p;
    if (parse(profile, &p) < 0)
        return -1;
    strbuf_printf(out, "balance %s\n", p.balance);
    /* Dynamic servers take no "cookie" keyword on 2.6 ("not accepted for
     * dynamic server"): "dynamic" cookies are computed from each server's
     * address and port and the key, so they hold across reloads and agent
     * restarts. The key only hides the address; it is not a secret. */
    if (p.cookie)
        strbuf_puts(out, "cookie SPOKEAFFINITY insert indirect nocache httponly dynamic\n"
                         "dynamic-cookie-key spoke-affinity\n");
    /* spoke.dev/timeout-server, set by the frontend from the route. */
    strbuf_puts(out, "http-request set-timeout server var(txn.timeout_server) if { "
                     "var(txn.timeout_server) -m found }\n");
    /* No ready endpoint: HAProxy answers 503 itself. (A rule on "nbsrv eq 0"
     * would say why, but nbsrv reads 0 for a moment in a freshly reloaded
     * worker, which turned a hitless reload into a few 503s.) */
    return 0;
}

int profile_server_options(const char *profile, struct strbuf *out)
{
    struct parsed p;
    if (parse(profile, &p) < 0)
        return -1;
    if (strcmp(p.proto, "h2") == 0)
        strbuf_puts(out, " proto h2");
    else if (strcmp(p.proto, "https") == 0)
        strbuf_puts(out, " ssl verify none alpn h2,http/1.1");
    return 0;
}

int profile_has_cookie(const char *profile)
{
    struct parsed p;
    return profile && parse(profile, &p) == 0 && p.cookie;
}
