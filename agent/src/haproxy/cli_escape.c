/*
 * cli_escape.c - see cli_escape.h. Validation is a whitelist: a string is
 * scanned once for length, control characters and UTF-8 well-formedness
 * before anything is written.
 */
#include "haproxy/cli_escape.h"

#include <stdlib.h>
#include <string.h>

const char *cli_escape_strerror(int status)
{
    switch (status) {
    case CLI_ESCAPE_OK:
        return "ok";
    case CLI_ESCAPE_NULL:
        return "is missing";
    case CLI_ESCAPE_EMPTY:
        return "is empty";
    case CLI_ESCAPE_TOO_LONG:
        return "is too long";
    case CLI_ESCAPE_CONTROL_CHAR:
        return "contains a control character";
    case CLI_ESCAPE_INVALID_UTF8:
        return "is not valid UTF-8";
    case CLI_ESCAPE_SPACE_IN_KEY:
        return "contains a space";
    case CLI_ESCAPE_LEADING_HASH:
        return "starts with '#'";
    case CLI_ESCAPE_EDGE_SPACE:
        return "starts or ends with a space";
    case CLI_ESCAPE_NO_ROOM:
        return "does not fit in the output buffer";
    default:
        return "is refused";
    }
}

/* Length of the UTF-8 sequence starting at s (1..4), or 0 if it is invalid:
 * truncated, overlong, a surrogate, or beyond U+10FFFF. */
static size_t utf8_sequence_length(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        unsigned char lo = c == 0xe0 ? 0xa0 : 0x80; /* no overlongs */
        unsigned char hi = c == 0xed ? 0x9f : 0xbf; /* no surrogates */
        if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80)
            return 0;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        unsigned char lo = c == 0xf0 ? 0x90 : 0x80; /* no overlongs */
        unsigned char hi = c == 0xf4 ? 0x8f : 0xbf; /* <= U+10FFFF */
        if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        return 4;
    }
    return 0;
}

/* The checks common to every context: present, non-empty, bounded, no
 * control character, valid UTF-8. */
static int check_text(const char *s, size_t max_len)
{
    if (!s)
        return CLI_ESCAPE_NULL;
    if (!*s)
        return CLI_ESCAPE_EMPTY;
    const unsigned char *p = (const unsigned char *)s;
    size_t len = 0;
    while (p[len]) {
        if (len >= max_len)
            return CLI_ESCAPE_TOO_LONG;
        if (p[len] < 0x20 || p[len] == 0x7f)
            return CLI_ESCAPE_CONTROL_CHAR;
        size_t n = utf8_sequence_length(p + len);
        if (!n)
            return CLI_ESCAPE_INVALID_UTF8;
        len += n;
    }
    return len > max_len ? CLI_ESCAPE_TOO_LONG : CLI_ESCAPE_OK;
}

int cli_check_arg(const char *s)
{
    return check_text(s, CLI_ARG_MAX_LEN);
}

/* Bytes written as they are; everything else gets a backslash. The set is
 * deliberately small: space and tab split words, ';' ends a command, '\\'
 * escapes, "<<" at the end of a line starts a payload; quotes are escaped
 * too in case a later HAProxy gives them a meaning. */
static int is_plain_byte(unsigned char c)
{
    if (c >= 0x80)
        return 1; /* part of a UTF-8 sequence already checked */
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return strchr("-._~/:@=+,%#!$&*()[]{}?^|>", c) != NULL;
}

int cli_escape_arg(const char *s, char *out, size_t out_size, size_t *out_len)
{
    if (out_size)
        out[0] = '\0';
    if (out_len)
        *out_len = 0;
    int status = cli_check_arg(s);
    if (status != CLI_ESCAPE_OK)
        return status;
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        size_t need = is_plain_byte(*p) ? 1 : 2;
        if (n + need + 1 > out_size) {
            if (out_size)
                out[0] = '\0';
            return CLI_ESCAPE_NO_ROOM;
        }
        if (need == 2)
            out[n++] = '\\';
        out[n++] = (char)*p;
    }
    out[n] = '\0';
    if (out_len)
        *out_len = n;
    return CLI_ESCAPE_OK;
}

char *cli_escape_arg_dup(const char *s, int *status)
{
    int st = cli_check_arg(s);
    char *out = NULL;
    if (st == CLI_ESCAPE_OK) {
        size_t size = 2 * strlen(s) + 1;
        out = malloc(size);
        st = out ? cli_escape_arg(s, out, size, NULL) : CLI_ESCAPE_NO_ROOM;
        if (st != CLI_ESCAPE_OK) {
            free(out);
            out = NULL;
        }
    }
    if (status)
        *status = st;
    return out;
}

/* Number of space-separated words in a trusted verb such as "set map". */
static size_t count_words(const char *s)
{
    size_t n = 0;
    for (int in_word = 0; *s; s++) {
        if (*s == ' ') {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            n++;
        }
    }
    return n;
}

char *cli_command_new(const char *verb, const char *const *args, size_t n_args, int *status,
                      size_t *bad_arg)
{
    size_t size = strlen(verb) + 1;
    size_t verb_words = count_words(verb);
    for (size_t i = 0; i < n_args; i++) {
        /* HAProxy silently drops the words beyond the 64th (MAX_CLI_ARGS). */
        int st = verb_words + i >= CLI_MAX_WORDS ? CLI_ESCAPE_TOO_LONG : cli_check_arg(args[i]);
        if (st != CLI_ESCAPE_OK) {
            if (status)
                *status = st;
            if (bad_arg)
                *bad_arg = i;
            return NULL;
        }
        size += 1 + 2 * strlen(args[i]);
    }
    char *line = malloc(size);
    if (!line) {
        if (status)
            *status = CLI_ESCAPE_NO_ROOM;
        return NULL;
    }
    size_t len = strlen(verb);
    memcpy(line, verb, len);
    for (size_t i = 0; i < n_args; i++) {
        size_t written;
        line[len++] = ' ';
        /* cannot fail: checked above and the buffer has room for 2x */
        cli_escape_arg(args[i], line + len, size - len, &written);
        len += written;
    }
    line[len] = '\0';
    if (status)
        *status = CLI_ESCAPE_OK;
    return line;
}

int cli_check_map_key(const char *key)
{
    int status = check_text(key, CLI_MAP_KEY_MAX_LEN);
    if (status != CLI_ESCAPE_OK)
        return status;
    if (key[0] == '#')
        return CLI_ESCAPE_LEADING_HASH;
    if (strchr(key, ' '))
        return CLI_ESCAPE_SPACE_IN_KEY;
    return CLI_ESCAPE_OK;
}

int cli_check_map_value(const char *value)
{
    int status = check_text(value, CLI_MAP_VALUE_MAX_LEN);
    if (status != CLI_ESCAPE_OK)
        return status;
    if (value[0] == ' ' || value[strlen(value) - 1] == ' ')
        return CLI_ESCAPE_EDGE_SPACE;
    return CLI_ESCAPE_OK;
}
