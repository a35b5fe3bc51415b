/*
 * test.h - a tiny unit-test harness that prints TAP.
 *
 * Each test is a function; CHECK() records a failure with file:line and goes
 * on, so one run shows every broken assertion. TEST_MAIN() runs the list and
 * prints "ok N - name" / "not ok N - name", which scripts/run-tests counts.
 */
#ifndef SPOKE_TEST_H
#define SPOKE_TEST_H

#include <stdio.h>
#include <string.h>

extern int test_failures_in_current;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("#   %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);                    \
            test_failures_in_current++;                                                            \
        }                                                                                          \
    } while (0)

#define CHECK_STR_EQ(a, b)                                                                         \
    do {                                                                                           \
        const char *check_a_ = (a), *check_b_ = (b);                                               \
        if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {                           \
            printf("#   %s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__,                            \
                   check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)");                \
            test_failures_in_current++;                                                            \
        }                                                                                          \
    } while (0)

#define CHECK_INT_EQ(a, b)                                                                         \
    do {                                                                                           \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                            \
        if (check_a_ != check_b_) {                                                                \
            printf("#   %s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, check_a_,     \
                   check_b_);                                                                      \
            test_failures_in_current++;                                                            \
        }                                                                                          \
    } while (0)

struct test_case {
    const char *name;
    void (*fn)(void);
};

#define TEST_CASE(fn)                                                                              \
    {                                                                                              \
#fn, fn                                                                                    \
    }

int test_run_all(const struct test_case *cases, size_t n);

#define TEST_MAIN(...)                                                                             \
    int test_failures_in_current;                                                                  \
    int test_run_all(const struct test_case *cases, size_t n)                                      \
    {                                                                                              \
        int failed = 0;                                                                            \
        printf("1..%zu\n", n);                                                                     \
        for (size_t i = 0; i < n; i++) {                                                           \
            test_failures_in_current = 0;                                                          \
            cases[i].fn();                                                                         \
            printf("%s %zu - %s\n", test_failures_in_current ? "not ok" : "ok", i + 1,             \
                   cases[i].name);                                                                 \
            fflush(stdout);                                                                        \
            failed += test_failures_in_current != 0;                                               \
        }                                                                                          \
        return failed ? 1 : 0;                                                                     \
    }                                                                                              \
    int main(void)                                                                                 \
    {                                                                                              \
        static const struct test_case cases[] = {__VA_ARGS__};                                     \
        return test_run_all(cases, sizeof(cases) / sizeof(cases[0]));                              \
    }

#endif
