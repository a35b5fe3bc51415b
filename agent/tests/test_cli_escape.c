/*
 * test_cli_escape.c - hostile strings against the runtime API escaping.
 *
 * The strongest check re-parses what cli_command_new() builds with a model
 * of HAProxy 2.6's CLI reader (cli.c: a line ends at '\n' or an unescaped
 * ';', words split on spaces/tabs, '\\' escapes, a line ending in "<<" starts
 * a payload) and requires exactly one command whose words are the originals.
 */
#include <stdlib.h>
#include <string.h>

#include "haproxy/cli_escape.h"
#include "test.h"

#define MAX_WORDS 80

struct parsed {
    int n_commands;   /* commands found on the line */
    int payload_mode; /* the (first) command line ends with "<<" */
    int n_words;
    char *words[MAX_WORDS];
    char buf[65536];
};

/* HAProxy 2.6 cli_io_handler + cli_parse_request, for one line of input. */
static void haproxy_parse(const char *line, struct parsed *out)
{
    memset(out, 0, sizeof(*out));
    size_t len = strlen(line);
    /* commands: cut at '\n' or an unescaped ';' */
    size_t cmd_end = len;
    out->n_commands = 1;
    for (size_t i = 0; i < len; i++) {
        if (line[i] == '\\') {
            i++;
            continue;
        }
        if (line[i] == ';' || line[i] == '\n') {
            if (cmd_end == len)
                cmd_end = i;
            if (i + 1 < len)
                out->n_commands++;
        }
    }
    memcpy(out->buf, line, cmd_end);
    out->buf[cmd_end] = '\0';
    out->payload_mode = cmd_end >= 2 && strcmp(out->buf + cmd_end - 2, "<<") == 0;
    /* words: split on spaces/tabs, a backslash keeps the next char */
    char *p = out->buf;
    while (*p && out->n_words < MAX_WORDS) {
        p += strspn(p, " \t");
        if (!*p)
            break;
        char *w = p;
        for (;;) {
            p += strcspn(p, " \t\\");
            if (*p == '\\') {
                if (!*++p)
                    break;
                if (!*++p)
                    break;
            } else {
                break;
            }
        }
        if (*p)
            *p++ = '\0';
        size_t j = 0;
        for (size_t k = 0; w[k]; k++) {
            if (w[k] == '\\') {
                if (w[k + 1] == '\\')
                    k++;
                else
                    continue;
            }
            w[j++] = w[k];
        }
        w[j] = '\0';
        out->words[out->n_words++] = w;
    }
}

static const char *const hostile[] = {
    "a b",
    "a;b",
    "a\\b",
    "a\\",
    "\\",
    ";",
    ";show info",
    "x; del map m",
    "a<<",
    "<<",
    "<",
    "a <<",
    "%[path]",
    "#1",
    "#",
    "'quoted'",
    "\"dq\"",
    "`tick`",
    "a  b",
    " lead",
    "trail ",
    "caf\xc3\xa9",
    "\xe2\x82\xac",
    "\xf0\x9f\x98\x80",
    "$HOME",
    "a\\;b",
    "\\\\;",
    "@1",
    "-",
    "x>y",
};

static void test_plain_strings_unchanged(void)
{
    char out[256];
    size_t n = 99;
    CHECK_INT_EQ(cli_escape_arg("example.com", out, sizeof(out), &n), CLI_ESCAPE_OK);
    CHECK_STR_EQ(out, "example.com");
    CHECK_INT_EQ(n, 11);
    CHECK_INT_EQ(cli_escape_arg("/foo/bar-1_2.3~x", out, sizeof(out), NULL), CLI_ESCAPE_OK);
    CHECK_STR_EQ(out, "/foo/bar-1_2.3~x");
    CHECK_INT_EQ(cli_escape_arg("100%#x@y", out, sizeof(out), NULL), CLI_ESCAPE_OK);
    CHECK_STR_EQ(out, "100%#x@y");
    CHECK_INT_EQ(cli_escape_arg("caf\xc3\xa9", out, sizeof(out), NULL), CLI_ESCAPE_OK);
    CHECK_STR_EQ(out, "caf\xc3\xa9");
}

