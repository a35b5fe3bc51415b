/*
 * xalloc.h - allocation that aborts when memory runs out, as util/strbuf.h
 * does: the agent cannot do anything sensible without memory, and checking
 * every allocation would hide the logic. One copy for every module.
 */
#ifndef SPOKE_XALLOC_H
#define SPOKE_XALLOC_H

#include <stddef.h>

void *xcalloc(size_t n, size_t size);    /* zero-filled; 0 counts as 1 */
void *xrealloc(void *p, size_t size);    /* 0 counts as 1 */
char *xstrdup(const char *s);            /* NULL gives "" */
char *xstrndup(const char *s, size_t n); /* exactly n bytes of s, then a NUL */

#endif
