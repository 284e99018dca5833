/* SPDX-License-Identifier: MIT */
/* CRC32 (IEEE 802.3, reflected polynomial 0xEDB88320; the checksum of zlib, PNG and gzip),
 * slice-by-8: eight bytes per step through eight lookup tables, then byte by byte. */
#include "io_internal.h"
#include "crc32_table.h"

#include <string.h>

uint32_t tf__crc32(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    crc = ~crc;
    /* Byte-wise until p is 8-byte aligned, so the wide loads below are aligned. */
    while (n > 0 && ((uintptr_t)p & 7u) != 0) {
        crc = tf__crc32_table[0][(crc ^ *p++) & 0xffu] ^ (crc >> 8);
        n--;
    }
    while (n >= 8) {
        /* Little-endian composition of the 8 bytes, independent of the host byte order. */
        uint32_t lo =
            (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        uint32_t hi =
            (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        lo ^= crc;
        crc = tf__crc32_table[7][lo & 0xffu] ^ tf__crc32_table[6][(lo >> 8) & 0xffu] ^
              tf__crc32_table[5][(lo >> 16) & 0xffu] ^ tf__crc32_table[4][lo >> 24] ^
              tf__crc32_table[3][hi & 0xffu] ^ tf__crc32_table[2][(hi >> 8) & 0xffu] ^
              tf__crc32_table[1][(hi >> 16) & 0xffu] ^ tf__crc32_table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n > 0) {
        crc = tf__crc32_table[0][(crc ^ *p++) & 0xffu] ^ (crc >> 8);
        n--;
    }
    return ~crc;
}

uint32_t tf__meta_crc(const tf__kv_t *kv, uint32_t n)
{
    uint32_t crc = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (strncmp(kv[i].key, TF__META_CRC_PREFIX, strlen(TF__META_CRC_PREFIX)) == 0)
            continue;
        crc = tf__crc32(crc, kv[i].key, strlen(kv[i].key) + 1);
        crc = tf__crc32(crc, kv[i].value, strlen(kv[i].value) + 1);
    }
    return crc;
}

int tf__kv_cmp(const void *a, const void *b)
{
    return strcmp(((const tf__kv_t *)a)->key, ((const tf__kv_t *)b)->key);
}
