/*
 * test_error_pages.c - the errorfiles HAProxy serves for the errors it
 * produces: a valid HTTP response per code whose Content-Length is its body,
 * custom bodies checked and used, and files rewritten only when they change
 * (a change costs a reload). The real haproxy binary loading them is tested
 * by test_config_render.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "haproxy/error_pages.h"
#include "model/error_pages_cm.h"
#include "scratch.h"
#include "test.h"

/* A new directory in the test's scratch directory (removed at exit). */
static const char *new_dir(const char *name)
{
    const char *dir = scratch_path(name);
    CHECK(mkdir(dir, 0755) == 0);
    return dir;
}

static void test_every_code_is_a_complete_response(void)
{
    for (int i = 0; i < ERROR_PAGES_N; i++) {
        size_t len;
        char *text = error_page_render(error_page_codes[i], NULL, &len);
        CHECK(text != NULL);
        if (!text)
            continue;
        char line[64];
        snprintf(line, sizeof(line), "HTTP/1.1 %d ", error_page_codes[i]);
        CHECK(strncmp(text, line, strlen(line)) == 0);
        CHECK(strstr(text, "\r\nContent-Type: text/html; charset=utf-8\r\n") != NULL);
        const char *body = strstr(text, "\r\n\r\n");
        const char *cl = strstr(text, "Content-Length: ");
        CHECK(body && cl && cl < body);
        if (body && cl)
            CHECK_INT_EQ(strtoul(cl + 16, NULL, 10), len - (size_t)(body + 4 - text));
        snprintf(line, sizeof(line), "<h1>%d ", error_page_codes[i]);
        CHECK(strstr(text, line) != NULL);
        free(text);
    }
    size_t len;
    CHECK(error_page_render(401, NULL, &len) == NULL); /* not an errorfile code here */
    CHECK_INT_EQ(error_page_index(503), 7);
    CHECK_INT_EQ(error_page_index(200), -1);
}

static void test_custom_body(void)
{
    size_t len;
    char *text = error_page_render(404, "<p>gone fishing</p>", &len);
    CHECK(text != NULL);
    if (!text)
        return;
    CHECK(strstr(text, "Content-Length: 19\r\n") != NULL);
    CHECK(len >= 19 && memcmp(text + len - 19, "<p>gone fishing</p>", 19) == 0);
    free(text);
}

static void test_check(void)
{
    char why[128];
    CHECK_INT_EQ(error_page_check("<p>ok</p>", 9, why, sizeof(why)), 0);
    CHECK_INT_EQ(error_page_check("a\0b", 3, why, sizeof(why)), -1);
    CHECK(strstr(why, "NUL") != NULL);
    char *big = malloc(ERROR_PAGE_BODY_MAX + 1);
    memset(big, 'x', ERROR_PAGE_BODY_MAX + 1);
    CHECK_INT_EQ(error_page_check(big, ERROR_PAGE_BODY_MAX, why, sizeof(why)), 0);
    CHECK_INT_EQ(error_page_check(big, ERROR_PAGE_BODY_MAX + 1, why, sizeof(why)), -1);
    free(big);
}

