/* SPDX-License-Identifier: MIT */
/* Options structs that grow (docs/ABI.md): this program is built against today's headers and runs
 * against a library whose options and results structs each grew one trailing int64_t field in one
 * more version (tests/abi/CMakeLists.txt). The frozen copies below are the structs as published:
 * they never change, whatever the headers become. */
#include "tf_test.h"
#include "core/internal.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- frozen copies of the published structs ---- */

typedef struct {
    uint32_t struct_size;
    uint32_t version;
    const tf_allocator_t *allocator;
    int32_t num_threads;
    int32_t log_level;
    uint64_t seed;
    tf_log_cb log_cb;
    void *log_payload;
} frozen_ctx_opts_t;

typedef struct {
    uint32_t struct_size;
    uint32_t version;
    int32_t kind;
    int32_t lowercase;
    int32_t split_punct;
    int32_t min_count;
    int32_t max_size;
} frozen_vocab_opts_t;

typedef struct {
    uint32_t struct_size;
    uint32_t version;
    int32_t batch_size;
    int32_t bptt;
    int32_t bptt_random;
    int32_t shuffle;
    int32_t drop_last;
    int32_t max_len;
    int32_t bucket;
    int32_t skip_bad_lines;
    int32_t split;
    int32_t num_features;
    int32_t has_label;
    int32_t next_step;
    int32_t standardize;
    int32_t num_labels;
    const char *const *labels;
    double valid_fraction;
    uint64_t seed;
} frozen_loader_opts_t;

typedef struct {
    uint32_t struct_size;
    uint32_t version;
    uint32_t flags;
    uint32_t reserved;
    uint64_t max_header_bytes;
} frozen_tensorfile_opts_t;

typedef struct {
    uint32_t struct_size;
    uint32_t version;
    int64_t num_embeddings;
    int64_t embedding_dim;
    int64_t padding_idx;
    const char *name;
} frozen_embedding_opts_t;

typedef struct {
    uint32_t struct_size;
    uint32_t version;
    int64_t in_features;
    int64_t out_features;
    int32_t bias;
    int32_t reserved;
    const char *name;
} frozen_linear_opts_t;

typedef struct {
    uint32_t struct_size;
    uint32_t version;
    double p;
} frozen_dropout_opts_t;

typedef struct {
    uint32_t struct_size;
    uint32_t version;
    int64_t input_size;
    int64_t hidden_size;
    int32_t num_layers;
    int32_t bidirectional;
    double dropout;
    const char *name;
    int32_t cell;
} frozen_rnn_opts_t;

typedef struct {
    uint32_t struct_size;
    uint32_t version;
    int64_t vocab_size;
    int64_t embedding_dim;
    int64_t padding_idx;
    int64_t input_features;
    int64_t hidden_size;
    int32_t num_layers;
    int32_t bidirectional;
    double dropout;
    int32_t cell;
} frozen_encoder_opts_t;

typedef struct {
    uint32_t struct_size;
    uint32_t version;
    int32_t algorithm;
    int32_t amsgrad;
    double lr;
    double momentum;
    double dampening;
    int32_t nesterov;
    int32_t schedule;
    double weight_decay;
    double beta1;
    double beta2;
    double eps;
    double max_grad_norm;
    int64_t total_steps;
    int64_t warmup_steps;
    double min_lr_ratio;
    double cut_frac;
    double ratio;
    double pct_start;
    double div_factor;
    double final_div_factor;
} frozen_optimizer_opts_t;

typedef struct {
    uint32_t struct_size;
    uint32_t version;
    int32_t input;
    int32_t num_features;
    int32_t embedding_dim;
    int32_t hidden_size;
    int32_t num_layers;
    int32_t bidirectional;
    double dropout;
    int32_t tie_weights;
    int32_t reserved;
    int32_t cell;
    int32_t softmax;
    double div_value;
    int32_t cutoffs[8];
} frozen_model_opts_t;

typedef struct {
    uint32_t struct_size;
    uint32_t version;
    int32_t epochs;
    int32_t reserved;
    int64_t max_steps;
    int64_t stop_after_steps;
    const tf_optimizer_opts_t *optim;
    double clip_norm;
    int64_t valid_every;
    int64_t progress_every;
    tf_progress_cb progress;
    void *progress_payload;
} frozen_pretrain_opts_t;

