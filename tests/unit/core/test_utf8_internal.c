/* SPDX-License-Identifier: MIT */
/* The UTF-8 check of lib/core against RFC 3629's table of well-formed byte sequences, and against
 * an encoder of every code point. */
#include "tf_test.h"
#include "core/internal.h"
#include <string.h>

/* Encode a code point (any value below 2^21, surrogates included) the plain way. */
static size_t encode(uint32_t cp, unsigned char *o)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Every scalar value encodes to a sequence of its own length; surrogates and values past
 * U+10FFFF do not; no proper prefix of a multi-byte sequence is one. */
static void test_utf8_every_code_point(void **state)
{
    (void)state;
    unsigned char b[4];
    for (uint32_t cp = 0; cp < 0x140000; cp++) {
        const size_t len = encode(cp, b);
        const int scalar = cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
        if (tf__utf8_seq_len(b, len) != (scalar ? len : 0))
            fail_msg("U+%04X: length %zu", (unsigned)cp, tf__utf8_seq_len(b, len));
        assert_int_equal(tf__utf8_valid((const char *)b, len), scalar);
        for (size_t k = 1; k < len; k++)
            assert_int_equal(tf__utf8_seq_len(b, k), 0);
    }
}

/* RFC 3629's boundaries, byte by byte, and overlong forms of the same characters. */
static void test_utf8_boundaries_and_overlongs(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t want;
    } cases[] = {
        {"\x7f", 1},
        {"\xc2\x80", 2},
        {"\xdf\xbf", 2},
        {"\xe0\xa0\x80", 3},
        {"\xed\x9f\xbf", 3},
        {"\xee\x80\x80", 3},
        {"\xef\xbf\xbf", 3},
        {"\xf0\x90\x80\x80", 4},
        {"\xf4\x8f\xbf\xbf", 4},
        {"\xc0\x80", 0},
        {"\xc1\xbf", 0},
        {"\xe0\x9f\xbf", 0},
        {"\xed\xa0\x80", 0},
        {"\xed\xbf\xbf", 0},
        {"\xf0\x8f\xbf\xbf", 0},
        {"\xf4\x90\x80\x80", 0},
        {"\xf5\x80\x80\x80", 0},
        {"\xff", 0},
        {"\x80", 0},
        {"\xbf", 0},
        {"\xc2\x41", 0},
        {"\xe1\x80\x41", 0},
        {"\xf1\x80\x80\xc0", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const unsigned char *s = (const unsigned char *)cases[i].s;
        if (tf__utf8_seq_len(s, strlen(cases[i].s)) != cases[i].want)
            fail_msg("case %zu: length %zu, want %zu", i, tf__utf8_seq_len(s, strlen(cases[i].s)),
                     cases[i].want);
    }
    assert_int_equal(tf__utf8_seq_len((const unsigned char *)"", 0), 0);
    assert_true(tf__utf8_valid("", 0));
    assert_true(tf__utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14));
    assert_false(tf__utf8_valid("caf\xc3\xa9 \xe2\x82", 8)); /* cut inside the euro sign */
    assert_false(tf__utf8_valid("a\0\xc3", 3));
    assert_true(tf__utf8_valid("a\0b", 3)); /* NUL is a character; callers reject it themselves */
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_every_code_point),
        cmocka_unit_test(test_utf8_boundaries_and_overlongs),
    };
    return TF_TEST_RUN(tests);
}
