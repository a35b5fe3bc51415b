/* test_auth_cidr.c - CIDR sets: IPv4, IPv6, bare addresses, mapped
 * addresses, range edges, merging, errors that name the entry, and a
 * brute-force cross-check against a linear scan. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/cidr.h"
#include "test.h"

static struct cidr_set *parse(const char *s)
{
    char err[256] = "";
    struct cidr_set *set = cidr_set_parse(s, strlen(s), err, sizeof(err));
    if (!set)
        printf("# %s: %s\n", s, err);
    return set;
}

static int in(const struct cidr_set *s, const char *addr)
{
    unsigned char b[16];
    size_t n = cidr_parse_addr(addr, strlen(addr), b);
    if (n == 0) {
        printf("# bad test address %s\n", addr);
        return -1;
    }
    return cidr_set_contains(s, b, n);
}

static void test_ipv4(void)
{
    struct cidr_set *s = parse("10.0.0.0/8, 192.168.1.0/24,172.16.5.4 , 203.0.113.7/32");
    CHECK(s != NULL);
    CHECK(in(s, "10.0.0.0") == 1);
    CHECK(in(s, "10.255.255.255") == 1);
    CHECK(in(s, "11.0.0.0") == 0);
    CHECK(in(s, "9.255.255.255") == 0);
    CHECK(in(s, "192.168.1.0") == 1);
    CHECK(in(s, "192.168.1.255") == 1);
    CHECK(in(s, "192.168.0.255") == 0);
    CHECK(in(s, "192.168.2.0") == 0);
    CHECK(in(s, "172.16.5.4") == 1);
    CHECK(in(s, "172.16.5.5") == 0);
    CHECK(in(s, "172.16.5.3") == 0);
    CHECK(in(s, "203.0.113.7") == 1);
    /* IPv4 ranges do not hold IPv6 addresses, except IPv4-mapped ones. */
    CHECK(in(s, "::ffff:10.1.2.3") == 1);
    CHECK(in(s, "::ffff:11.1.2.3") == 0);
    CHECK(in(s, "::10.1.2.3") == 0);
    CHECK(in(s, "2001:db8::1") == 0);
    CHECK_INT_EQ(cidr_set_count(s), 4);
    cidr_set_free(s);

    s = parse("0.0.0.0/0");
    CHECK(in(s, "0.0.0.0") == 1 && in(s, "255.255.255.255") == 1 && in(s, "::ffff:1.2.3.4") == 1);
    CHECK(in(s, "::1") == 0);
    cidr_set_free(s);
    s = parse("255.255.255.255/32,0.0.0.0/32");
    CHECK(in(s, "255.255.255.255") == 1 && in(s, "0.0.0.0") == 1 && in(s, "0.0.0.1") == 0);
    CHECK(in(s, "255.255.255.254") == 0);
    cidr_set_free(s);
    /* Host bits are ignored. */
    s = parse("10.1.2.3/8");
    CHECK(in(s, "10.200.0.1") == 1);
    cidr_set_free(s);
}