/* Version 2 appended the group handle. */
typedef struct {
    frozen_pretrain_opts_t v1;
    void *dist;
} frozen_pretrain_opts_v2_t;

typedef struct {
    uint32_t struct_size;
    uint32_t version;
    int32_t strategy;
    uint32_t pooling;
    int32_t epochs;
    int32_t patience;
    int32_t metric;
    int32_t reserved;
    int64_t stop_after_steps;
    double lr;
    double discriminative;
    double weight_decay;
    double head_dropout;
    double clip_norm;
    int32_t schedule;
    int32_t reset_head;
    int64_t progress_every;
    tf_progress_cb progress;
    void *progress_payload;
    int32_t class_weight;
    int32_t calibrate;
    const float *class_weights;
    int64_t num_class_weights;
} frozen_finetune_opts_t;

/* Version 3 appended the optimizer options to version 2. */
typedef struct {
    frozen_finetune_opts_t v2;
    const tf_optimizer_opts_t *optim;
} frozen_finetune_opts_v3_t;

/* Version 4 appended the group handle. */
typedef struct {
    frozen_finetune_opts_v3_t v3;
    void *dist;
} frozen_finetune_opts_v4_t;

typedef struct {
    uint32_t struct_size;
    uint32_t version;
    int32_t epochs;
    int32_t patience;
    int32_t metric;
    uint32_t pooling;
    double temperature;
    double alpha;
    double lr;
    double weight_decay;
    double head_dropout;
    double clip_norm;
    int64_t stop_after_steps;
    int64_t progress_every;
    tf_progress_cb progress;
    void *progress_payload;
    const tf_optimizer_opts_t *optim;
    int32_t calibrate;
    int32_t reserved;
} frozen_distill_opts_t;

/* Version 2 appended max_steps. */
typedef struct {
    frozen_distill_opts_t v1;
    int64_t max_steps;
} frozen_distill_opts_v2_t;

typedef struct {
    uint32_t struct_size;
    uint32_t version;
    int32_t max_iter;
    int32_t reserved;
    double tol;
    double min_prior;
} frozen_adapt_opts_t;

typedef struct {
    uint32_t struct_size;
    uint32_t version;
    const char *const *labels;
    int32_t num_labels;
    int32_t multi_label;
    uint32_t pooling;
    int32_t reserved;
    double head_dropout;
} frozen_import_opts_t;

typedef struct {
    uint32_t struct_size;
    uint32_t version;
    uint32_t dtype;
    uint32_t reserved;
    int64_t min_elements;
} frozen_export_opts_t;

typedef struct {
    uint32_t struct_size;
    uint32_t version;
    int64_t steps;
    int32_t epochs;
    int32_t best_epoch;
    double train_loss;
    double valid_loss;
    double valid_metric;
    double best_metric;
    double seconds;
    double items_per_s;
} frozen_train_report_t;

typedef struct {
    uint32_t struct_size;
    uint32_t version;
    int64_t count;
    int32_t num_classes;
    int32_t reserved;
    double loss;
    double accuracy;
    double macro_f1;
} frozen_metrics_t;

typedef struct {
    uint32_t struct_size;
    uint32_t version;
    int32_t steps;
    int32_t rule;
    int32_t baseline;
    int32_t target_class;
    int32_t batch_size;
    int32_t reserved;
} frozen_explain_opts_t;

typedef struct {
    uint32_t struct_size;
    uint32_t version;
    int64_t num_steps;
    int32_t target_class;
    int32_t predicted_class;
    double f_input;
    double f_baseline;
    double sum;
    double gap;
} frozen_explain_result_t;

typedef struct {
    uint32_t struct_size;
    uint32_t version;
    int32_t num_threads;
    int32_t max_batch;
    int32_t dtype;
    int32_t reserved;
    int32_t input_table;
    int32_t reserved2;
} frozen_predictor_opts_t;

enum { GUARD = 64 };

typedef struct {
    const char *name;
    size_t size;      /* sizeof the frozen copy */
    uint32_t version; /* the version it was published as */
    uint32_t newest;  /* the newest version in today's headers */
    tf_status_t (*init)(void *opts, uint32_t version);
    const tf__opts_layout_t *layout;
} frozen_t;

