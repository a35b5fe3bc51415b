/* canary.c - see canary.h: parsing and checking the canary annotations. */
#include "model/canary.h"

#include <regex.h>
#include <string.h>

#include "model/annotations.h"
#include "model/objects.h"
#include "util/printable.h"

static void report_invalid(canary_report_fn report, void *ud, const char *key, const char *v,
                           const char *why)
{
    if (report)
        report(ud, key, v, why);
}

const char *canary_check_token(const char *s)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    size_t n = strlen(s);
    if (n == 0 || n > CANARY_NAME_MAX)
        return "must be 1 to 128 bytes";
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr(extra, c)))
            return "must be a token: letters, digits and !#$%&'*+-.^_`|~";
    }
    return NULL;
}

const char *canary_check_value(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CANARY_VALUE_MAX || !printable_ascii(s))
        return "must be 1 to 256 bytes of printable ASCII";
    if (s[0] == ' ' || s[n - 1] == ' ')
        return "must not start or end with a space";
    return NULL;
}

/* The end of the bracket expression starting at s[i] == '[' (the index of
 * its ']'), or the end of the string when it is not closed. */
static size_t bracket_end(const char *s, size_t i)
{
    i++;
    if (s[i] == '^')
        i++;
    if (s[i] == ']')
        i++;
    for (; s[i] && s[i] != ']'; i++) {
        if (s[i] == '[' && (s[i + 1] == ':' || s[i + 1] == '=' || s[i + 1] == '.')) {
            char kind = s[i + 1];
            for (i += 2; s[i] && !(s[i] == kind && s[i + 1] == ']'); i++)
                ;
            if (!s[i])
                return i;
            i++;
        }
    }
    return i;
}

/* An estimate of the nodes glibc's regcomp builds for s, which duplicates
 * the repeated atom for "+" and "{n,m}": nested repetitions multiply
 * (a fuzzer found that "a++++...+" takes gigabytes). Refuses stacked
 * quantifiers ("a**", "a+{2}") and back-references ("\1", exponential
 * to match). Returns the cost, or CANARY_PATTERN_COST_MAX + 1. */
static unsigned long pattern_cost(const char *s)
{
    enum { DEPTH = 32 };
    const unsigned long over = CANARY_PATTERN_COST_MAX + 1ul;
    unsigned long size[DEPTH] = {0}, last = 0;
    size_t d = 0;
    bool after_quantifier = false;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        bool quantifier =
            c == '*' || c == '+' || c == '?' || (c == '{' && s[i + 1] >= '0' && s[i + 1] <= '9');
        if (quantifier && after_quantifier)
            return over;
        after_quantifier = quantifier;
        if (c == '*' || c == '?') {
            size[d] += 1;
        } else if (c == '+') {
            size[d] += last + 1;
            last *= 2;
        } else if (quantifier) { /* {n}, {n,}, {n,m}: glibc makes max(n, m) or n + 1 copies */
            unsigned long lo = 0, hi = 0, *cur = &lo;
            bool comma = false;
            for (i++; s[i] && s[i] != '}'; i++) {
                if (s[i] == ',' && !comma) {
                    comma = true;
                    cur = &hi;
                } else if (s[i] >= '0' && s[i] <= '9') {
                    *cur = *cur * 10 + (unsigned long)(s[i] - '0');
                    if (*cur > CANARY_PATTERN_COST_MAX)
                        return over;
                } else {
                    return over; /* not an interval: let nothing odd through */
                }
            }
            if (!s[i])
                return over;
            unsigned long copies = comma ? (hi > lo ? hi : lo + 1) : lo;
            if (copies == 0)
                copies = 1;
            size[d] += last * (copies - 1) + copies;
            last *= copies;
        } else if (c == '(') {
            if (++d == DEPTH)
                return over;
            size[d] = 0;
            last = 0;
            continue;
        } else if (c == ')') {
            if (d == 0)
                return over;
            last = size[d] + 1;
            size[--d] += last;
        } else if (c == '|') {
            size[d] += 1;
            last = 0;
        } else {
            if (c == '\\') {
                if (s[i + 1] >= '0' && s[i + 1] <= '9')
                    return over;
                if (s[i + 1])
                    i++;
            } else if (c == '[') {
                i = bracket_end(s, i);
                if (!s[i])
                    return over;
            }
            size[d] += 1;
            last = 1;
        }
        if (size[d] > CANARY_PATTERN_COST_MAX || last > CANARY_PATTERN_COST_MAX)
            return over;
    }
    return size[0];
}

