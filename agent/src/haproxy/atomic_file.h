/*
 * atomic_file.h - replace a file's content all at once.
 *
 * The data goes to a temporary file in the same directory, which is
 * fsync'ed, given its mode, and renamed over the target; then the directory
 * is fsync'ed so the rename itself survives a crash. A reader (HAProxy at
 * its next start) sees either the old file or the new one, never a mix.
 */
#ifndef SPOKE_HAPROXY_ATOMIC_FILE_H
#define SPOKE_HAPROXY_ATOMIC_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Writes len bytes of data to path with permissions mode (e.g. 0644).
 * Returns 0, or a negative errno; on failure the old file is untouched and
 * no temporary file is left behind. Blocking: meant for small files. */
int atomic_file_write(const char *path, const void *data, size_t len, mode_t mode);

#endif