#define FROZEN_INIT(n)                                                                             \
    static tf_status_t init_##n(void *p, uint32_t v)                                               \
    {                                                                                              \
        return tf_##n##_init(p, v);                                                                \
    }
FROZEN_INIT(ctx_opts)
FROZEN_INIT(vocab_opts)
FROZEN_INIT(loader_opts)
FROZEN_INIT(tensorfile_opts)
FROZEN_INIT(embedding_opts)
FROZEN_INIT(linear_opts)
FROZEN_INIT(dropout_opts)
FROZEN_INIT(rnn_opts)
FROZEN_INIT(encoder_opts)
FROZEN_INIT(optimizer_opts)
FROZEN_INIT(model_opts)
FROZEN_INIT(pretrain_opts)
FROZEN_INIT(finetune_opts)
FROZEN_INIT(distill_opts)
FROZEN_INIT(adapt_opts)
FROZEN_INIT(import_opts)
FROZEN_INIT(export_opts)
FROZEN_INIT(train_report)
FROZEN_INIT(metrics)
FROZEN_INIT(explain_opts)
FROZEN_INIT(explain_result)
FROZEN_INIT(predictor_opts)

#define FROZEN(n, v)                                                                               \
    {                                                                                              \
        "tf_" #n "_t", sizeof(frozen_##n##_t), v, v, init_##n, &tf__##n##_layout                   \
    }

static const frozen_t frozen[] = {
    FROZEN(ctx_opts, 1),
    FROZEN(vocab_opts, 1),
    FROZEN(loader_opts, 1),
    FROZEN(tensorfile_opts, 1),
    FROZEN(embedding_opts, 1),
    FROZEN(linear_opts, 1),
    FROZEN(dropout_opts, 1),
    FROZEN(rnn_opts, 2),
    /* Version 1 of the recurrent and encoder options ended before cell. */
    {"tf_rnn_opts_t", offsetof(frozen_rnn_opts_t, cell), 1, 2, init_rnn_opts, &tf__rnn_opts_layout},
    FROZEN(encoder_opts, 2),
    {"tf_encoder_opts_t", offsetof(frozen_encoder_opts_t, cell), 1, 2, init_encoder_opts,
     &tf__encoder_opts_layout},
    FROZEN(optimizer_opts, 1),
    FROZEN(model_opts, 3),
    /* Version 2 of the model options ended before softmax, version 1 before cell. */
    {"tf_model_opts_t", offsetof(frozen_model_opts_t, softmax), 2, 3, init_model_opts,
     &tf__model_opts_layout},
    {"tf_model_opts_t", offsetof(frozen_model_opts_t, cell), 1, 3, init_model_opts,
     &tf__model_opts_layout},
    {"tf_pretrain_opts_t", sizeof(frozen_pretrain_opts_v2_t), 2, 2, init_pretrain_opts,
     &tf__pretrain_opts_layout},
    {"tf_pretrain_opts_t", sizeof(frozen_pretrain_opts_t), 1, 2, init_pretrain_opts,
     &tf__pretrain_opts_layout},
    {"tf_finetune_opts_t", sizeof(frozen_finetune_opts_v4_t), 4, 4, init_finetune_opts,
     &tf__finetune_opts_layout},
    {"tf_finetune_opts_t", sizeof(frozen_finetune_opts_v3_t), 3, 4, init_finetune_opts,
     &tf__finetune_opts_layout},
    {"tf_finetune_opts_t", sizeof(frozen_finetune_opts_t), 2, 4, init_finetune_opts,
     &tf__finetune_opts_layout},
    /* Version 1 of the fine-tuning options ended before class_weight. */
    {"tf_finetune_opts_t", offsetof(frozen_finetune_opts_t, class_weight), 1, 4, init_finetune_opts,
     &tf__finetune_opts_layout},
    {"tf_distill_opts_t", sizeof(frozen_distill_opts_v2_t), 2, 2, init_distill_opts,
     &tf__distill_opts_layout},
    {"tf_distill_opts_t", sizeof(frozen_distill_opts_t), 1, 2, init_distill_opts,
     &tf__distill_opts_layout},
    FROZEN(adapt_opts, 1),
    FROZEN(import_opts, 1),
    FROZEN(export_opts, 1),
    FROZEN(train_report, 1),
    FROZEN(metrics, 1),
    FROZEN(explain_opts, 1),
    FROZEN(explain_result, 1),
    FROZEN(predictor_opts, 2),
    /* Version 1 of the predictor options ended before input_table. */
    {"tf_predictor_opts_t", offsetof(frozen_predictor_opts_t, input_table), 1, 2,
     init_predictor_opts, &tf__predictor_opts_layout},
};
#define NFROZEN (sizeof frozen / sizeof frozen[0])

