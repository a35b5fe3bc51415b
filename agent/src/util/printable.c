/* printable.c - see printable.h. */
#include "util/printable.h"

#include <string.h>

static bool is_printable(unsigned char c)
{
    return c >= 0x20 && c < 0x7f;
}

bool printable_ascii(const char *s)
{
    for (; *s; s++)
        if (!is_printable((unsigned char)*s))
            return false;
    return true;
}

void printable_sanitize(char *s)
{
    for (; *s; s++)
        if (!is_printable((unsigned char)*s))
            *s = '?';
}

const char *printable_quote(const char *s, size_t n, size_t max, char *out)
{
    const bool cstr = n == PRINTABLE_CSTR;
    size_t i = 0;
    for (; i < max && (cstr ? s[i] != '\0' : i < n); i++)
        out[i] = is_printable((unsigned char)s[i]) ? s[i] : '?';
    const bool cut = cstr ? s[i] != '\0' : n > i;
    if (cut) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}