static void test_special_bytes_escaped(void)
{
    char out[256];
    CHECK_INT_EQ(cli_escape_arg("a b", out, sizeof(out), NULL), CLI_ESCAPE_OK);
    CHECK_STR_EQ(out, "a\\ b");
    CHECK_INT_EQ(cli_escape_arg("a;b", out, sizeof(out), NULL), CLI_ESCAPE_OK);
    CHECK_STR_EQ(out, "a\\;b");
    CHECK_INT_EQ(cli_escape_arg("a\\b", out, sizeof(out), NULL), CLI_ESCAPE_OK);
    CHECK_STR_EQ(out, "a\\\\b");
    CHECK_INT_EQ(cli_escape_arg("v<<", out, sizeof(out), NULL), CLI_ESCAPE_OK);
    CHECK_STR_EQ(out, "v\\<\\<");
    CHECK_INT_EQ(cli_escape_arg("'\"`", out, sizeof(out), NULL), CLI_ESCAPE_OK);
    CHECK_STR_EQ(out, "\\'\\\"\\`");
}

static void test_control_characters_refused(void)
{
    static const char *const bad[] = {"a\nb",  "a\rb", "\n",       "a\tb",
                                      "x\x7f", "\x01", "a\x1b[0m", "host\r\nshow info"};
    char out[64] = "untouched";
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_INT_EQ(cli_check_arg(bad[i]), CLI_ESCAPE_CONTROL_CHAR);
        CHECK_INT_EQ(cli_escape_arg(bad[i], out, sizeof(out), NULL), CLI_ESCAPE_CONTROL_CHAR);
        CHECK_STR_EQ(out, "");
        CHECK_INT_EQ(cli_check_map_key(bad[i]), CLI_ESCAPE_CONTROL_CHAR);
        CHECK_INT_EQ(cli_check_map_value(bad[i]), CLI_ESCAPE_CONTROL_CHAR);
    }
}

static void test_invalid_utf8_refused(void)
{
    static const char *const bad[] = {
        "\xff",
        "a\x80",
        "\xc0\xaf", /* overlong '/' */
        "\xe2\x82",
        "\xed\xa0\x80",
        /* surrogate */ "\xf4\x90\x80\x80", /* > U+10FFFF */
        "\xf0\x8f\xbf\xbf",
        /* overlong */ "\xc3",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_INT_EQ(cli_check_arg(bad[i]), CLI_ESCAPE_INVALID_UTF8);
        CHECK_INT_EQ(cli_check_map_key(bad[i]), CLI_ESCAPE_INVALID_UTF8);
        CHECK_INT_EQ(cli_check_map_value(bad[i]), CLI_ESCAPE_INVALID_UTF8);
    }
    CHECK_INT_EQ(cli_check_arg("\xf0\x9f\x98\x80\xe2\x82\xac"), CLI_ESCAPE_OK);
}

static void test_lengths_bounded(void)
{
    char *big = malloc(5001);
    memset(big, 'a', 5000);
    big[5000] = '\0';
    CHECK_INT_EQ(cli_check_arg(big), CLI_ESCAPE_TOO_LONG);
    CHECK_INT_EQ(cli_check_map_key(big), CLI_ESCAPE_TOO_LONG);
    CHECK_INT_EQ(cli_check_map_value(big), CLI_ESCAPE_TOO_LONG);
    big[CLI_ARG_MAX_LEN] = '\0';
    CHECK_INT_EQ(cli_check_arg(big), CLI_ESCAPE_OK);
    CHECK_INT_EQ(cli_check_map_key(big), CLI_ESCAPE_OK);
    big[CLI_MAP_VALUE_MAX_LEN] = '\0';
    CHECK_INT_EQ(cli_check_map_value(big), CLI_ESCAPE_OK);
    big[CLI_MAP_VALUE_MAX_LEN] = 'a';
    big[CLI_MAP_VALUE_MAX_LEN + 1] = '\0';
    CHECK_INT_EQ(cli_check_map_value(big), CLI_ESCAPE_TOO_LONG);
    /* a multi-byte character straddling the limit */
    memset(big, 'a', CLI_ARG_MAX_LEN - 1);
    memcpy(big + CLI_ARG_MAX_LEN - 1, "\xc3\xa9", 3);
    CHECK_INT_EQ(cli_check_arg(big), CLI_ESCAPE_TOO_LONG);
    free(big);
}