static void test_write_only_what_changed(void)
{
    char path[512], err[256] = "";
    const char *dir = new_dir("write");
    bool changed = false;
    CHECK_INT_EQ(error_pages_write(dir, NULL, &changed, err, sizeof(err)), 0);
    CHECK(changed);
    CHECK_INT_EQ(error_pages_write(dir, NULL, &changed, err, sizeof(err)), 0);
    CHECK(!changed);

    struct error_pages custom = {0};
    custom.html[error_page_index(503)] = "<p>back soon</p>";
    CHECK_INT_EQ(error_pages_write(dir, &custom, &changed, err, sizeof(err)), 0);
    CHECK(changed);
    size_t len;
    snprintf(path, sizeof(path), "%s/errors/503.http", dir);
    char *text = slurp(path, &len);
    CHECK(text && strstr(text, "<p>back soon</p>") != NULL);
    free(text);
    snprintf(path, sizeof(path), "%s/errors/404.http", dir);
    text = slurp(path, &len);
    CHECK(text && strstr(text, "No route for this host and path.") != NULL);
    free(text);
    CHECK_INT_EQ(error_pages_write(dir, &custom, &changed, err, sizeof(err)), 0);
    CHECK(!changed);

    /* Back to spoke's page. */
    CHECK_INT_EQ(error_pages_write(dir, NULL, &changed, err, sizeof(err)), 0);
    CHECK(changed);
    for (int i = 0; i < ERROR_PAGES_N; i++) {
        snprintf(path, sizeof(path), "%s/errors/%d.http", dir, error_page_codes[i]);
        CHECK(remove(path) == 0);
    }
    snprintf(path, sizeof(path), "%s/errors", dir);
    CHECK(rmdir(path) == 0);
    CHECK(rmdir(dir) == 0);

    /* An unwritable place is an error, not a crash. */
    CHECK_INT_EQ(error_pages_write("/proc/no-such-dir", NULL, &changed, err, sizeof(err)), -1);
    CHECK(strstr(err, "cannot create") != NULL);
}

static void count_problem(void *ud, const char *message)
{
    int *n = ud;
    (*n)++;
    printf("# problem: %s\n", message);
    for (const char *c = message; *c; c++)
        CHECK(*c >= 0x20 && *c < 0x7f);
}

static void test_configmap_keys_and_bodies(void)
{
    json_error_t jerr;
    json_t *cm = json_loads("{\"data\":{\"404\":\"<p>lost</p>\",\"503\":\"<p>busy</p>\","
                            "\"200\":\"ok\",\"4040\":\"x\",\"abc\":\"y\",\"\\u00ff\\n\":\"z\","
                            "\"502\":\"a\\u0000b\"}}",
                            JSON_ALLOW_NUL, &jerr);
    CHECK(cm != NULL);
    struct error_pages pages;
    int problems = 0;
    CHECK_INT_EQ(error_pages_from_configmap(cm, &pages, count_problem, &problems), 2);
    CHECK_STR_EQ(pages.html[error_page_index(404)], "<p>lost</p>");
    CHECK_STR_EQ(pages.html[error_page_index(503)], "<p>busy</p>");
    CHECK(pages.html[error_page_index(502)] == NULL); /* NUL byte: spoke's page */
    CHECK(pages.html[error_page_index(400)] == NULL);
    CHECK_INT_EQ(problems, 5); /* 200, 4040, abc, the control characters, 502 */
    json_decref(cm);
    /* No data at all: no custom page, no problem. */
    cm = json_loads("{\"metadata\":{}}", 0, &jerr);
    problems = 0;
    CHECK_INT_EQ(error_pages_from_configmap(cm, &pages, count_problem, &problems), 0);
    CHECK_INT_EQ(problems, 0);
    json_decref(cm);
}

static void test_read_back_what_was_written(void)
{
    char err[256] = "";
    const char *dir = new_dir("read-back");
    char *html[ERROR_PAGES_N];
    error_pages_read(dir, html); /* nothing there yet */
    for (int i = 0; i < ERROR_PAGES_N; i++)
        CHECK(html[i] == NULL);
    struct error_pages custom = {0};
    custom.html[error_page_index(429)] = "<p>slow down</p>\r\n\r\nmore";
    CHECK_INT_EQ(error_pages_write(dir, &custom, NULL, err, sizeof(err)), 0);
    error_pages_read(dir, html);
    for (int i = 0; i < ERROR_PAGES_N; i++) {
        if (error_page_codes[i] == 429)
            CHECK_STR_EQ(html[i], "<p>slow down</p>\r\n\r\nmore");
        else
            CHECK(html[i] == NULL);
        free(html[i]);
    }
}

TEST_MAIN(TEST_CASE(test_every_code_is_a_complete_response), TEST_CASE(test_custom_body),
          TEST_CASE(test_check), TEST_CASE(test_write_only_what_changed),
          TEST_CASE(test_configmap_keys_and_bodies), TEST_CASE(test_read_back_what_was_written))
