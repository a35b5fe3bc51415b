/*
 * spop_varint.h - SPOP variable-length integers (SPOE.txt 3.1, the "Peers"
 * encoding): values below 240 take one byte; larger values start with a byte
 * >= 240 carrying 4 bits, then bytes of 7 bits where a set high bit means
 * "more follows". A uint64_t takes at most SPOP_VARINT_MAX_LEN bytes.
 */
#ifndef SPOKE_SPOP_VARINT_H
#define SPOKE_SPOP_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define SPOP_VARINT_MAX_LEN 10

/* Number of bytes spop_varint_encode() writes for v (1..SPOP_VARINT_MAX_LEN). */
size_t spop_varint_len(uint64_t v);

/* Writes v into out[0..cap). Returns the number of bytes written, or 0 (and
 * writes nothing) when cap is too small. */
size_t spop_varint_encode(uint64_t v, uint8_t *out, size_t cap);

/* Reads one varint from in[0..len). Returns the number of bytes consumed, or
 * 0 when the input is truncated or encodes a value above UINT64_MAX; *v is
 * only written on success. Never reads past in + len. */
size_t spop_varint_decode(const uint8_t *in, size_t len, uint64_t *v);

#endif
