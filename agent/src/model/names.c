/* names.c - see names.h. */
#include "model/names.h"

#include <string.h>

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A label of n bytes at s: [a-z0-9]([a-z0-9-]*[a-z0-9])?, 1..63. */
static bool label_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_lower_alnum(s[i]) && s[i] != '-')
            return false;
    return true;
}

bool names_is_dns_subdomain(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > NAMES_HOST_MAX)
        return false;
    for (;;) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        if (!label_ok(s, n))
            return false;
        if (!dot)
            return true;
        s = dot + 1;
    }
}

bool names_is_dns_label(const char *s)
{
    return s && label_ok(s, strlen(s));
}

bool names_is_dns1035_label(const char *s)
{
    return names_is_dns_label(s) && s[0] >= 'a' && s[0] <= 'z';
}

bool names_is_port_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    bool letter = false;
    if (n == 0 || n > 15 || s[0] == '-' || s[n - 1] == '-' || strstr(s, "--"))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!is_lower_alnum(s[i]) && s[i] != '-')
            return false;
        letter |= s[i] >= 'a' && s[i] <= 'z';
    }
    return letter;
}

const char *names_host_normalize(const char *host, char *out, bool *wildcard)
{
    size_t n = host ? strlen(host) : 0;
    *wildcard = false;
    if (n == 0)
        return "is empty";
    if (n > NAMES_HOST_MAX)
        return "is longer than 253 bytes";
    for (size_t i = 0; i <= n; i++) {
        char c = host[i];
        out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    const char *rest = out;
    if (out[0] == '*') {
        if (out[1] != '.')
            return "has a '*' that is not a leading \"*.\"";
        *wildcard = true;
        rest = out + 2;
    }
    if (!names_is_dns_subdomain(rest))
        return "is not a valid DNS name (RFC 1123)";
    return NULL;
}

bool names_is_uri_path_text(const char *s)
{
    static const char extra[] = "-._~!$&'()*+,;=:@/";
    for (; *s; s++) {
        char c = *s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            continue;
        if (c == '%') {
            if (!is_hex(s[1]) || !is_hex(s[2]))
                return false;
            s += 2;
            continue;
        }
        if (!strchr(extra, c))
            return false;
    }
    return true;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

const char *names_path_normalize(const char *path, enum model_path_type type, char *out)
{
    if (!path || !*path) {
        if (type != MODEL_PATH_IMPL_SPECIFIC)
            return "is required for pathType Exact and Prefix";
        path = "/";
    }
    size_t n = strlen(path);
    if (path[0] != '/')
        return "must start with '/'";
    if (n > NAMES_PATH_MAX)
        return "is longer than 2048 bytes";
    if (type == MODEL_PATH_IMPL_SPECIFIC && strpbrk(path, "^$*+?()[]{}|\\"))
        return "looks like a regular expression, which is not supported (ImplementationSpecific "
               "paths are matched as Prefix)";
    if (!names_is_uri_path_text(path))
        return "contains a character that is not allowed in a URL path";
    static const char *const bad_seq[] = {"//", "/./", "/../", "%2f", "%2F"};
    for (size_t i = 0; i < sizeof(bad_seq) / sizeof(bad_seq[0]); i++)
        if (strstr(path, bad_seq[i]))
            return "contains \"//\", \"/./\", \"/../\" or an encoded '/'";
    if (ends_with(path, n, "/.") || ends_with(path, n, "/.."))
        return "ends with \"/.\" or \"/..\"";
    memcpy(out, path, n + 1);
    if (type != MODEL_PATH_EXACT && n > 1 && out[n - 1] == '/')
        out[n - 1] = '\0';
    return NULL;
}