static void test_empty_and_null_refused(void)
{
    char out[8];
    CHECK_INT_EQ(cli_check_arg(""), CLI_ESCAPE_EMPTY);
    CHECK_INT_EQ(cli_check_arg(NULL), CLI_ESCAPE_NULL);
    CHECK_INT_EQ(cli_escape_arg("", out, sizeof(out), NULL), CLI_ESCAPE_EMPTY);
    CHECK_INT_EQ(cli_check_map_key(""), CLI_ESCAPE_EMPTY);
    CHECK_INT_EQ(cli_check_map_value(""), CLI_ESCAPE_EMPTY);
    CHECK_INT_EQ(cli_check_map_value(NULL), CLI_ESCAPE_NULL);
}

static void test_output_buffer_too_small(void)
{
    char out[4] = "xyz";
    CHECK_INT_EQ(cli_escape_arg("abcd", out, sizeof(out), NULL), CLI_ESCAPE_NO_ROOM);
    CHECK_STR_EQ(out, "");
    CHECK_INT_EQ(cli_escape_arg("a;", out, sizeof(out), NULL), CLI_ESCAPE_OK);
    CHECK_STR_EQ(out, "a\\;");
    CHECK_INT_EQ(cli_escape_arg("a;b", out, sizeof(out), NULL), CLI_ESCAPE_NO_ROOM);
}

static void test_map_key_rules(void)
{
    CHECK_INT_EQ(cli_check_map_key("example.com/api"), CLI_ESCAPE_OK);
    CHECK_INT_EQ(cli_check_map_key("a;b\\c%d"), CLI_ESCAPE_OK); /* payload lines are raw */
    CHECK_INT_EQ(cli_check_map_key("a#b"), CLI_ESCAPE_OK);
    CHECK_INT_EQ(cli_check_map_key("#comment"), CLI_ESCAPE_LEADING_HASH);
    CHECK_INT_EQ(cli_check_map_key("a b"), CLI_ESCAPE_SPACE_IN_KEY);
    CHECK_INT_EQ(cli_check_map_key(" a"), CLI_ESCAPE_SPACE_IN_KEY);
}

static void test_map_value_rules(void)
{
    CHECK_INT_EQ(cli_check_map_value("be_1 flags=2 with spaces"), CLI_ESCAPE_OK);
    CHECK_INT_EQ(cli_check_map_value("#not-a-comment;%[x]"), CLI_ESCAPE_OK);
    CHECK_INT_EQ(cli_check_map_value(" lead"), CLI_ESCAPE_EDGE_SPACE);
    CHECK_INT_EQ(cli_check_map_value("trail "), CLI_ESCAPE_EDGE_SPACE);
    CHECK_INT_EQ(cli_check_map_value(" "), CLI_ESCAPE_EDGE_SPACE);
}

static void test_hostile_words_reparse_exactly(void)
{
    struct parsed *p = malloc(sizeof(*p));
    size_t n = sizeof(hostile) / sizeof(hostile[0]);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            const char *args[] = {"/etc/haproxy/maps/routes.map", hostile[i], hostile[j]};
            int status = -1;
            char *line = cli_command_new("set map", args, 3, &status, NULL);
            CHECK(line != NULL);
            CHECK_INT_EQ(status, CLI_ESCAPE_OK);
            if (!line)
                continue;
            haproxy_parse(line, p);
            CHECK_INT_EQ(p->n_commands, 1);
            CHECK_INT_EQ(p->payload_mode, 0);
            CHECK_INT_EQ(p->n_words, 5);
            if (p->n_words == 5) {
                CHECK_STR_EQ(p->words[0], "set");
                CHECK_STR_EQ(p->words[1], "map");
                CHECK_STR_EQ(p->words[2], args[0]);
                CHECK_STR_EQ(p->words[3], hostile[i]);
                CHECK_STR_EQ(p->words[4], hostile[j]);
            }
            free(line);
        }
    }
    free(p);
}

