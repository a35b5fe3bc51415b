/*
 * test_printable.c - untrusted bytes made fit for messages: the predicate,
 * the in-place replacement, and the bounded quote (C strings and byte runs
 * with NULs, cut with "..." exactly when longer than the bound).
 */
#include <string.h>

#include "test.h"
#include "util/printable.h"

static void test_predicate_and_sanitize(void)
{
    CHECK(printable_ascii(""));
    CHECK(printable_ascii("a b~!"));
    CHECK(!printable_ascii("a\nb"));
    CHECK(!printable_ascii("caf\xc3\xa9"));
    CHECK(!printable_ascii("\x7f"));
    char s[] = "a\tb\r\n\xff~";
    printable_sanitize(s);
    CHECK_STR_EQ(s, "a?b???~");
}

static void test_quote(void)
{
    char out[16 + 4];
    CHECK_STR_EQ(printable_quote("hello", PRINTABLE_CSTR, 16, out), "hello");
    CHECK_STR_EQ(printable_quote("0123456789abcdef", PRINTABLE_CSTR, 16, out), "0123456789abcdef");
    CHECK_STR_EQ(printable_quote("0123456789abcdefg", PRINTABLE_CSTR, 16, out),
                 "0123456789abcdef...");
    CHECK_STR_EQ(printable_quote("a\nb", PRINTABLE_CSTR, 16, out), "a?b");
    /* A byte run: a NUL is a byte like any other. */
    CHECK_STR_EQ(printable_quote("a\0b", 3, 16, out), "a?b");
    CHECK_STR_EQ(printable_quote("abc", 2, 16, out), "ab");
    CHECK_STR_EQ(printable_quote("abcdef", 6, 4, out), "abcd...");
    CHECK_STR_EQ(printable_quote("abcd", 4, 4, out), "abcd");
    CHECK_STR_EQ(printable_quote("", 0, 4, out), "");
}

TEST_MAIN(TEST_CASE(test_predicate_and_sanitize), TEST_CASE(test_quote))
