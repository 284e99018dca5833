/* SPDX-License-Identifier: MIT */
/* Fuzz the JSON reader of checkpoint headers: any bytes are either refused with EFORMAT (and
 * nothing allocated) or give a tree whose counts, strings and numbers hold together. */
#include "transfer.h"
#include "io/json.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walk a tree: counts match the children, members have keys and elements none, strings have no
 * NUL before their end, numbers that claim an exact integer are one. Returns the node count. */
static long walk(const tf__json_t *j, int depth, int in_object)
{
    long nodes = 1;
    if (depth > TF__JSON_MAX_DEPTH || (in_object ? j->key == NULL : j->key != NULL))
        abort();
    if (j->type == TF__JSON_STRING && j->str == NULL)
        abort();
    if (j->type == TF__JSON_NUMBER && j->is_u64 && (double)j->u64 != j->num &&
        j->u64 < (1ull << 53))
        abort();
    int64_t n = 0;
    for (const tf__json_t *c = j->child; c != NULL; c = c->next, n++)
        nodes += walk(c, depth + 1, j->type == TF__JSON_OBJECT);
    if (n != j->count || (n > 0 && j->type != TF__JSON_ARRAY && j->type != TF__JSON_OBJECT))
        abort();
    return nodes;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tf_ctx_t *ctx = NULL;
    tf__json_doc_t *doc;
    const tf__json_t *root;
    size_t at;
    int why;
    if (tf_ctx_create(&ctx, NULL) != TF_STATUS_OK)
        return 0;
    tf_status_t st = tf__json_parse(ctx, (const char *)data, size, &doc, &root, &at, &why);
    if (st == TF_STATUS_OK) {
        walk(root, 0, 0);
        tf__json_free(doc);
    } else if (st != TF_STATUS_EFORMAT || doc != NULL || root != NULL || at > size ||
               why < TF__JSON_ERR_SYNTAX || why > TF__JSON_ERR_DEPTH) {
        abort();
    }
    if (tf_ctx_allocated_bytes(ctx) != 0)
        abort();
    tf_ctx_free(ctx);
    return 0;
}
