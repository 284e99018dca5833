/* SPDX-License-Identifier: MIT */
/* CRC32 against published check values (the CRC-32/ISO-HDLC catalogue entry and zlib). */
#include "tf_test.h"
#include "io/io_internal.h"

#include <string.h>

static void test_crc32_check_value(void **state)
{
    (void)state;
    /* The catalogue "check" value: CRC of the ASCII string "123456789". */
    assert_int_equal(tf__crc32(0, "123456789", 9), 0xCBF43926u);
}

static void test_crc32_known_strings(void **state)
{
    (void)state;
    assert_int_equal(tf__crc32(0, "", 0), 0x00000000u);
    assert_int_equal(tf__crc32(0, "a", 1), 0xE8B7BE43u);
    assert_int_equal(tf__crc32(0, "abc", 3), 0x352441C2u);
    const char *fox = "The quick brown fox jumps over the lazy dog";
    assert_int_equal(tf__crc32(0, fox, strlen(fox)), 0x414FA339u);
    unsigned char zeros[32] = {0};
    assert_int_equal(tf__crc32(0, zeros, sizeof zeros), 0x190A55ADu);
    unsigned char ones[32];
    memset(ones, 0xff, sizeof ones);
    assert_int_equal(tf__crc32(0, ones, sizeof ones), 0xFF6CAB0Bu);
}

/* Bit-at-a-time reference, independent of the table-driven code. */
static uint32_t crc_bitwise(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1u) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    }
    return ~c;
}

static void test_crc32_chunked_and_unaligned_match_bitwise(void **state)
{
    (void)state;
    unsigned char buf[300];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 131u + 7u);
    /* Every start alignment and length: the slice-by-8 loop and its byte-wise edges. */
    for (size_t start = 0; start < 8; start++)
        for (size_t len = 0; len <= 200; len++)
            assert_int_equal(tf__crc32(0, buf + start, len), crc_bitwise(buf + start, len));
    /* Feeding in chunks gives the same value as one call. */
    uint32_t whole = tf__crc32(0, buf, sizeof buf);
    for (size_t cut = 0; cut <= sizeof buf; cut += 13)
        assert_int_equal(tf__crc32(tf__crc32(0, buf, cut), buf + cut, sizeof buf - cut), whole);
}

static void test_crc32_sensitive_to_every_bit(void **state)
{
    (void)state;
    unsigned char buf[64];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)i;
    uint32_t base = tf__crc32(0, buf, sizeof buf);
    for (size_t bit = 0; bit < sizeof buf * 8; bit++) {
        buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        assert_int_not_equal(tf__crc32(0, buf, sizeof buf), base);
        buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_check_value),
        cmocka_unit_test(test_crc32_known_strings),
        cmocka_unit_test(test_crc32_chunked_and_unaligned_match_bitwise),
        cmocka_unit_test(test_crc32_sensitive_to_every_bit),
    };
    return TF_TEST_RUN(tests);
}
