/*
 * scratch.h - scratch files and shell commands for unit tests that make
 * keys, certificates and password hashes with the openssl (or mkpasswd)
 * command at test time.
 *
 * Header-only (static inline functions): every agent/tests/test_*.c is a
 * binary of its own. scratch_dir() is a private directory under $TMPDIR (or
 * /tmp) named SCRATCH_PREFIX-XXXXXX (define SCRATCH_PREFIX before including
 * this to name it), made on first use and removed with everything in it at
 * exit; call it once before starting threads. scratch_path(name) names a
 * file in it. sh() runs a printf-formatted shell command, run_line() keeps
 * the first line a command prints, slurp() and spit() read and write whole
 * files.
 */
#ifndef SPOKE_TEST_SCRATCH_H
#define SPOKE_TEST_SCRATCH_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SCRATCH_PREFIX
#define SCRATCH_PREFIX "spoke-test"
#endif

static inline char *scratch__dir(void)
{
    static char dir[256] = ""; /* set by scratch_dir() */
    return dir;
}

static inline void scratch__remove(void)
{
    const char *dir = scratch__dir();
    if (dir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
}

/* The scratch directory, made on first use (exits if it cannot be). */
static inline const char *scratch_dir(void)
{
    char *dir = scratch__dir();
    if (!dir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(dir, 256, "%s/" SCRATCH_PREFIX "-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            exit(1);
        }
        atexit(scratch__remove);
    }
    return dir;
}

/* DIR/name; the last 8 results (per thread) stay valid. */
static inline const char *scratch_path(const char *name)
{
    static __thread char buf[8][320];
    static __thread int next;
    const char *dir = scratch_dir();
    char *p = buf[next++ % 8];
    snprintf(p, 320, "%s/%s", dir, name);
    return p;
}

/* Runs a shell command (printf format); its exit status, reported when not 0. */
static inline int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc != 0)
        printf("# command failed (%d): %s\n", rc, cmd);
    return rc;
}

/* The first line a command prints (newline removed) into out, or "". */
static inline void run_line(char *out, size_t len, const char *cmd)
{
    out[0] = '\0';
    FILE *f = popen(cmd, "r");
    if (!f)
        return;
    if (!fgets(out, (int)len, f))
        out[0] = '\0';
    pclose(f);
    out[strcspn(out, "\r\n")] = '\0';
}

/* A file's first MiB, malloc'd and NUL-terminated, its length in *len; NULL
 * if it cannot be opened. */
static inline char *slurp(const char *file, size_t *len)
{
    FILE *f = fopen(file, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* Writes len bytes of data to file (replacing it). */
static inline void spit(const char *file, const void *data, size_t len)
{
    FILE *f = fopen(file, "wb");
    if (f) {
        fwrite(data, 1, len, f);
        fclose(f);
    }
}

#endif
