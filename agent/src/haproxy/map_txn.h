/*
 * map_txn.h - replace the whole content of an HAProxy map atomically, and
 * keep the map file on disk equal to it.
 *
 * Versioned maps (HAProxy 2.4+, management.txt 9.3 "prepare map", "add map",
 * "commit map"):
 *   1. "prepare map MAP"            -> "New version created: N"
 *   2. "add map @N MAP <<" + lines "key value", in chunks of at most
 *      MAP_TXN_CHUNK_BYTES so every command stays well under tune.bufsize;
 *      all chunks are pipelined. Entries of version N match nothing yet.
 *   3. the same lines are written to the map file (atomic_file.h)
 *   4. "commit map @N MAP"          -> version N replaces the current one at
 *      once, for every request that follows.
 * On any error the transaction stops before the commit; HAProxy drops the
 * uncommitted version at the next commit (management.txt: "unused versions
 * will automatically be removed once a more recent version is committed").
 *
 * Why the file is written after the adds and before the commit:
 *  - before the commit: a crash between the two leaves the file holding the
 *    new routes and HAProxy the old ones; HAProxy restarting from the file
 *    comes back to the desired state, and the agent commits again when it
 *    restarts. Committing first could leave HAProxy serving routes the file
 *    does not have, and a later restart of HAProxy would silently go back in
 *    time.
 *  - after the adds: content HAProxy refused (an add error) never reaches
 *    the disk.
 *  - if the commit fails after the write, the file is ahead of HAProxy; the
 *    callback reports the error and the next reconcile replaces the map
 *    again, which converges.
 *
 * Entries are validated (cli_escape.h) before anything is sent: one refused
 * key or value fails the whole call, naming the entry, and HAProxy and the
 * file are left untouched - never half-applied. Entries keep their order in
 * HAProxy and in the file (it matters for first-match lookups like map_reg;
 * map_beg and map_str use trees and do not depend on it).
 *
 * One transaction per map at a time: "commit" of an older version fails
 * once a newer one is committed, so callers serialise per map.
 */
#ifndef SPOKE_HAPROXY_MAP_TXN_H
#define SPOKE_HAPROXY_MAP_TXN_H

#include <stddef.h>

#include "haproxy/runtime_api.h"

/* Payload bytes per "add map" command. */
#define MAP_TXN_CHUNK_BYTES 8192
/* Longest map name (the path HAProxy knows the map by). */
#define MAP_TXN_NAME_MAX 1024

struct map_entry {
    const char *key;
    const char *value;
};

/* Called once. err is 0 when the new version is committed, else a negative
 * errno (-EPROTO: HAProxy answered with an error; others from runtime_api.h
 * or from writing the file); detail says which step failed and HAProxy's
 * answer. */
typedef void (*map_txn_done_cb)(void *user, int err, const char *detail);

/* Starts replacing the content of map map_name (as HAProxy names it: the
 * file path from the configuration) by entries[0..n_entries). file_path is
 * the file to keep equal (usually map_name; NULL: HAProxy only). Everything
 * needed is copied: entries may be freed on return.
 *
 * Returns 0 (cb will be called), or a negative errno with a reason in err
 * (cb will not be called): -EINVAL for a refused entry or map name, -ENOMEM,
 * or what runtime_api_send returned. */
int map_txn_replace(struct runtime_api *api, const char *map_name, const char *file_path,
                    const struct map_entry *entries, size_t n_entries, map_txn_done_cb cb,
                    void *user, char *err, size_t errlen);

/* The bytes of a map file for entries, "key value\n" per entry, as written
 * by map_txn_replace (for comparing with the file on disk). Returns a
 * malloc'd NUL-terminated string, or NULL if an entry is refused (err says
 * which) or memory runs out. */
char *map_txn_format(const struct map_entry *entries, size_t n_entries, size_t *len, char *err,
                     size_t errlen);

#endif
