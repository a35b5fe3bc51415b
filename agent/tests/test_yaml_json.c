/* test_yaml_json.c - YAML to JSON: scalar types, nesting, quoting, block
 * scalars, anchors/aliases/merges, the alias-bomb and depth limits, and
 * errors that carry line:column. */
#include <stdbool.h>
#include <stdlib.h>

#include "test.h"
#include "util/yaml_json.h"

/* Does yaml convert to exactly the JSON text `expect` (types included)? */
static bool converts_to(const char *yaml, const char *expect)
{
    char err[256];
    json_t *got = yaml_to_json(yaml, strlen(yaml), err, sizeof(err));
    json_t *want = json_loads(expect, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    bool ok = got && want && json_equal(got, want);
    if (!ok) {
        char *g = got ? json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
        printf("#   yaml: %s\n#   got:  %s\n#   want: %s\n", yaml, g ? g : err, expect);
        free(g);
    }
    json_decref(got);
    json_decref(want);
    return ok;
}

/* Does yaml fail with an error containing both substrings (b may be NULL)? */
static bool fails_with(const char *yaml, size_t len, const char *a, const char *b)
{
    char err[256] = "";
    json_t *got = yaml_to_json(yaml, len, err, sizeof(err));
    bool ok = !got && strstr(err, a) && (!b || strstr(err, b));
    if (!ok)
        printf("#   yaml: %.60s\n#   error: \"%s\" (wanted \"%s\"%s%s)\n", yaml, err, a,
               b ? " and " : "", b ? b : "");
    json_decref(got);
    return ok;
}

#define FAILS_WITH(yaml, a, b) fails_with(yaml, strlen(yaml), a, b)

static void test_plain_scalar_types(void)
{
    CHECK(converts_to("[~, null, Null, NULL, ]", "[null, null, null, null]"));
    CHECK(converts_to("a:\nb: ~", "{\"a\": null, \"b\": null}"));
    CHECK(converts_to("[true, True, TRUE, yes, on, false, False, no, OFF]",
                      "[true, true, true, true, true, false, false, false, false]"));
    CHECK(converts_to("[0, 42, -7, +3, 0123, 0x1F, 0o17, 9223372036854775807]",
                      "[0, 42, -7, 3, 123, 31, 15, 9223372036854775807]"));
    CHECK(converts_to("[1.5, -2.0, .5, 1., 1e3, 6.02E+23, 99999999999999999999]",
                      "[1.5, -2.0, 0.5, 1.0, 1000.0, 6.02e23, 1e20]"));
    /* No JSON form, or not a number after all: strings. */
    CHECK(converts_to("[.inf, -.Inf, .nan, 1e999, 0x, 1_000, 1.2.3, 12ab, 0xFFFFFFFFFFFFFFFFFF]",
                      "[\".inf\", \"-.Inf\", \".nan\", \"1e999\", \"0x\", \"1_000\", \"1.2.3\", "
                      "\"12ab\", \"0xFFFFFFFFFFFFFFFFFF\"]"));
    CHECK(converts_to("[y, n, tRUE, nulls, hello world]",
                      "[\"y\", \"n\", \"tRUE\", \"nulls\", \"hello world\"]"));
    CHECK(converts_to("42", "42"));
    CHECK(converts_to("just text", "\"just text\""));
}

static void test_quoted_and_tagged_scalars(void)
{
    CHECK(converts_to("[\"true\", '42', \"null\", '~', \"\", '1.5']",
                      "[\"true\", \"42\", \"null\", \"~\", \"\", \"1.5\"]"));
    CHECK(converts_to("a: \"tab\\there\\nnl \\\"q\\\" \\u00e9 \\\\\"",
                      "{\"a\": \"tab\\there\\nnl \\\"q\\\" \\u00e9 \\\\\"}"));
    CHECK(converts_to("'it''s a \"quote\"'", "\"it's a \\\"quote\\\"\""));
    CHECK(converts_to("\"a\\0b\"", "\"a\\u0000b\""));
    CHECK(converts_to("\"folded\n  across lines\"", "\"folded across lines\""));
    CHECK(converts_to("[!!str 12, !!str true, !!int \"42\", !!float 1, !!bool \"yes\", !!null '']",
                      "[\"12\", \"true\", 42, 1.0, true, null]"));
    CHECK(converts_to("[! 12, !custom 12, !custom '12']", "[\"12\", 12, \"12\"]"));
    CHECK(FAILS_WITH("a: !!int twelve", "line 1:4", "\"twelve\" is not a valid !!int"));
    CHECK(FAILS_WITH("[!!bool 1]", "line 1:2", "!!bool"));
}

static void test_nesting(void)
{
    CHECK(converts_to("clusters:\n"
                      "- name: a\n"
                      "  cluster:\n"
                      "    server: https://x\n"
                      "    ports: [1, 2, {p: 3}]\n"
                      "- name: b\n"
                      "  empty_map: {}\n"
                      "  empty_list: []\n"
                      "top: {x: [[], [[1]]]}\n",
                      "{\"clusters\": [{\"name\": \"a\", \"cluster\": {\"server\": \"https://x\", "
                      "\"ports\": [1, 2, {\"p\": 3}]}}, {\"name\": \"b\", \"empty_map\": {}, "
                      "\"empty_list\": []}], \"top\": {\"x\": [[], [[1]]]}}"));
    /* Keys are always text, even when they look like other types. */
    CHECK(converts_to("{1: a, true: b, null: c, 'q': d}",
                      "{\"1\": \"a\", \"true\": \"b\", \"null\": \"c\", \"q\": \"d\"}"));
    /* Key order is kept. */
    char err[128];
    json_t *j = yaml_to_json("z: 1\na: 2\nm: 3\n", 15, err, sizeof(err));
    char *s = json_dumps(j, JSON_COMPACT);
    CHECK_STR_EQ(s, "{\"z\":1,\"a\":2,\"m\":3}");
    free(s);
    json_decref(j);
}

static void test_block_scalars(void)
{
    CHECK(converts_to("lit: |\n  line one\n    indented\n  line three\n"
                      "fold: >\n  folded\n  together\n\n  new paragraph\n"
                      "strip: |-\n  no newline\n"
                      "keep: |+\n  two newlines\n\n"
                      "num: |\n  42\n",
                      "{\"lit\": \"line one\\n  indented\\nline three\\n\", "
                      "\"fold\": \"folded together\\nnew paragraph\\n\", "
                      "\"strip\": \"no newline\", \"keep\": \"two newlines\\n\\n\", "
                      "\"num\": \"42\\n\"}"));
}

static void test_json_input(void)
{
    CHECK(converts_to(
        "{\"a\":1,\"b\":[true,false,null,\"x\"],\"c\":{\"d\":-1.5e3,\"e\":\"\\u00e9\"}}",
        "{\"a\": 1, \"b\": [true, false, null, \"x\"], "
        "\"c\": {\"d\": -1500.0, \"e\": \"\\u00e9\"}}"));
    CHECK(converts_to("{\n\t\"a\": [\n\t\t1,\n\t\t\"2\"\n\t],\r\n\t\"b\": {}\n}\n",
                      "{\"a\": [1, \"2\"], \"b\": {}}"));
    CHECK(converts_to("[\"null\", \"true\", \"3\"]", "[\"null\", \"true\", \"3\"]"));
}

static void test_anchors_aliases_merges(void)
{
    CHECK(converts_to("base: &b {x: 1, y: [1, 2]}\ncopy: *b\nname: &n hello\nagain: *n\n",
                      "{\"base\": {\"x\": 1, \"y\": [1, 2]}, \"copy\": {\"x\": 1, \"y\": [1, 2]}, "
                      "\"name\": \"hello\", \"again\": \"hello\"}"));
    /* An aliased scalar can be a key; an anchor can be redefined. */
    CHECK(converts_to("[&k key, {*k : v}, &k other, *k]",
                      "[\"key\", {\"key\": \"v\"}, \"other\", \"other\"]"));
    /* Merge keys: explicit keys win, earlier merges win over later ones. */
    CHECK(
        converts_to("a: &a {x: 1, y: 1}\n"
                    "b: &b {y: 2, z: 2}\n"
                    "c:\n  <<: [*a, *b]\n  x: 3\n"
                    "d: {<<: *b, w: 0}\n"
                    "e: {'<<': 1}\n",
                    "{\"a\": {\"x\": 1, \"y\": 1}, \"b\": {\"y\": 2, \"z\": 2}, "
                    "\"c\": {\"x\": 3, \"y\": 1, \"z\": 2}, \"d\": {\"w\": 0, \"y\": 2, \"z\": 2}, "
                    "\"e\": {\"<<\": 1}}"));
    /* Copies are independent values. */
    char err[128];
    const char *y = "a: &a {x: 1}\nb: *a\n";
    json_t *j = yaml_to_json(y, strlen(y), err, sizeof(err));
    CHECK(j && json_object_get(j, "a") != json_object_get(j, "b"));
    json_decref(j);
    CHECK(FAILS_WITH("a: *nope", "line 1:4", "*nope"));
    CHECK(FAILS_WITH("a: &r [1, *r]", "line 1:11", "*r"));
    CHECK(FAILS_WITH("a: {<<: 1}", "line 1:9", "merge"));
    CHECK(FAILS_WITH("a: {<<: [{x: 1}, 2]}", "merge", NULL));
    CHECK(FAILS_WITH("- &m {a: 1}\n- {*m : 1}", "line 2:4", "mapping keys must be scalars"));
}

static void test_alias_bomb_rejected(void)
{
    const char *bomb = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
                       "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                       "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                       "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                       "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                       "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
                       "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
                       "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
    CHECK(FAILS_WITH(bomb, "alias bomb", "line 5:"));
    /* The same shape, three levels deep, is fine. */
    char err[256];
    json_t *j = yaml_to_json(bomb, strstr(bomb, "d:") - bomb, err, sizeof(err));
    CHECK(j && json_array_size(json_array_get(json_object_get(j, "c"), 9)) == 10);
    json_decref(j);
    /* Few nodes but big strings: bytes are bounded as well. */
    size_t big = 1 << 20;
    char *wide = malloc(big + 256);
    memcpy(wide, "a: &a ", 6);
    memset(wide + 6, 'x', big);
    strcpy(wide + 6 + big, "\nb: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, "
                           "*a, *a, *a, *a, *a]\n");
    CHECK(fails_with(wide, strlen(wide), "alias bomb", "line 2:"));
    free(wide);
    /* Merges of big anchors count too. */
    CHECK(FAILS_WITH("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
                     "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                     "c: &c {x: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]}\n"
                     "d: &d {<<: *c, y: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]}\n"
                     "e: {<<: *d, z: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]}\n",
                     "alias bomb", NULL));
}