/* The grown field is the library struct's last 8 bytes of fields. */
static int64_t grown_field(const void *lib_struct, const tf__opts_layout_t *l)
{
    int64_t v;
    memcpy(&v, (const char *)lib_struct + l->sizes[l->current] - sizeof v, sizeof v);
    return v;
}

static unsigned char *guarded(size_t size)
{
    unsigned char *p = malloc(size + GUARD);
    assert_non_null(p);
    memset(p, 0xA5, size + GUARD);
    return p;
}

static void assert_guard_intact(const frozen_t *f, const unsigned char *p)
{
    for (size_t i = f->size; i < f->size + GUARD; i++)
        if (p[i] != 0xA5)
            fail_msg("%s version %u: byte %zu past its %zu bytes was written", f->name, f->version,
                     i - f->size, f->size);
}

static void test_grown_library_is_one_version_ahead(void **state)
{
    (void)state;
    for (size_t i = 0; i < NFROZEN; i++) {
        const frozen_t *f = &frozen[i];
        const tf__opts_layout_t *l = f->layout;
        if (strcmp(l->type, f->name) != 0)
            fail_msg("%s: the table names %s", f->name, l->type);
        /* Today's last version is one behind, and its published size is the frozen struct's up
         * to tail padding (a field changed in place would break this). */
        assert_int_equal(l->current, f->newest + 1);
        assert_true(l->sizes[f->version] <= f->size);
        assert_true(f->size - l->sizes[f->version] < sizeof(int64_t));
        assert_true(l->size >= f->size + sizeof(int64_t));
    }
}

static void test_init_of_a_published_version_writes_only_its_size(void **state)
{
    (void)state;
    for (size_t i = 0; i < NFROZEN; i++) {
        const frozen_t *f = &frozen[i];
        const tf__opts_layout_t *l = f->layout;
        unsigned char *p = guarded(f->size);
        assert_ok(f->init(p, f->version));
        assert_guard_intact(f, p);
        uint32_t head[2];
        memcpy(head, p, sizeof head);
        assert_true(head[0] >= l->sizes[f->version] && head[0] <= f->size);
        assert_int_equal(head[1], f->version);
        /* Exactly its size on the heap: an overrun is an AddressSanitizer error. */
        unsigned char *exact = malloc(f->size);
        assert_non_null(exact);
        assert_ok(f->init(exact, f->version));
        /* The same defaults as the current version's for the fields both have. */
        unsigned char *cur = malloc(l->size);
        assert_non_null(cur);
        assert_ok(f->init(cur, l->current));
        memcpy(head, cur, sizeof head);
        assert_int_equal(head[0], l->size);
        assert_int_equal(head[1], l->current);
        assert_memory_equal(exact + 8, cur + 8, l->sizes[f->version] - 8);
        assert_int_equal(grown_field(cur, l), TF__TEST_GROWN_DEFAULT);
        free(cur);
        free(exact);
        free(p);
    }
}