const char *canary_check_pattern(const char *s)
{
    if (strlen(s) == 0 || strlen(s) > CANARY_VALUE_MAX || !printable_ascii(s))
        return "must be 1 to 256 bytes of printable ASCII";
    if (pattern_cost(s) > CANARY_PATTERN_COST_MAX)
        return "is too complex: stacked or deeply nested repetitions, large {n,m} counts or "
               "back-references";
    regex_t re;
    if (regcomp(&re, s, REG_EXTENDED | REG_NOSUB) != 0)
        return "is not a POSIX extended regular expression";
    regfree(&re);
    return NULL;
}

bool canary_has_settings(const json_t *ingress)
{
    const json_t *ann = json_object_get(json_object_get(ingress, "metadata"), "annotations");
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)ann, key, value)
    {
        if (strncmp(key, ANNOTATION_CANARY "-", sizeof(ANNOTATION_CANARY)) == 0)
            return true;
    }
    return false;
}

/* Decimal digits only, at most max: 0 and *out set, else -1. */
static int parse_uint(const char *v, unsigned max, unsigned *out)
{
    unsigned long n = 0;
    if (!*v)
        return -1;
    for (; *v; v++) {
        if (*v < '0' || *v > '9')
            return -1;
        n = n * 10 + (unsigned long)(*v - '0');
        if (n > max)
            return -1;
    }
    *out = (unsigned)n;
    return 0;
}

/* One optional string annotation through check: 0 (absent or valid, *out
 * set), -1 (invalid, reported). */
static int string_setting(const json_t *ingress, const char *key,
                          const char *(*check)(const char *), const char **out,
                          canary_report_fn report, void *ud)
{
    const char *v = json_annotation(ingress, key);
    *out = NULL;
    if (!v)
        return 0;
    const char *why = check(v);
    if (why) {
        report_invalid(report, ud, key, v, why);
        return -1;
    }
    *out = v;
    return 0;
}

enum canary_kind canary_parse(const json_t *ingress, struct model_canary *out,
                              canary_report_fn report, void *ud)
{
    memset(out, 0, sizeof(*out));
    const char *v = json_annotation(ingress, ANNOTATION_CANARY);
    bool on;
    if (!v)
        return CANARY_NOT;
    if (annotation_parse_bool(v, &on) != 0) {
        report_invalid(report, ud, ANNOTATION_CANARY, v, "must be \"true\" or \"false\"");
        return CANARY_INVALID;
    }
    if (!on)
        return CANARY_NOT;

    int bad = 0;
    out->total = CANARY_DEFAULT_TOTAL;
    if ((v = json_annotation(ingress, ANNOTATION_CANARY_WEIGHT_TOTAL)) &&
        (parse_uint(v, CANARY_TOTAL_MAX, &out->total) != 0 || out->total == 0)) {
        report_invalid(report, ud, ANNOTATION_CANARY_WEIGHT_TOTAL, v,
                       "must be an integer from 1 to 1000000");
        out->total = CANARY_DEFAULT_TOTAL;
        bad = -1;
    }
    if ((v = json_annotation(ingress, ANNOTATION_CANARY_WEIGHT)) &&
        parse_uint(v, out->total, &out->weight) != 0) {
        report_invalid(report, ud, ANNOTATION_CANARY_WEIGHT, v,
                       "must be an integer from 0 to the weight total (default 100)");
        bad = -1;
    }
    bad |= string_setting(ingress, ANNOTATION_CANARY_HEADER, canary_check_token, &out->header,
                          report, ud);
    bad |= string_setting(ingress, ANNOTATION_CANARY_HEADER_VALUE, canary_check_value,
                          &out->header_value, report, ud);
    bad |= string_setting(ingress, ANNOTATION_CANARY_HEADER_PATTERN, canary_check_pattern,
                          &out->header_pattern, report, ud);
    bad |= string_setting(ingress, ANNOTATION_CANARY_COOKIE, canary_check_token, &out->cookie,
                          report, ud);
    if (!out->header && (out->header_value || out->header_pattern)) {
        const char *key =
            out->header_value ? ANNOTATION_CANARY_HEADER_VALUE : ANNOTATION_CANARY_HEADER_PATTERN;
        report_invalid(report, ud, key, json_annotation(ingress, key),
                       "needs spoke.dev/canary-by-header");
        bad = -1;
    }
    if (out->header_value)
        out->header_pattern = NULL; /* -value wins, as with ingress-nginx */
    if (bad) {
        memset(out, 0, sizeof(*out));
        return CANARY_INVALID;
    }
    return CANARY_VALID;
}