static void test_depth_limit(void)
{
    size_t n = YAML_JSON_MAX_DEPTH + 10;
    char *deep = malloc(2 * n + 1);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = '\0';
    CHECK(fails_with(deep, 2 * n, "nesting deeper than", NULL));
    /* Exactly at the limit is fine. */
    char err[128];
    size_t ok = YAML_JSON_MAX_DEPTH;
    json_t *j = yaml_to_json(deep + n - ok, 2 * ok, err, sizeof(err));
    CHECK(json_is_array(j));
    json_decref(j);
    /* An alias cannot smuggle in extra depth. */
    char *via_alias = malloc(2 * n + 64);
    size_t half = YAML_JSON_MAX_DEPTH / 2 + 5;
    int len = sprintf(via_alias, "- &x %.*s%.*s\n- %.*s*x%.*s\n", (int)half, deep, (int)half,
                      deep + n, (int)half, deep, (int)half, deep + n);
    CHECK(fails_with(via_alias, (size_t)len, "*x nests deeper than", "line 2:"));
    free(via_alias);
    free(deep);
}

static void test_syntax_errors_have_positions(void)
{
    CHECK(FAILS_WITH("apiVersion: v1\nclusters: [\n", "line 3:1", "did not find expected"));
    CHECK(FAILS_WITH("a: 1\nb: [1, 2\nc: 3\n", "line 3:", "flow sequence"));
    CHECK(FAILS_WITH("a: 'unterminated\n", "line 2:1", "quoted scalar"));
    CHECK(FAILS_WITH("a:\n  b: 1\n c: 2\n", "line 3:", NULL));
    CHECK(FAILS_WITH("a: \"x\\qy\"", "line 1:", "escape"));
    CHECK(FAILS_WITH("a: b\n\tc: d\n", "line 2:", NULL));
    CHECK(fails_with("a: ok\nb: \xff\xfe\n", 10, "line 2:4", "UTF-8"));
    CHECK(FAILS_WITH("a: 1\na: 2\n", "line 2:1", "duplicate mapping key \"a\""));
    CHECK(FAILS_WITH("? [x]\n: 1\n", "line 1:3", "mapping keys must be scalars"));
    CHECK(FAILS_WITH("\"a\\0b\": 1", "line 1:1", "NUL"));
}