static void test_read_of_a_published_version_keeps_new_defaults(void **state)
{
    (void)state;
    for (size_t i = 0; i < NFROZEN; i++) {
        const frozen_t *f = &frozen[i];
        const tf__opts_layout_t *l = f->layout;
        unsigned char *src = guarded(f->size);
        assert_ok(f->init(src, f->version));
        /* Caller values differ from the defaults, so a copy shows. */
        for (size_t b = 8; b < l->sizes[f->version]; b++)
            src[b] ^= 0x11;
        unsigned char *dst = malloc(l->size);
        assert_non_null(dst);
        assert_ok(f->init(dst, l->current));
        assert_ok(tf__opts_read(dst, src, l, "read"));
        uint32_t head[2];
        memcpy(head, dst, sizeof head);
        assert_int_equal(head[0], l->size);
        assert_int_equal(head[1], l->current);
        assert_memory_equal(dst + 8, src + 8, l->sizes[f->version] - 8);
        /* Not the caller's guard bytes: the default. */
        assert_int_equal(grown_field(dst, l), TF__TEST_GROWN_DEFAULT);
        size_t n = 0;
        assert_ok(tf__results_size(src, l, "results", &n));
        assert_true(n <= f->size);
        /* A struct_size smaller than the claimed version's is refused with the type named. */
        if (f->version > 1) {
            uint32_t bad[2] = {(uint32_t)l->sizes[f->version - 1], f->version};
            memcpy(src, bad, sizeof bad);
            assert_status(tf__opts_read(dst, src, l, "read"), TF_STATUS_EINVAL);
            assert_non_null(strstr(tf_last_error_message(), f->name));
        }
        /* Claiming the grown version with today's size is refused the same way. */
        uint32_t grown[2] = {(uint32_t)f->size, l->current};
        memcpy(src, grown, sizeof grown);
        assert_status(tf__opts_read(dst, src, l, "read"), TF_STATUS_EINVAL);
        assert_non_null(strstr(tf_last_error_message(), f->name));
        free(dst);
        free(src);
    }
}

/* ---- the public calls, with structs as a program built against today's headers has them ---- */

#define NEW_FROZEN(type, var, fn, v)                                                               \
    type *var = malloc(sizeof *var);                                                               \
    assert_non_null(var);                                                                          \
    assert_ok(fn(var, v))

static tf_ctx_t *frozen_ctx(void)
{
    NEW_FROZEN(frozen_ctx_opts_t, co, init_ctx_opts, 1);
    co->num_threads = 1;
    co->seed = 7;
    tf_ctx_t *ctx = NULL;
    assert_ok(tf_ctx_create(&ctx, (const tf_ctx_opts_t *)co));
    free(co);
    return ctx;
}

static void test_public_calls_accept_published_structs(void **state)
{
    (void)state;
    tf_ctx_t *ctx = frozen_ctx();
    tf_module_t *mod = NULL;

    NEW_FROZEN(frozen_linear_opts_t, li, init_linear_opts, 1);
    li->in_features = 3;
    li->out_features = 2;
    assert_ok(tf_linear_create(&mod, ctx, (const tf_linear_opts_t *)li));
    tf_module_free(mod);
    NEW_FROZEN(frozen_embedding_opts_t, em, init_embedding_opts, 1);
    em->num_embeddings = 5;
    em->embedding_dim = 2;
    assert_ok(tf_embedding_create(&mod, ctx, (const tf_embedding_opts_t *)em));
    tf_module_free(mod);
    NEW_FROZEN(frozen_dropout_opts_t, dr, init_dropout_opts, 1);
    assert_ok(tf_dropout_create(&mod, ctx, (const tf_dropout_opts_t *)dr));
    tf_module_free(mod);
    NEW_FROZEN(frozen_rnn_opts_t, ls, init_rnn_opts, 2);
    ls->input_size = 2;
    ls->hidden_size = 3;
    assert_ok(tf_rnn_create(&mod, ctx, (const tf_rnn_opts_t *)ls));
    tf_module_free(mod);
    NEW_FROZEN(frozen_encoder_opts_t, en, init_encoder_opts, 2);
    en->vocab_size = 6;
    en->embedding_dim = 2;
    en->hidden_size = 3;
    assert_ok(tf_encoder_create(&mod, ctx, (const tf_encoder_opts_t *)en));
    tf_module_free(mod);
    NEW_FROZEN(frozen_optimizer_opts_t, op, init_optimizer_opts, 1);
    tf_optimizer_t *opt = NULL;
    assert_ok(tf_optimizer_create(&opt, ctx, (const tf_optimizer_opts_t *)op));
    tf_optimizer_free(opt);
    NEW_FROZEN(frozen_vocab_opts_t, vo, init_vocab_opts, 1);
    const char *texts[] = {"a b c", "b c d"};
    const size_t lengths[] = {5, 5};
    tf_vocab_t *vocab = NULL;
    assert_ok(tf_vocab_build_texts(&vocab, ctx, texts, lengths, 2, (const tf_vocab_opts_t *)vo));
    tf_vocab_free(vocab);
    free(li);
    free(em);
    free(dr);
    free(ls);
    free(en);
    free(op);
    free(vo);
    tf_ctx_free(ctx);
}

