/*
 * spop_varint.c - SPOP varint encode/decode; see spop_varint.h. The byte
 * layout follows HAProxy's encode_varint()/decode_varint(): every byte after
 * the first is added shifted by 4, 11, 18, ... bits, high bit included, which
 * makes the encoding bijective (no overlong forms to reject).
 */
#include "spoe/spop_varint.h"

size_t spop_varint_len(uint64_t v)
{
    if (v < 240)
        return 1;
    size_t n = 2;
    v = (v - 240) >> 4;
    while (v >= 128) {
        v = (v - 128) >> 7;
        n++;
    }
    return n;
}

size_t spop_varint_encode(uint64_t v, uint8_t *out, size_t cap)
{
    size_t n = spop_varint_len(v);
    if (out == NULL || cap < n)
        return 0;
    if (v < 240) {
        out[0] = (uint8_t)v;
        return 1;
    }
    size_t i = 0;
    out[i++] = (uint8_t)((v & 0xff) | 0xf0);
    v = (v - 240) >> 4;
    while (v >= 128) {
        out[i++] = (uint8_t)((v & 0xff) | 0x80);
        v = (v - 128) >> 7;
    }
    out[i++] = (uint8_t)v;
    return i;
}

size_t spop_varint_decode(const uint8_t *in, size_t len, uint64_t *v)
{
    if (in == NULL || len == 0)
        return 0;
    uint64_t r = in[0];
    if (r < 240) {
        *v = r;
        return 1;
    }
    unsigned shift = 4;
    size_t i = 1;
    for (;;) {
        if (i >= len || shift >= 64)
            return 0;
        uint64_t b = in[i++];
        uint64_t add = b << shift;
        if ((add >> shift) != b || r > UINT64_MAX - add)
            return 0; /* the value does not fit in 64 bits */
        r += add;
        if (b < 128)
            break;
        shift += 7;
    }
    *v = r;
    return i;
}