static void test_documents_and_edges(void)
{
    /* First document only; later ones are not even parsed. */
    CHECK(converts_to("a: 1\n---\nb: [\n", "{\"a\": 1}"));
    CHECK(converts_to("%YAML 1.1\n---\nx: 1\n...\n", "{\"x\": 1}"));
    CHECK(converts_to("", "null"));
    CHECK(converts_to("# only a comment\n", "null"));
    CHECK(converts_to("---\n", "null"));
    /* err may be NULL or tiny; NULL buf with len 0 is an empty stream. */
    json_t *j = yaml_to_json("[", 1, NULL, 0);
    CHECK(j == NULL);
    char tiny[4];
    j = yaml_to_json("[", 1, tiny, sizeof(tiny));
    CHECK(j == NULL && strlen(tiny) == 3);
    j = yaml_to_json(NULL, 0, tiny, sizeof(tiny));
    CHECK(json_is_null(j));
    json_decref(j);
    /* Length is honoured: no NUL terminator needed. */
    char buf[] = {'a', ':', ' ', '1', 'X'};
    j = yaml_to_json(buf, 4, tiny, sizeof(tiny));
    CHECK(json_integer_value(json_object_get(j, "a")) == 1);
    json_decref(j);
}

TEST_MAIN(TEST_CASE(test_plain_scalar_types), TEST_CASE(test_quoted_and_tagged_scalars),
          TEST_CASE(test_nesting), TEST_CASE(test_block_scalars), TEST_CASE(test_json_input),
          TEST_CASE(test_anchors_aliases_merges), TEST_CASE(test_alias_bomb_rejected),
          TEST_CASE(test_depth_limit), TEST_CASE(test_syntax_errors_have_positions),
          TEST_CASE(test_documents_and_edges))
