/*
 * base64.h - strict base64 and base64url codecs for the auth primitives.
 *
 * Decoding is strict, so one token or hash has exactly one spelling: only the
 * alphabet's characters, no whitespace, and the unused low bits of the last
 * character must be zero. base64url (RFC 4648 section 5, as JOSE uses it)
 * takes no padding; standard base64 (section 4) requires it.
 * Pure functions; safe on any thread.
 */
#ifndef SPOKE_AUTH_BASE64_H
#define SPOKE_AUTH_BASE64_H

#include <stddef.h>

/* An upper bound of the decoded size of len input characters. */
#define B64_DECODED_MAX(len) ((len) / 4 * 3 + 3)
/* The exact size of the base64url text of len bytes (no NUL). */
#define B64URL_ENCODED_LEN(len) (((len) / 3) * 4 + ((len) % 3 ? (len) % 3 + 1 : 0))

/* Decodes unpadded base64url into out (outcap bytes). Returns 0 and the
 * length in *outlen, or -1 on any non-canonical input or a short buffer. */
int b64url_decode(const char *in, size_t len, unsigned char *out, size_t outcap, size_t *outlen);

/* Decodes padded standard base64 (length a multiple of 4). Same contract. */
int b64std_decode(const char *in, size_t len, unsigned char *out, size_t outcap, size_t *outlen);

/* Encodes len bytes as unpadded base64url into out, which must hold
 * B64URL_ENCODED_LEN(len) + 1 bytes; NUL-terminates. Returns the length. */
size_t b64url_encode(const unsigned char *in, size_t len, char *out);

#endif
