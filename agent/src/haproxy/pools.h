/*
 * pools.h - which pool backend serves which Service port.
 *
 * HAProxy 2.6 cannot create a backend at run time, so haproxy.cfg declares
 * backends in advance, per profile (the settings only a reload can change,
 * model_profile_name()): pool_PROFILE_0001, _0002, ... A model backend takes
 * a free slot of its profile and keeps it while it exists, so its routes and
 * servers never move. Only an exhausted profile (or a profile never seen)
 * needs a reload: pools_grow() doubles it, the caller re-renders
 * haproxy.cfg and reloads. The assignment is saved in the state directory
 * so an agent restart finds the same slots.
 */
#ifndef SPOKE_HAPROXY_POOLS_H
#define SPOKE_HAPROXY_POOLS_H

#include <stddef.h>

struct pools;

struct pools *pools_new(unsigned initial_size);
/* The size of profiles added from now on (0 = 1). */
void pools_set_initial_size(struct pools *p, unsigned initial_size);
void pools_free(struct pools *p);

/* Declares profile with initial_size slots if it is not known yet. */
void pools_add_profile(struct pools *p, const char *profile);

/* The slot (HAProxy backend name) of backend_id, allocating a free one of
 * its profile; NULL when the profile is unknown or full (grow and reload). */
const char *pools_assign(struct pools *p, const char *profile, const char *backend_id);
/* The slot of backend_id, or NULL. */
const char *pools_lookup(const struct pools *p, const char *backend_id);
/* Frees the slot of backend_id (its servers must be gone). */
void pools_release(struct pools *p, const char *backend_id);
/* Doubles a profile (adds it with the initial size if unknown). */
void pools_grow(struct pools *p, const char *profile);

size_t pools_n_profiles(const struct pools *p);
const char *pools_profile(const struct pools *p, size_t i);
unsigned pools_size(const struct pools *p, size_t i);
/* The backend id in slot j (0-based) of profile i, or NULL when free. */
const char *pools_slot_owner(const struct pools *p, size_t i, unsigned j);
/* The HAProxy name of slot j (0-based) of profile i into buf. */
void pools_slot_name(const struct pools *p, size_t i, unsigned j, char *buf, size_t len);

/* {"profiles":[{"name":..,"size":..,"slots":{"pool_x_0001":"backend-id"}}]}.
 * load: a missing file is not an error (returns 0 and keeps p as is). */
int pools_save(const struct pools *p, const char *path);
int pools_load(struct pools *p, const char *path, char *err, size_t errlen);

#endif