static void test_ipv6(void)
{
    struct cidr_set *s =
        parse("2001:db8::/32,\t::1, fe80::/10 ,2001:db8:ffff:ffff:ffff:ffff:ffff:ff00/120");
    CHECK(s != NULL);
    CHECK(in(s, "2001:db8::") == 1);
    CHECK(in(s, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff") == 1);
    CHECK(in(s, "2001:db9::") == 0);
    CHECK(in(s, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff") == 0);
    CHECK(in(s, "::1") == 1);
    CHECK(in(s, "::2") == 0);
    CHECK(in(s, "::") == 0);
    CHECK(in(s, "fe80::1") == 1);
    CHECK(in(s, "febf:ffff::1") == 1);
    CHECK(in(s, "fec0::") == 0);
    CHECK(in(s, "127.0.0.1") == 0);
    CHECK_INT_EQ(cidr_set_count(s), 3); /* the /120 lies inside the /32 */
    cidr_set_free(s);

    /* ::/0 is every IPv6 address but no IPv4 one, as in nginx. */
    s = parse("::/0");
    CHECK(in(s, "::") == 1 && in(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") == 1);
    CHECK(in(s, "1.2.3.4") == 0 && in(s, "::ffff:1.2.3.4") == 0);
    cidr_set_free(s);
    s = parse("0.0.0.0/0, ::/0");
    CHECK(in(s, "1.2.3.4") == 1 && in(s, "::ffff:1.2.3.4") == 1 && in(s, "2001:db8::1") == 1);
    cidr_set_free(s);
    /* Writing an IPv4 range in mapped form means that IPv4 range. */
    s = parse("::ffff:10.0.0.0/104, ::ffff:192.0.2.1");
    CHECK(in(s, "10.9.8.7") == 1 && in(s, "::ffff:10.9.8.7") == 1 && in(s, "192.0.2.1") == 1);
    CHECK(in(s, "11.0.0.0") == 0 && in(s, "192.0.2.2") == 0);
    cidr_set_free(s);
    s = parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128, ::/128");
    CHECK(in(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") == 1 && in(s, "::") == 1);
    CHECK(in(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe") == 0 && in(s, "::1") == 0);
    cidr_set_free(s);
    s = parse("2001:db8::/64,2001:db8:0:1::/64");
    CHECK_INT_EQ(cidr_set_count(s), 1); /* adjacent ranges merge */
    CHECK(in(s, "2001:db8:0:1:ffff:ffff:ffff:ffff") == 1 && in(s, "2001:db8:0:2::") == 0);
    cidr_set_free(s);
    s = parse("8000::/1, ::/1");
    CHECK_INT_EQ(cidr_set_count(s), 1);
    CHECK(in(s, "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") == 1 && in(s, "8000::") == 1);
    cidr_set_free(s);
    s = parse("0:0:0:1::/64, 0:0:0:0:ffff:ffff:ffff:ffff");
    CHECK_INT_EQ(cidr_set_count(s), 1); /* touching across the 64-bit halves */
    cidr_set_free(s);
}

static void test_binary_lengths(void)
{
    struct cidr_set *s = parse("10.0.0.0/8,2001:db8::/32");
    unsigned char v4[4] = {10, 1, 2, 3}, v6[16] = {0x20, 0x01, 0x0d, 0xb8};
    unsigned char mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};
    CHECK(cidr_set_contains(s, v4, 4));
    CHECK(cidr_set_contains(s, v6, 16));
    CHECK(cidr_set_contains(s, mapped, 16));
    CHECK(!cidr_set_contains(s, v4, 3));
    CHECK(!cidr_set_contains(s, v6, 8));
    CHECK(!cidr_set_contains(s, v6, 0));
    CHECK(!cidr_set_contains(s, NULL, 4));
    CHECK(!cidr_set_contains(NULL, v4, 4));
    cidr_set_free(s);
}

static void expect_error(const char *list, const char *want)
{
    char err[256] = "";
    struct cidr_set *s = cidr_set_parse(list, strlen(list), err, sizeof(err));
    CHECK(s == NULL);
    if (!strstr(err, want)) {
        printf("#   error \"%s\" lacks \"%s\"\n", err, want);
        test_failures_in_current++;
    }
    cidr_set_free(s);
}

static void test_errors_and_blanks(void)
{
    expect_error("10.0.0.0/8, 10.0.0.0/33",
                 "bad CIDR entry \"10.0.0.0/33\": prefix length above 32");
    expect_error("::/129", "prefix length above 128");
    expect_error("10.0.0.0/", "bad prefix length");
    expect_error("10.0.0.0/-1", "bad prefix length");
    expect_error("10.0.0.0/+8", "bad prefix length");
    expect_error("10.0.0.0/0008", "bad prefix length");
    expect_error("10.0.0.0/8/8", "bad prefix length");
    expect_error("1.2.3.4, example.com", "bad CIDR entry \"example.com\": not an IPv4 or IPv6");
    expect_error("10.0.0", "not an IPv4");
    expect_error("010.0.0.1", "not an IPv4");
    expect_error("256.0.0.1", "not an IPv4");
    expect_error("fe80::1%eth0", "not an IPv4 or IPv6");
    expect_error("1.2.3.4 5.6.7.8", "bad CIDR entry \"1.2.3.4 5.6.7.8\"");
    expect_error("10.0.0.0/8;rm", "bad CIDR entry");
    expect_error("a\nb", "bad CIDR entry \"a?b\"");
    expect_error("", "empty CIDR list");
    expect_error(" , ,", "empty CIDR list");
    char big[200];
    memset(big, '1', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    expect_error(big, "entry too long");
    char *many = malloc(CIDR_MAX_ENTRIES * 2 + 2);
    memset(many, ',', CIDR_MAX_ENTRIES * 2);
    many[CIDR_MAX_ENTRIES * 2] = '\0';
    expect_error(many, "more than 10000");
    free(many);

    struct cidr_set *s = parse("  10.0.0.0 / 8 ,, 192.168.0.1\t,\n2001:db8:: / 32 ,");
    CHECK(s != NULL);
    CHECK(in(s, "10.3.3.3") == 1 && in(s, "192.168.0.1") == 1 && in(s, "2001:db8::5") == 1);
    cidr_set_free(s);
    char err[64];
    CHECK(cidr_set_parse(NULL, 5, err, sizeof(err)) == NULL);

    unsigned char b[16];
    CHECK_INT_EQ(cidr_parse_addr("1.2.3.4", 7, b), 4);
    CHECK_INT_EQ(cidr_parse_addr("::1", 3, b), 16);
    CHECK_INT_EQ(cidr_parse_addr("1.2.3.4 ", 8, b), 0);
    CHECK_INT_EQ(cidr_parse_addr("", 0, b), 0);
    CHECK_INT_EQ(cidr_parse_addr("1:2:3:4:5:6:7:8:9:10:11:12:13:14:15:16:17", 41, b), 0);
}

/* xorshift, so runs repeat */
static unsigned long long rng = 88172645463325252ULL;
static unsigned long long next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_matches_a_linear_scan(void)
{
    enum { N = 600, PROBES = 20000 };
    static struct {
        unsigned char a[16];
        int v6;
        unsigned prefix;
    } r[N];
    char *list = malloc(N * 64);
    size_t len = 0;
    for (int i = 0; i < N; i++) {
        unsigned long long x = next(), y = next();
        r[i].v6 = i % 3 == 0;
        memcpy(r[i].a, &x, 8);
        memcpy(r[i].a + 8, &y, 8);
        /* A few common leading bytes, so ranges nest, touch and overlap. */
        r[i].a[0] = r[i].v6 ? 0x20 : (unsigned char)(10 + (x >> 60) % 2);
        r[i].a[1] = (unsigned char)((x >> 56) % 4);
        r[i].prefix = r[i].v6 ? 20 + (unsigned)(y % 109) : 14 + (unsigned)(y % 19);
        char txt[64];
        inet_ntop(r[i].v6 ? AF_INET6 : AF_INET, r[i].a, txt, sizeof(txt));
        len += (size_t)sprintf(list + len, "%s%s/%u", i ? ", " : "", txt, r[i].prefix);
    }
    char err[256];
    struct cidr_set *s = cidr_set_parse(list, len, err, sizeof(err));
    CHECK(s != NULL);
    if (!s) {
        printf("# %s\n", err);
        free(list);
        return;
    }
    int hits = 0;
    for (int p = 0; p < PROBES; p++) {
        unsigned char a[16];
        int v6 = p % 2;
        unsigned long long x = next(), y = next();
        memcpy(a, &x, 8);
        memcpy(a + 8, &y, 8);
        /* Share a random number of leading bits with some range, so that
         * probes land inside, just outside and on the edges. */
        int j = (int)((x >> 32) % N);
        while (r[j].v6 != v6)
            j = (j + 1) % N;
        unsigned cut = (unsigned)(y >> 32) % (r[j].prefix + 3);
        for (unsigned b = 0; b < cut && b < (v6 ? 128u : 32u); b++) {
            unsigned char m = (unsigned char)(0x80 >> (b % 8));
            a[b / 8] = (unsigned char)((a[b / 8] & ~m) | (r[j].a[b / 8] & m));
        }
        int want = 0;
        for (int i = 0; i < N; i++) {
            if (r[i].v6 != v6)
                continue;
            unsigned bits = r[i].prefix, k = 0;
            int match = 1;
            for (; bits >= 8; bits -= 8, k++)
                if (a[k] != r[i].a[k])
                    match = 0;
            if (bits && ((a[k] ^ r[i].a[k]) & (0xff00 >> bits)))
                match = 0;
            want |= match;
        }
        int got = cidr_set_contains(s, a, v6 ? 16 : 4);
        hits += got;
        if (got != want) {
            char txt[64];
            inet_ntop(v6 ? AF_INET6 : AF_INET, a, txt, sizeof(txt));
            printf("#   %s: got %d, a linear scan says %d\n", txt, got, want);
            test_failures_in_current++;
            break;
        }
    }
    printf("# %d of %d probes inside %zu merged ranges\n", hits, PROBES, cidr_set_count(s));
    CHECK(hits > PROBES / 20 && hits < PROBES - PROBES / 20);
    CHECK(cidr_set_count(s) > 100);
    cidr_set_free(s);
    free(list);
}

TEST_MAIN(TEST_CASE(test_ipv4), TEST_CASE(test_ipv6), TEST_CASE(test_binary_lengths),
          TEST_CASE(test_errors_and_blanks), TEST_CASE(test_matches_a_linear_scan))
