/* hdrs_bin.c - see hdrs_bin.h. */
#include "spoe/hdrs_bin.h"

#include <string.h>

#include "spoe/spop_varint.h"

void hdrs_iter_init(struct hdrs_iter *it, const uint8_t *buf, size_t len)
{
    it->p = buf;
    it->end = buf + len;
    it->n = 0;
}

/* One length-prefixed string; false when truncated. */
static bool read_str(struct hdrs_iter *it, const uint8_t **s, size_t *n)
{
    uint64_t len;
    size_t used = spop_varint_decode(it->p, (size_t)(it->end - it->p), &len);
    if (used == 0 || len > (uint64_t)(it->end - it->p - (ptrdiff_t)used))
        return false;
    *s = it->p + used;
    *n = (size_t)len;
    it->p = *s + len;
    return true;
}

int hdrs_iter_next(struct hdrs_iter *it, const uint8_t **name, size_t *nlen, const uint8_t **value,
                   size_t *vlen)
{
    if (it->p >= it->end)
        return 0;
    if (it->n++ >= HDRS_BIN_MAX_HEADERS)
        return -1;
    if (!read_str(it, name, nlen) || !read_str(it, value, vlen))
        return -1;
    if (*nlen == 0) { /* the end marker */
        it->p = it->end;
        return 0;
    }
    return 1;
}

static int lower(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch;
}

bool hdrs_name_eq(const uint8_t *p, size_t n, const char *name)
{
    if (n != strlen(name))
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(p[i]) != lower((unsigned char)name[i]))
            return false;
    return true;
}

int hdrs_find(const uint8_t *buf, size_t len, const char *name, const uint8_t **value, size_t *vlen)
{
    struct hdrs_iter it;
    const uint8_t *n, *v;
    size_t nl, vl;
    int r;
    hdrs_iter_init(&it, buf, len);
    while ((r = hdrs_iter_next(&it, &n, &nl, &v, &vl)) == 1) {
        if (!hdrs_name_eq(n, nl, name))
            continue;
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            vl--;
        *value = v;
        *vlen = vl;
        return 1;
    }
    return r;
}
