/*
 * cli_escape.h - make untrusted strings safe for HAProxy's runtime API.
 *
 * Every host, path, map key/value, server name or address that comes from a
 * Kubernetes object goes through here before it reaches the CLI, so that no
 * value can start a second command, end the line, or switch the CLI into
 * payload mode.
 *
 * What the 2.6 CLI parser does (management.txt 9.3 "Unix Socket commands",
 * and cli.c): a line ends at '\n' or at an unescaped ';' (which starts the
 * next command); a '\r' before the '\n' is dropped; arguments are split on
 * spaces and tabs; '\\' makes the next character literal and is removed; a
 * line whose raw text ends with "<<" switches to payload mode. Payload lines
 * are taken raw (no escapes, no ';'), and an empty line ends the payload.
 *
 * Two contexts, two rules:
 *  - arguments (cli_escape_arg): control characters (< 0x20, 0x7f, so also
 *    '\n' '\r' '\t') and invalid UTF-8 are refused; every byte outside a
 *    small safe set (space, ';', '\\', '<', quotes, ...) gets a '\\' in front.
 *  - payload lines of `add map ... <<` and lines of a map file
 *    (cli_check_map_key / cli_check_map_value): nothing can be escaped there,
 *    so whatever cannot be represented is refused: a key with a space, a key
 *    starting with '#' (a comment in a map file; a "#<ref>" in set/del map),
 *    a value with a leading or trailing space (the file loader trims them).
 *
 * Sizes are bounded so that one entry always fits in one CLI command well
 * under tune.bufsize (16384).
 */
#ifndef SPOKE_HAPROXY_CLI_ESCAPE_H
#define SPOKE_HAPROXY_CLI_ESCAPE_H

#include <stddef.h>

/* Longest accepted argument, before escaping (escaping at most doubles it). */
#define CLI_ARG_MAX_LEN 4096
/* Longest map key and map value; key + ' ' + value + '\n' stays < 8 KiB. */
#define CLI_MAP_KEY_MAX_LEN   4096
#define CLI_MAP_VALUE_MAX_LEN 3072
/* HAProxy's MAX_CLI_ARGS: words beyond this on one line are silently lost. */
#define CLI_MAX_WORDS 64

/* Result of a check; 0 is success, everything else says what was wrong. */
enum cli_escape_status {
    CLI_ESCAPE_OK = 0,
    CLI_ESCAPE_NULL,         /* no string at all */
    CLI_ESCAPE_EMPTY,        /* "" where a value is required */
    CLI_ESCAPE_TOO_LONG,     /* longer than the limit for this context */
    CLI_ESCAPE_CONTROL_CHAR, /* a byte < 0x20 (incl. \n \r \t) or 0x7f */
    CLI_ESCAPE_INVALID_UTF8, /* bytes >= 0x80 that are not valid UTF-8 */
    CLI_ESCAPE_SPACE_IN_KEY, /* map keys end at the first space */
    CLI_ESCAPE_LEADING_HASH, /* map key starting with '#' */
    CLI_ESCAPE_EDGE_SPACE,   /* map value starting or ending with a space */
    CLI_ESCAPE_NO_ROOM,      /* the output buffer is too small */
};

/* A short English description of a status ("contains a control character"). */
const char *cli_escape_strerror(int status);

/* Checks that s may be an argument: 1..CLI_ARG_MAX_LEN bytes, no control
 * character, valid UTF-8. "" is refused: an empty word cannot be written on
 * the CLI, it would vanish and shift the following arguments. */
int cli_check_arg(const char *s);

/* Writes the escaped form of s and a NUL into out (out_size bytes), and its
 * length into *out_len if not NULL. 2 * strlen(s) + 1 bytes always suffice.
 * Returns CLI_ESCAPE_OK or the reason s was refused (out is then ""). */
int cli_escape_arg(const char *s, char *out, size_t out_size, size_t *out_len);

/* Same, into a new malloc'd string; NULL with *status set on refusal. */
char *cli_escape_arg_dup(const char *s, int *status);

/* Builds one command line (no '\n'): the trusted words of verb ("set map")
 * followed by each of args escaped. Returns a malloc'd string, or NULL with
 * *status set (and *bad_arg, if not NULL, set to the index of the argument
 * that was refused). More than CLI_MAX_WORDS words in all is refused. */
char *cli_command_new(const char *verb, const char *const *args, size_t n_args, int *status,
                      size_t *bad_arg);

/* Checks a map key for a payload line / map file line: 1..CLI_MAP_KEY_MAX_LEN
 * bytes, valid UTF-8, no control character, no space, not starting with '#'. */
int cli_check_map_key(const char *key);

/* Checks a map value: 1..CLI_MAP_VALUE_MAX_LEN bytes, valid UTF-8, no control
 * character, no space at either end (spaces inside are kept by HAProxy). */
int cli_check_map_value(const char *value);

#endif