static void test_random_printable_words_reparse_exactly(void)
{
    struct parsed *p = malloc(sizeof(*p));
    unsigned seed = 12345;
    for (int round = 0; round < 2000; round++) {
        char word[40];
        size_t len = 1 + (size_t)(round % 39);
        for (size_t k = 0; k < len; k++) {
            seed = seed * 1103515245u + 12345u;
            word[k] = (char)(0x20 + (seed >> 16) % 95); /* printable ASCII */
        }
        word[len] = '\0';
        const char *args[] = {word};
        char *line = cli_command_new("del map m", args, 1, NULL, NULL);
        CHECK(line != NULL);
        if (!line)
            continue;
        haproxy_parse(line, p);
        CHECK_INT_EQ(p->n_commands, 1);
        CHECK_INT_EQ(p->payload_mode, 0);
        CHECK_INT_EQ(p->n_words, 4);
        if (p->n_words == 4)
            CHECK_STR_EQ(p->words[3], word);
        free(line);
    }
    free(p);
}

static void test_command_new_names_bad_argument(void)
{
    const char *args[] = {"ok", "also ok", "bad\nline", "never seen"};
    int status = 0;
    size_t bad = 99;
    CHECK(cli_command_new("set map", args, 4, &status, &bad) == NULL);
    CHECK_INT_EQ(status, CLI_ESCAPE_CONTROL_CHAR);
    CHECK_INT_EQ(bad, 2);
}

static void test_command_new_bounds_word_count(void)
{
    const char *args[CLI_MAX_WORDS];
    for (size_t i = 0; i < CLI_MAX_WORDS; i++)
        args[i] = "w";
    int status = 0;
    size_t bad = 0;
    /* "show" + 63 words = 64: the most HAProxy reads */
    char *line = cli_command_new("show", args, CLI_MAX_WORDS - 1, &status, &bad);
    CHECK(line != NULL);
    free(line);
    CHECK(cli_command_new("show", args, CLI_MAX_WORDS, &status, &bad) == NULL);
    CHECK_INT_EQ(status, CLI_ESCAPE_TOO_LONG);
    CHECK_INT_EQ(bad, CLI_MAX_WORDS - 1);
}

static void test_escape_dup_and_strerror(void)
{
    int status = -1;
    char *s = cli_escape_arg_dup("a b;c", &status);
    CHECK_STR_EQ(s, "a\\ b\\;c");
    CHECK_INT_EQ(status, CLI_ESCAPE_OK);
    free(s);
    CHECK(cli_escape_arg_dup("a\nb", &status) == NULL);
    CHECK_INT_EQ(status, CLI_ESCAPE_CONTROL_CHAR);
    CHECK_STR_EQ(cli_escape_strerror(CLI_ESCAPE_CONTROL_CHAR), "contains a control character");
    for (int st = CLI_ESCAPE_OK; st <= CLI_ESCAPE_NO_ROOM; st++)
        CHECK(strcmp(cli_escape_strerror(st), "is refused") != 0);
}

TEST_MAIN(TEST_CASE(test_plain_strings_unchanged), TEST_CASE(test_special_bytes_escaped),
          TEST_CASE(test_control_characters_refused), TEST_CASE(test_invalid_utf8_refused),
          TEST_CASE(test_lengths_bounded), TEST_CASE(test_empty_and_null_refused),
          TEST_CASE(test_output_buffer_too_small), TEST_CASE(test_map_key_rules),
          TEST_CASE(test_map_value_rules), TEST_CASE(test_hostile_words_reparse_exactly),
          TEST_CASE(test_random_printable_words_reparse_exactly),
          TEST_CASE(test_command_new_names_bad_argument),
          TEST_CASE(test_command_new_bounds_word_count), TEST_CASE(test_escape_dup_and_strerror))