/* Pre-training with nested optimizer options, fine-tuning (today's version 2), evaluation,
 * prior adaptation, a predictor and distillation, every struct at its published size; the results structs are written only up
 * to theirs. */
static void test_training_accepts_published_structs(void **state)
{
    (void)state;
    tf_ctx_t *ctx = frozen_ctx();
    enum { N = 24, L = 6 };
    static float values[N * L];
    static int64_t offsets[N + 1];
    static int32_t labels[N];
    for (int i = 0; i < N; i++) {
        labels[i] = i % 2;
        for (int t = 0; t < L; t++)
            values[i * L + t] = (float)sin(t * (labels[i] ? 1.3 : 0.3) + i);
        offsets[i + 1] = (i + 1) * L;
    }
    const char *names[2] = {"slow", "fast"};
    NEW_FROZEN(frozen_loader_opts_t, lo, init_loader_opts, 1);
    lo->batch_size = 8;
    lo->next_step = 1;
    lo->standardize = 0;
    tf_loader_t *next = NULL, *cls = NULL;
    assert_ok(tf_loader_create_numeric_memory(&next, ctx, values, offsets, N, NULL,
                                              (const tf_loader_opts_t *)lo));
    lo->next_step = 0;
    lo->labels = names;
    lo->num_labels = 2;
    assert_ok(tf_loader_create_numeric_memory(&cls, ctx, values, offsets, N, labels,
                                              (const tf_loader_opts_t *)lo));
    NEW_FROZEN(frozen_model_opts_t, mo, init_model_opts, 3);
    mo->input = TF_MODEL_INPUT_FEATURES;
    mo->num_features = 1;
    mo->embedding_dim = 4;
    mo->hidden_size = 4;
    tf_model_t *m = NULL;
    assert_ok(tf_model_create(&m, ctx, NULL, (const tf_model_opts_t *)mo));

    const frozen_t *report_f = NULL, *metrics_f = NULL;
    for (size_t i = 0; i < NFROZEN; i++) {
        if (strcmp(frozen[i].name, "tf_train_report_t") == 0)
            report_f = &frozen[i];
        if (strcmp(frozen[i].name, "tf_metrics_t") == 0)
            metrics_f = &frozen[i];
    }
    unsigned char *report = guarded(report_f->size);
    assert_ok(init_train_report(report, 1));
    NEW_FROZEN(frozen_optimizer_opts_t, op, init_optimizer_opts, 1);
    op->lr = 1e-2;
    NEW_FROZEN(frozen_pretrain_opts_t, po, init_pretrain_opts, 1);
    po->max_steps = 2;
    po->optim = (const tf_optimizer_opts_t *)op;
    assert_ok(
        tf_pretrain(m, next, NULL, (const tf_pretrain_opts_t *)po, (tf_train_report_t *)report));
    assert_guard_intact(report_f, report);
    frozen_train_report_t r;
    memcpy(&r, report, sizeof r);
    assert_int_equal(r.steps, 2);
    assert_true(isfinite(r.train_loss));

    /* A nested struct is checked like the outer one. */
    op->struct_size = 8;
    assert_status(tf_pretrain(m, next, NULL, (const tf_pretrain_opts_t *)po, NULL),
                  TF_STATUS_EINVAL);
    assert_non_null(strstr(tf_last_error_message(), "tf_optimizer_opts_t"));

    NEW_FROZEN(frozen_finetune_opts_t, fo, init_finetune_opts, 2);
    fo->epochs = 1;
    fo->calibrate = 0;
    memset(report, 0xA5, report_f->size + GUARD);
    assert_ok(init_train_report(report, 1));
    assert_ok(
        tf_finetune(m, cls, cls, (const tf_finetune_opts_t *)fo, (tf_train_report_t *)report));
    assert_guard_intact(report_f, report);
    memcpy(&r, report, sizeof r);
    assert_int_equal(r.epochs, 1);
    /* Version 3 with nested optimizer options of version 1. */
    NEW_FROZEN(frozen_finetune_opts_v3_t, f3, init_finetune_opts, 3);
    f3->v2.epochs = 1;
    f3->v2.calibrate = 0;
    op->struct_size = sizeof *op;
    f3->optim = (const tf_optimizer_opts_t *)op;
    assert_ok(tf_finetune(m, cls, cls, (const tf_finetune_opts_t *)f3, NULL));
    op->struct_size = 8;
    assert_status(tf_finetune(m, cls, cls, (const tf_finetune_opts_t *)f3, NULL), TF_STATUS_EINVAL);
    assert_non_null(strstr(tf_last_error_message(), "tf_optimizer_opts_t"));
    free(f3);

    unsigned char *metrics = guarded(metrics_f->size);
    assert_ok(init_metrics(metrics, 1));
    assert_ok(tf_evaluate(m, cls, (tf_metrics_t *)metrics, NULL, 0));
    assert_guard_intact(metrics_f, metrics);
    frozen_metrics_t mt;
    memcpy(&mt, metrics, sizeof mt);
    assert_int_equal(mt.count, N);

    NEW_FROZEN(frozen_adapt_opts_t, ao, init_adapt_opts, 1);
    int32_t iterations = 0;
    assert_ok(tf_adapt_prior(m, cls, (const tf_adapt_opts_t *)ao, &iterations));

    /* A predictor from options of either published version predicts as the model does. */
    const float *x[2] = {values, values + L};
    const int64_t steps[2] = {L, L};
    float want[4], got[4];
    assert_ok(tf_predict_features(m, values, L, want, 2));
    assert_ok(tf_predict_features(m, values + L, L, want + 2, 2));
    for (uint32_t v = 1; v <= 2; v++) {
        const size_t size = v == 1 ? offsetof(frozen_predictor_opts_t, input_table)
                                   : sizeof(frozen_predictor_opts_t);
        unsigned char *pob = malloc(size); /* exactly its size: an overrun is an ASan error */
        assert_non_null(pob);
        assert_ok(init_predictor_opts(pob, v));
        ((frozen_predictor_opts_t *)pob)->max_batch = 1;
        tf_predictor_t *p = NULL;
        assert_ok(tf_predictor_create(&p, m, (const tf_predictor_opts_t *)pob));
        assert_ok(tf_predict_features_batch(p, x, steps, 2, got, 4));
        for (int i = 0; i < 4; i++)
            assert_float_equal(got[i], want[i], 1e-6);
        tf_predictor_free(p);
        free(pob);
    }

    /* Distillation with options of version 1 (epochs) and 2 (a step budget). */
    tf_model_t *student = NULL;
    mo->hidden_size = 2;
    assert_ok(tf_model_create(&student, ctx, NULL, (const tf_model_opts_t *)mo));
    NEW_FROZEN(frozen_distill_opts_t, d1, init_distill_opts, 1);
    d1->epochs = 1;
    memset(report, 0xA5, report_f->size + GUARD);
    assert_ok(init_train_report(report, 1));
    assert_ok(tf_distill(student, m, cls, NULL, NULL, (const tf_distill_opts_t *)d1,
                         (tf_train_report_t *)report));
    assert_guard_intact(report_f, report);
    memcpy(&r, report, sizeof r);
    assert_int_equal(r.steps, tf_loader_num_batches(cls));
    NEW_FROZEN(frozen_distill_opts_v2_t, d2, init_distill_opts, 2);
    d2->max_steps = 5;
    assert_ok(tf_distill(student, m, cls, NULL, NULL, (const tf_distill_opts_t *)d2,
                         (tf_train_report_t *)report));
    memcpy(&r, report, sizeof r);
    assert_int_equal(r.steps, 5);
    free(d2);
    free(d1);
    tf_model_free(student);

    free(ao);
    free(metrics);
    free(fo);
    free(po);
    free(op);
    free(report);
    tf_model_free(m);
    free(mo);
    tf_loader_free(cls);
    tf_loader_free(next);
    free(lo);
    tf_ctx_free(ctx);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grown_library_is_one_version_ahead),
        cmocka_unit_test(test_init_of_a_published_version_writes_only_its_size),
        cmocka_unit_test(test_read_of_a_published_version_keeps_new_defaults),
        cmocka_unit_test(test_public_calls_accept_published_structs),
        cmocka_unit_test(test_training_accepts_published_structs),
    };
    return TF_TEST_RUN(tests);
}
