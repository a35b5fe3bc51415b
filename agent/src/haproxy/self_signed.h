/*
 * self_signed.h - a self-signed certificate for the HTTPS listener to start
 * with, before (or without) any certificate from a Secret.
 */
#ifndef SPOKE_SELF_SIGNED_H
#define SPOKE_SELF_SIGNED_H

#include <stddef.h>

/* Writes an EC P-256 key and a self-signed certificate (common name cn,
 * valid ten years) as one PEM file, mode 0600. Returns 0 or -1 with err. */
int self_signed_write(const char *path, const char *cn, char *err, size_t errlen);

#endif
