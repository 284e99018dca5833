/* SPDX-License-Identifier: MIT */
/* The predictor (transfer/predict.h): PyTorch's probabilities for the imported classifier
 * (tests/reference/gen_torch_import_fixtures.py), batched results equal to one input at a time
 * and in input order, eight threads sharing one predictor bit for bit as one thread (scripts/test
 * runs this under ThreadSanitizer too), one text per call split over two threads bit for bit as one, independence from the model it was made from, top-k and
 * label sets, int8 recurrent weights (from an int8 export or quantised at creation; one text per
 * call split over two and three threads bit for bit as one), and hostile arguments. */
#include "tf_test.h"
#include "tf_fixture.h"

#include <math.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#define FIX TF_TEST_DATA_DIR "/reference/fixtures/"
#define NPROBES 4
#define NSEQ 37
#define MAXLEN 30
#define C 3

static const char *const labels3[] = {"neg", "neu", "pos"};

static tf_model_t *import_cls(tf_ctx_t *ctx, int multi_label)
{
    tf_vocab_t *v;
    tf_model_t *m;
    tf_model_opts_t a;
    tf_import_opts_t h;
    assert_ok(tf_vocab_load(&v, ctx, FIX "torch_import_vocab.txt"));
    tf_model_opts_init(&a, TF_MODEL_OPTS_VERSION);
    a.embedding_dim = 8;
    a.hidden_size = 12;
    a.num_layers = 2;
    tf_import_opts_init(&h, TF_IMPORT_OPTS_VERSION);
    h.labels = labels3;
    h.num_labels = 3;
    h.multi_label = multi_label;
    assert_ok(tf_model_import(&m, ctx, FIX "torch_import_cls.safetensors", v, &a, &h));
    tf_vocab_free(v);
    return m;
}

/* NSEQ sequences of 1..MAXLEN ids in [0, 50) from a fixed generator, lengths in no order. */
static int32_t seq_ids[NSEQ][MAXLEN];
static int64_t seq_len[NSEQ];
static const int32_t *seq_ptr[NSEQ];

static void make_seqs(void)
{
    uint32_t s = 12345;
    for (int i = 0; i < NSEQ; i++) {
        s = s * 1103515245u + 12345u;
        seq_len[i] = 1 + (s >> 16) % MAXLEN;
        for (int t = 0; t < MAXLEN; t++) {
            s = s * 1103515245u + 12345u;
            seq_ids[i][t] = (int32_t)((s >> 16) % 50);
        }
        seq_ptr[i] = seq_ids[i];
    }
}

/* input_table: -1 automatic (the default), 0 off, 1 on. */
static tf_predictor_t *make_predictor_table(tf_model_t *m, int32_t max_batch, int32_t threads, int32_t table)
{
    tf_predictor_opts_t o;
    tf_predictor_t *p;
    assert_ok(tf_predictor_opts_init(&o, TF_PREDICTOR_OPTS_VERSION));
    assert_int_equal(o.input_table, -1);
    o.max_batch = max_batch;
    o.num_threads = threads;
    o.input_table = table;
    assert_ok(tf_predictor_create(&p, m, &o));
    return p;
}

static tf_predictor_t *make_predictor(tf_model_t *m, int32_t max_batch, int32_t threads)
{
    return make_predictor_table(m, max_batch, threads, -1);
}

/* The input table (every word's first-layer projection made once) gives the same probabilities,
 * in both directions of a bidirectional model too. */
static void test_input_table(void **state)
{
    (void)state;
    make_seqs();
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    tf_model_t *m = import_cls(ctx, 0);
    tf_predictor_opts_t o;
    tf_predictor_t *plain = make_predictor_table(m, 8, 1, 0), *fast;
    /* The default makes the table of a model this small: the same bytes as asking for it. */
    tf_predictor_t *dflt = make_predictor(m, 8, 1);
    assert_ok(tf_predictor_opts_init(&o, TF_PREDICTOR_OPTS_VERSION));
    o.max_batch = 8;
    o.num_threads = 1;
    o.input_table = 1;
    assert_ok(tf_predictor_create(&fast, m, &o));
    assert_true(tf_predictor_resident_bytes(fast) >= tf_predictor_resident_bytes(plain) + 50 * 4 * 12 * sizeof(float));
    assert_int_equal(tf_predictor_resident_bytes(dflt), tf_predictor_resident_bytes(fast));
    tf_predictor_free(dflt);
    float a[NSEQ * C], b[NSEQ * C];
    assert_ok(tf_predict_ids_batch(plain, seq_ptr, seq_len, NSEQ, a, NSEQ * C));
    assert_ok(tf_predict_ids_batch(fast, seq_ptr, seq_len, NSEQ, b, NSEQ * C));
    for (int i = 0; i < NSEQ * C; i++)
        if (fabsf(a[i] - b[i]) > 1e-6f)
            fail_msg("value %d: %.8f with the table, %.8f without", i, b[i], a[i]);
    tf_predictor_free(fast);
    tf_predictor_free(plain);
    o.input_table = 2;
    assert_status(tf_predictor_create(&fast, m, &o), TF_STATUS_EINVAL);
    o.input_table = -2;
    assert_status(tf_predictor_create(&fast, m, &o), TF_STATUS_EINVAL);
    tf_model_free(m);
    /* a bidirectional model: the table of each direction */
    tf_vocab_t *v;
    tf_model_opts_t mo;
    assert_ok(tf_vocab_load(&v, ctx, FIX "torch_import_vocab.txt"));
    tf_model_opts_init(&mo, TF_MODEL_OPTS_VERSION);
    mo.embedding_dim = 8;
    mo.hidden_size = 12;
    mo.bidirectional = 1;
    static const int32_t ids[4] = {5, 6, 7, 8};
    static const int64_t offsets[3] = {0, 2, 4};
    static const int32_t labels[2] = {0, 1};
    tf_loader_opts_t lo;
    tf_loader_t *train;
    tf_finetune_opts_t fo;
    assert_ok(tf_model_create(&m, ctx, v, &mo));
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.batch_size = 2;
    assert_ok(tf_loader_create_tokens(&train, ctx, ids, offsets, 2, labels, &lo));
    tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
    fo.stop_after_steps = 1;
    assert_ok(tf_finetune(m, train, NULL, &fo, NULL));
    plain = make_predictor_table(m, 8, 1, 0);
    o.input_table = 1;
    assert_ok(tf_predictor_create(&fast, m, &o));
    float a2[NSEQ * 2], b2[NSEQ * 2];
    assert_ok(tf_predict_ids_batch(plain, seq_ptr, seq_len, NSEQ, a2, NSEQ * 2));
    assert_ok(tf_predict_ids_batch(fast, seq_ptr, seq_len, NSEQ, b2, NSEQ * 2));
    for (int i = 0; i < NSEQ * 2; i++)
        if (fabsf(a2[i] - b2[i]) > 1e-6f)
            fail_msg("bidirectional value %d: %.8f with the table, %.8f without", i, b2[i], a2[i]);
    tf_predictor_free(fast);
    tf_predictor_free(plain);
    tf_model_free(m);
    /* a GRU model: no table by default, an error when asked for */
    mo.bidirectional = 0;
    mo.cell = TF_CELL_GRU;
    assert_ok(tf_model_create(&m, ctx, v, &mo));
    assert_ok(tf_finetune(m, train, NULL, &fo, NULL));
    plain = make_predictor_table(m, 8, 1, 0);
    fast = make_predictor(m, 8, 1);
    assert_int_equal(tf_predictor_resident_bytes(fast), tf_predictor_resident_bytes(plain));
    tf_predictor_free(fast);
    tf_predictor_free(plain);
    assert_status(tf_predictor_create(&fast, m, &o), TF_STATUS_EINVAL);
    tf_loader_free(train);
    tf_model_free(m);
    tf_vocab_free(v);
    tf_ctx_free(ctx);
}

/* PyTorch's probabilities with the default input table and without it, in batches of 64 and one
 * probe at a time (the fused one-row step). */
static void test_predictor_matches_torch(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    tf_fixture_t *fx = tf_fixture_load("torch_import_expect.tfx");
    const int32_t *ids[NPROBES];
    int64_t lens[NPROBES];
    for (int k = 0; k < NPROBES; k++) {
        char name[32];
        snprintf(name, sizeof name, "ids.%d", k);
        ids[k] = tf_fixture_i32(fx, name, &lens[k]);
    }
    for (int32_t table = -1; table < 1; table++)
        for (int32_t batch = 1; batch <= 64; batch += 63) {
            tf_model_t *m = import_cls(ctx, 0);
            tf_predictor_t *p = make_predictor_table(m, batch, 1, table);
            tf_model_free(m); /* the predictor keeps copies of everything */
            assert_int_equal(tf_predictor_num_classes(p), C);
            assert_int_equal(tf_predictor_multilabel(p), 0);
            float got[NPROBES * C];
            assert_ok(tf_predict_ids_batch(p, ids, lens, NPROBES, got, NPROBES * C));
            for (int k = 0; k < NPROBES; k++) {
                char name[32];
                snprintf(name, sizeof name, "probs.%d", k);
                const double *want = tf_fixture_f64(fx, name, NULL);
                for (int c = 0; c < C; c++)
                    if (fabs(got[k * C + c] - want[c]) > 1e-5)
                        fail_msg("table %d batch %d probe %d class %d: %.7f, PyTorch %.7f", table, batch, k, c,
                                 got[k * C + c], want[c]);
            }
            assert_true(tf_predictor_resident_bytes(p) > (8 * 50 + 4 * 12 * (8 + 12 + 2)) * sizeof(float));
            tf_predictor_free(p);
        }
    tf_fixture_free(fx);
    assert_int_equal(tf_ctx_live_objects(ctx), 0);
    tf_ctx_free(ctx);
}

/* Batches of 8 sorted by length give each sequence what it gets alone, in input order, with the
 * input table and without; without it, the model's own tf_predict_ids gives the same bits. */
static void test_batched_equals_one_at_a_time(void **state)
{
    (void)state;
    make_seqs();
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    tf_model_t *m = import_cls(ctx, 0);
    for (int32_t table = 0; table < 2; table++) {
        tf_predictor_t *p = make_predictor_table(m, 8, 1, table);
        float batched[NSEQ * C], alone[C], model[C];
        assert_ok(tf_predict_ids_batch(p, seq_ptr, seq_len, NSEQ, batched, NSEQ * C));
        for (int i = 0; i < NSEQ; i++) {
            assert_ok(tf_predict_ids_batch(p, &seq_ptr[i], &seq_len[i], 1, alone, C));
            assert_ok(tf_predict_ids(m, seq_ids[i], seq_len[i], model, C));
            for (int c = 0; c < C; c++) {
                if (fabsf(batched[i * C + c] - alone[c]) > 1e-6f)
                    fail_msg("table %d, sequence %d class %d: batched %.8f, alone %.8f", table, i, c,
                             batched[i * C + c], alone[c]);
                if (fabsf(model[c] - alone[c]) > 1e-6f || (!table && memcmp(alone, model, sizeof alone) != 0))
                    fail_msg("table %d, sequence %d: the predictor and the model's tf_predict_ids differ", table, i);
            }
        }
        tf_predictor_free(p);
    }
    tf_model_free(m);
    tf_ctx_free(ctx);
}

typedef struct {
    const tf_predictor_t *p;
    float probs[NSEQ * C];
    tf_status_t st;
    int one_by_one; /* 1: one text per call, two classes, one pass */
} job_t;

static void *predict_job(void *arg)
{
    job_t *j = arg;
    for (int rep = 0; rep < (j->one_by_one ? 1 : 3) && j->st == TF_STATUS_OK; rep++)
        if (j->one_by_one)
            for (int i = 0; i < NSEQ && j->st == TF_STATUS_OK; i++)
                j->st = tf_predict_ids_batch(j->p, seq_ptr + i, seq_len + i, 1, j->probs + 2 * i, 2);
        else
            j->st = tf_predict_ids_batch(j->p, seq_ptr, seq_len, NSEQ, j->probs, NSEQ * C);
    return NULL;
}

/* Eight threads running predict_job on p at once, each succeeding. */
static void eight_jobs(job_t jobs[8], const tf_predictor_t *p, int one_by_one)
{
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        jobs[i] = (job_t){p, {0}, TF_STATUS_OK, one_by_one};
        assert_int_equal(pthread_create(&th[i], NULL, predict_job, &jobs[i]), 0);
    }
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < 8; i++)
        assert_ok(jobs[i].st);
}

/* Eight threads sharing one predictor (two threads per call) get the bits one thread gets. */
static void test_eight_threads_share_one_predictor(void **state)
{
    (void)state;
    make_seqs();
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    tf_model_t *m = import_cls(ctx, 0);
    tf_predictor_t *p = make_predictor(m, 8, 2);
    tf_model_free(m);
    job_t one = {p, {0}, TF_STATUS_OK, 0};
    predict_job(&one);
    assert_ok(one.st);
    job_t jobs[8];
    eight_jobs(jobs, p, 0);
    for (int i = 0; i < 8; i++) {
        if (memcmp(jobs[i].probs, one.probs, sizeof one.probs) != 0)
            fail_msg("thread %d got other bits than one thread alone", i);
    }
    tf_predictor_free(p);
    tf_ctx_free(ctx);
}

/* Gives m a two-label head, fine-tuned for one step on two tiny texts. */
static void head_one_step(tf_ctx_t *ctx, tf_model_t *m)
{
    static const int32_t ids[4] = {5, 6, 7, 8};
    static const int64_t offsets[3] = {0, 2, 4};
    static const int32_t y[2] = {0, 1};
    static const char *const names[2] = {"x", "y"};
    tf_loader_opts_t lo;
    tf_loader_t *train;
    assert_ok(tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION));
    lo.batch_size = 2;
    lo.labels = names;
    lo.num_labels = 2;
    assert_ok(tf_loader_create_tokens(&train, ctx, ids, offsets, 2, y, &lo));
    tf_finetune_opts_t fo;
    assert_ok(tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION));
    fo.stop_after_steps = 1;
    assert_ok(tf_finetune(m, train, NULL, &fo, NULL));
    tf_loader_free(train);
}

/* A classifier of `size` words (specials included) and hidden size `hidden`, its head fine-tuned
 * for one step. */
static tf_model_t *sized_model(tf_ctx_t *ctx, int32_t size, int32_t hidden)
{
    enum { WORDS = 8300 };
    static char text[WORDS * 6];
    size_t at = 0;
    for (int i = 0; i < WORDS; i++)
        at += (size_t)snprintf(text + at, sizeof text - at, "w%d ", i);
    const char *texts[1] = {text};
    tf_vocab_opts_t vo;
    tf_vocab_t *vocab;
    assert_ok(tf_vocab_opts_init(&vo, TF_VOCAB_OPTS_VERSION));
    vo.max_size = size;
    assert_ok(tf_vocab_build_texts(&vocab, ctx, texts, NULL, 1, &vo));
    assert_int_equal(tf_vocab_size(vocab), size);
    tf_model_opts_t mo;
    tf_model_t *m;
    assert_ok(tf_model_opts_init(&mo, TF_MODEL_OPTS_VERSION));
    mo.embedding_dim = 4;
    mo.hidden_size = hidden;
    assert_ok(tf_model_create(&m, ctx, vocab, &mo));
    tf_vocab_free(vocab);
    head_one_step(ctx, m);
    return m;
}

/* The automatic input table is made up to TF_PREDICTOR_TABLE_AUTO_BYTES and not one word beyond:
 * at hidden size 512 a word's row is 4 * 512 floats (8 KiB), so 8192 words fill 64 MiB exactly. */
static void test_input_table_auto_limit(void **state)
{
    (void)state;
    assert_int_equal(TF_PREDICTOR_TABLE_AUTO_BYTES, (size_t)8192 * 4 * 512 * sizeof(float));
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    for (int32_t size = 8192; size <= 8193; size++) {
        tf_model_t *m = sized_model(ctx, size, 512);
        tf_predictor_t *off = make_predictor_table(m, 1, 1, 0), *on = make_predictor_table(m, 1, 1, 1);
        tf_predictor_t *dflt = make_predictor(m, 1, 1);
        const size_t table = tf_predictor_resident_bytes(on) - tf_predictor_resident_bytes(off);
        assert_true(table >= (size_t)size * 4 * 512 * sizeof(float));
        assert_int_equal(tf_predictor_resident_bytes(dflt), tf_predictor_resident_bytes(size == 8192 ? on : off));
        tf_predictor_free(dflt);
        tf_predictor_free(on);
        tf_predictor_free(off);
        tf_model_free(m);
    }
    tf_ctx_free(ctx);
}

/* A fresh bidirectional classifier of hidden size `hidden` (128: eight blocks of units, so with
 * two threads one text's f32 steps are split over them; int8 steps need 12), its head fine-tuned
 * for one step. */
static tf_model_t *wide_model(tf_ctx_t *ctx, int32_t hidden)
{
    static const char *const words[1] = {"a b c d e f g h i j k l m n o p q r s t u v w x y z aa bb cc dd ee ff gg "
                                         "hh ii jj kk ll mm nn oo pp qq rr ss tt uu vv ww xx yy"};
    tf_vocab_opts_t vo;
    tf_vocab_t *vocab;
    assert_ok(tf_vocab_opts_init(&vo, TF_VOCAB_OPTS_VERSION));
    vo.min_count = 1;
    assert_ok(tf_vocab_build_texts(&vocab, ctx, words, NULL, 1, &vo));
    assert_true(tf_vocab_size(vocab) >= 50);
    tf_model_opts_t mo;
    tf_model_t *m;
    assert_ok(tf_model_opts_init(&mo, TF_MODEL_OPTS_VERSION));
    mo.embedding_dim = 8;
    mo.hidden_size = hidden;
    mo.bidirectional = 1;
    assert_ok(tf_model_create(&m, ctx, vocab, &mo));
    tf_vocab_free(vocab);
    head_one_step(ctx, m);
    return m;
}

/* One text per call with two threads (its steps split over them when the helpers are free) gives
 * the bits of one thread, alone and from eight threads sharing the predictor, for every text. */
static void test_one_text_two_threads(void **state)
{
    (void)state;
    make_seqs();
    tf_ctx_t *ctx = tf_test_ctx_seeded(3);
    tf_model_t *m = wide_model(ctx, 128);
    tf_predictor_t *p1 = make_predictor(m, 1, 1), *p2 = make_predictor(m, 1, 2);
    tf_model_free(m);
    static float one[NSEQ * 2];
    for (int i = 0; i < NSEQ; i++) {
        float two[2];
        assert_ok(tf_predict_ids_batch(p1, seq_ptr + i, seq_len + i, 1, one + 2 * i, 2));
        assert_ok(tf_predict_ids_batch(p2, seq_ptr + i, seq_len + i, 1, two, 2));
        if (memcmp(two, one + 2 * i, sizeof two) != 0)
            fail_msg("text %d: %.9g with two threads, %.9g with one", i, two[0], one[2 * i]);
    }
    job_t jobs[8];
    eight_jobs(jobs, p2, 1);
    for (int i = 0; i < 8; i++) {
        if (memcmp(jobs[i].probs, one, sizeof one) != 0)
            fail_msg("thread %d got other bits than one thread alone", i);
    }
    tf_predictor_free(p1);
    tf_predictor_free(p2);
    tf_ctx_free(ctx);
}

/* int8 recurrent weights quantised at creation, one text per call (max_batch 1). */
static tf_predictor_t *make_predictor_int8(tf_model_t *m, int32_t threads, int32_t table)
{
    tf_predictor_opts_t o;
    tf_predictor_t *p;
    assert_ok(tf_predictor_opts_init(&o, TF_PREDICTOR_OPTS_VERSION));
    o.max_batch = 1;
    o.num_threads = threads;
    o.input_table = table;
    o.int8_weights = TF_PREDICT_INT8_RESIDENT;
    assert_ok(tf_predictor_create(&p, m, &o));
    return p;
}

/* The same with int8 recurrent weights, on W_hh regrouped by blocks of units where the steps can be
 * split: two and three threads give the bits of one for every text, with the input table and
 * without, alone and from eight threads sharing the predictor. */
static void test_int8_one_text_threads(void **state)
{
    (void)state;
    make_seqs();
    tf_ctx_t *ctx = tf_test_ctx_seeded(3);
    tf_model_t *m = wide_model(ctx, 200);
    static float one[NSEQ * 2];
    for (int32_t table = 0; table <= 1; table++) {
        tf_predictor_t *p1 = make_predictor_int8(m, 1, table);
        const size_t rb1 = tf_predictor_resident_bytes(p1); /* before any call: no workspace */
        for (int i = 0; i < NSEQ; i++)
            assert_ok(tf_predict_ids_batch(p1, seq_ptr + i, seq_len + i, 1, one + 2 * i, 2));
        for (int32_t threads = 2; threads <= 3; threads++) {
            tf_predictor_t *p = make_predictor_int8(m, threads, table);
            /* with two processors, both directions' W_hh once more: 832 rows (13 blocks of 16
             * units, 4 gates) of 200 int8 weights, 832 scales and 832 row sums */
            const size_t extra = tf_predictor_resident_bytes(p) - rb1;
            if (sysconf(_SC_NPROCESSORS_ONLN) >= 2)
                assert_int_equal(extra, 2 * (832 * 200 + 2 * 832 * sizeof(float)));
            else
                assert_int_equal(extra, 0);
            for (int i = 0; i < NSEQ; i++) {
                float two[2];
                assert_ok(tf_predict_ids_batch(p, seq_ptr + i, seq_len + i, 1, two, 2));
                if (memcmp(two, one + 2 * i, sizeof two) != 0)
                    fail_msg("table %d, text %d: %.9g with %d threads, %.9g with one", table, i, two[0], threads,
                             one[2 * i]);
            }
            if (threads == 2) {
                job_t jobs[8];
                eight_jobs(jobs, p, 1);
                for (int i = 0; i < 8; i++)
                    if (memcmp(jobs[i].probs, one, sizeof one) != 0)
                        fail_msg("table %d: thread %d got other bits than one thread alone", table, i);
            }
            tf_predictor_free(p);
        }
        tf_predictor_free(p1);
    }
    tf_model_free(m);
    tf_ctx_free(ctx);
}

/* int8 recurrent weights: an int8 export predicts with them as with its dequantised weights (to
 * the rounding of the products) in less memory, eight threads bit for bit as one; an f32 model's
 * are quantised at creation; a GRU model cannot have them. */
static void test_int8_weights(void **state)
{
    (void)state;
    char dir[] = "/tmp/tf_pred8_XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/m8.safetensors", dir);
    make_seqs();
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    tf_model_t *m = import_cls(ctx, 0);
    tf_export_opts_t eo;
    assert_ok(tf_export_opts_init(&eo, TF_EXPORT_OPTS_VERSION));
    eo.dtype = TF_EXPORT_DTYPE_INT8;
    eo.min_elements = 1; /* the small recurrent matrices of this model too */
    assert_ok(tf_model_export(m, path, &eo));
    tf_predictor_opts_t o;
    tf_predictor_t *deq, *res, *aut, *fromf32;
    assert_ok(tf_predictor_opts_init(&o, TF_PREDICTOR_OPTS_VERSION));
    assert_int_equal(o.int8_weights, TF_PREDICT_INT8_AUTO);
    o.max_batch = 8;
    o.num_threads = 2;
    assert_ok(tf_predictor_load(&aut, ctx, path, &o));
    o.int8_weights = TF_PREDICT_INT8_DEQUANTIZE;
    assert_ok(tf_predictor_load(&deq, ctx, path, &o));
    o.int8_weights = TF_PREDICT_INT8_RESIDENT;
    assert_ok(tf_predictor_load(&res, ctx, path, &o));
    assert_ok(tf_predictor_create(&fromf32, m, &o));
    /* Two layers, H = 12, I = 8 then 12: W_ih and W_hh in f32 and packed (48 rows padded to 64
     * columns; W_hh once more for the one-row step, 48 x 16 padded units) against int8 panels (K
     * padded to a multiple of 4), their scales and row sums; the embedding (V x 8) as int8 rows and
     * V scales; the biases stay f32. Before any call, so no workspace counts. */
    const size_t V = (size_t)tf_vocab_size(tf_model_vocab(m));
    const size_t f32 = 4 * (48 * (8 + 12) + 48 * (12 + 12)) + 4 * 64 * ((8 + 12) + (12 + 12)) + 4 * 2 * 48 * 16 +
                       4 * V * 8;
    const size_t i8 = 64 * ((8 + 12 + 16) + (12 + 12 + 16)) + V * (8 + 4);
    const size_t rb = tf_predictor_resident_bytes(res), db = tf_predictor_resident_bytes(deq);
    if (db - rb != f32 - i8)
        fail_msg("resident bytes: int8 %zu, dequantised %zu; the weights should differ by %zu", rb, db, f32 - i8);
    float a[NSEQ * C], b[NSEQ * C], c[NSEQ * C], d[NSEQ * C];
    assert_ok(tf_predict_ids_batch(deq, seq_ptr, seq_len, NSEQ, a, NSEQ * C));
    assert_ok(tf_predict_ids_batch(res, seq_ptr, seq_len, NSEQ, b, NSEQ * C));
    assert_ok(tf_predict_ids_batch(aut, seq_ptr, seq_len, NSEQ, c, NSEQ * C));
    assert_ok(tf_predict_ids_batch(fromf32, seq_ptr, seq_len, NSEQ, d, NSEQ * C));
    /* the same weights; on a CPU with integer products (gemm_i8.h), the activations quantised */
    for (int i = 0; i < NSEQ * C; i++) {
        if (fabsf(a[i] - b[i]) > 1e-2f)
            fail_msg("value %d: %.8f with int8 weights, %.8f dequantised", i, b[i], a[i]);
        if (c[i] != a[i] && c[i] != b[i])
            fail_msg("value %d: %.8f automatic, neither %.8f nor %.8f", i, c[i], a[i], b[i]);
        /* the export also rounded the embedding and head; the weights quantised alike */
        if (fabsf(d[i] - b[i]) > 0.02f)
            fail_msg("value %d: %.8f quantised at creation, %.8f from the export", i, d[i], b[i]);
    }
    /* eight threads, two per call, on one int8 predictor: the bits of one */
    job_t one = {res, {0}, TF_STATUS_OK, 0}, jobs[8];
    predict_job(&one);
    assert_ok(one.st);
    eight_jobs(jobs, res, 0);
    for (int i = 0; i < 8; i++)
        assert_memory_equal(jobs[i].probs, one.probs, sizeof one.probs);
    tf_predictor_free(aut);
    tf_predictor_free(deq);
    tf_predictor_free(res);
    tf_predictor_free(fromf32);
    /* with the input table, the first layer's W_ih is read from it */
    o.input_table = 1;
    assert_ok(tf_predictor_load(&res, ctx, path, &o));
    assert_ok(tf_predict_ids_batch(res, seq_ptr, seq_len, NSEQ, c, NSEQ * C));
    for (int i = 0; i < NSEQ * C; i++)
        if (fabsf(c[i] - b[i]) > 1e-2f)
            fail_msg("value %d: %.8f with the table, %.8f without", i, c[i], b[i]);
    tf_predictor_free(res);
    o.input_table = 0;
    /* hostile: other values, a GRU model */
    tf_predictor_t *none = NULL;
    o.int8_weights = 3;
    assert_status(tf_predictor_create(&none, m, &o), TF_STATUS_EINVAL);
    o.int8_weights = -1;
    assert_status(tf_predictor_create(&none, m, &o), TF_STATUS_EINVAL);
    assert_null(none);
    tf_model_opts_t mo;
    tf_model_opts_init(&mo, TF_MODEL_OPTS_VERSION);
    mo.embedding_dim = 8;
    mo.hidden_size = 12;
    mo.cell = TF_CELL_GRU;
    tf_model_t *gru;
    assert_ok(tf_model_create(&gru, ctx, tf_model_vocab(m), &mo));
    static const int32_t ids[4] = {5, 6, 7, 8};
    static const int64_t offsets[3] = {0, 2, 4};
    static const int32_t labels[2] = {0, 1};
    tf_loader_opts_t lo;
    tf_loader_t *train;
    tf_finetune_opts_t fo;
    tf_loader_opts_init(&lo, TF_LOADER_OPTS_VERSION);
    lo.batch_size = 2;
    assert_ok(tf_loader_create_tokens(&train, ctx, ids, offsets, 2, labels, &lo));
    tf_finetune_opts_init(&fo, TF_FINETUNE_OPTS_VERSION);
    fo.stop_after_steps = 1;
    assert_ok(tf_finetune(gru, train, NULL, &fo, NULL));
    o.int8_weights = TF_PREDICT_INT8_RESIDENT;
    assert_status(tf_predictor_create(&none, gru, &o), TF_STATUS_EINVAL);
    o.int8_weights = TF_PREDICT_INT8_AUTO; /* an f32 GRU: f32 */
    assert_ok(tf_predictor_create(&none, gru, &o));
    tf_predictor_free(none);
    tf_loader_free(train);
    tf_model_free(gru);
    tf_model_free(m);
    tf_ctx_free(ctx);
    assert_int_equal(tf_test_remove_tree(dir), 0);
}

/* Texts go through the model's vocabulary: the same as their ids. A checkpoint loads straight
 * into a predictor that predicts the same bits. */
static void test_texts_and_checkpoint(void **state)
{
    (void)state;
    char dir[] = "/tmp/tf_pred_XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    tf_model_t *m = import_cls(ctx, 0);
    assert_ok(tf_model_save(m, path));
    tf_predictor_t *p = make_predictor(m, 64, 1), *q;
    assert_ok(tf_predictor_load(&q, ctx, path, NULL));
    tf_vocab_t *v = tf_model_vocab(m);
    make_seqs();
    char text[2][256] = {"", ""};
    const int32_t *ids[2] = {seq_ids[3], seq_ids[5]};
    int64_t lens[2] = {4, 9};
    for (int k = 0; k < 2; k++)
        for (int64_t i = 0; i < lens[k]; i++) {
            size_t len;
            const char *tok = tf_vocab_token(v, ids[k][i], &len);
            if (tok[0] == '<') { /* a special (<unk>, ...) is no word of a text: use one that is */
                seq_ids[k == 0 ? 3 : 5][i] = tf_vocab_lookup(v, "w4", 2);
                tok = "w4";
                len = 2;
            }
            snprintf(text[k] + strlen(text[k]), sizeof text[k] - strlen(text[k]), i ? " %.*s" : "%.*s",
                     (int)len, tok);
        }
    const char *texts[2] = {text[0], text[1]};
    float from_text[2 * C], from_ids[2 * C], loaded[2 * C];
    assert_ok(tf_predict_texts(p, texts, NULL, 2, from_text, 2 * C));
    assert_ok(tf_predict_ids_batch(p, ids, lens, 2, from_ids, 2 * C));
    assert_ok(tf_predict_texts(q, texts, NULL, 2, loaded, 2 * C));
    assert_memory_equal(from_text, from_ids, sizeof from_ids);
    assert_memory_equal(from_text, loaded, sizeof loaded);
    tf_predictor_free(p);
    tf_predictor_free(q);
    tf_model_free(m);
    tf_ctx_free(ctx);
    assert_int_equal(tf_test_remove_tree(dir), 0);
}

/* Top-k against a hand-made table (ties: the lower class first), with the size query. */
static void test_top_k(void **state)
{
    (void)state;
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    tf_model_t *m = import_cls(ctx, 0);
    tf_predictor_t *p = make_predictor(m, 64, 1);
    const float probs[3 * C] = {0.2f, 0.5f, 0.3f, 0.4f, 0.2f, 0.4f, 0.1f, 0.1f, 0.8f};
    const int32_t want[3 * 2] = {1, 2, 0, 2, 2, 0};
    const float want_s[3 * 2] = {0.5f, 0.3f, 0.4f, 0.4f, 0.8f, 0.1f};
    int32_t got[3 * 2];
    float s[3 * 2];
    size_t len = 0;
    assert_ok(tf_predict_top_k(p, probs, 3, 2, NULL, NULL, 0, &len));
    assert_int_equal(len, 6);
    assert_status(tf_predict_top_k(p, probs, 3, 2, got, s, 5, &len), TF_STATUS_EBUFSIZE);
    assert_ok(tf_predict_top_k(p, probs, 3, 2, got, s, 6, &len));
    assert_memory_equal(got, want, sizeof want);
    assert_memory_equal(s, want_s, sizeof want_s);
    assert_status(tf_predict_top_k(p, probs, 3, 3, got, NULL, 6, NULL), TF_STATUS_EBUFSIZE);
    assert_status(tf_predict_top_k(p, probs, 3, 4, got, s, 6, &len), TF_STATUS_EINVAL);
    assert_status(tf_predict_top_k(p, probs, 3, 0, got, s, 6, &len), TF_STATUS_EINVAL);
    assert_status(tf_predict_label_sets(p, probs, 3, NULL, NULL, 0, &len), TF_STATUS_ESTATE);
    tf_predictor_free(p);
    tf_model_free(m);
    tf_ctx_free(ctx);
}

/* A multi-label head: each label's own probability, and sets by per-label thresholds. */
static void test_multilabel_sets(void **state)
{
    (void)state;
    make_seqs();
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    tf_model_t *m = import_cls(ctx, 1);
    tf_predictor_t *p = make_predictor(m, 64, 1);
    assert_int_equal(tf_predictor_multilabel(p), 1);
    float probs[NSEQ * C];
    uint8_t sets[NSEQ * C];
    size_t len;
    assert_ok(tf_predict_ids_batch(p, seq_ptr, seq_len, NSEQ, probs, NSEQ * C));
    const float thr[C] = {0.3f, 0.5f, 0.7f};
    assert_ok(tf_predict_label_sets(p, probs, NSEQ, thr, NULL, 0, &len));
    assert_int_equal(len, NSEQ * C);
    assert_ok(tf_predict_label_sets(p, probs, NSEQ, thr, sets, NSEQ * C, &len));
    int on = 0;
    for (int i = 0; i < NSEQ * C; i++) {
        assert_true(probs[i] > 0.0f && probs[i] < 1.0f);
        assert_int_equal(sets[i], probs[i] >= thr[i % C]);
        on += sets[i];
    }
    assert_true(on > 0 && on < NSEQ * C); /* the thresholds split them */
    const float bad[C] = {0.5f, -0.1f, 0.5f};
    assert_status(tf_predict_label_sets(p, probs, NSEQ, bad, sets, NSEQ * C, &len), TF_STATUS_EINVAL);
    tf_predictor_free(p);
    tf_model_free(m);
    tf_ctx_free(ctx);
}

/* A numeric predictor reports its row width F; a token one (and NULL) 0. Its probability is
 * PyTorch's for the explain fixture's model (tests/reference/gen_explain_fixtures.py). */
static void test_num_features(void **state)
{
    (void)state;
    static const char *const labels4[] = {"a", "b", "c", "d"};
    static const float x[3 * 3] = {1.0f, 0.26749882102012634f, -0.8568887710571289f,
                                   -0.7259323000907898f, 0.46851667761802673f, 0.9765876531600952f,
                                   0.05395542085170746f, -0.9477216005325317f, -0.5609842538833618f};
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    tf_model_opts_t a;
    tf_import_opts_t h;
    tf_model_t *num, *tok = import_cls(ctx, 0);
    tf_model_opts_init(&a, TF_MODEL_OPTS_VERSION);
    tf_import_opts_init(&h, TF_IMPORT_OPTS_VERSION);
    a.input = TF_MODEL_INPUT_FEATURES, a.num_features = 3;
    a.embedding_dim = 5, a.hidden_size = 7;
    h.labels = labels4, h.num_labels = 4, h.pooling = TF_POOL_LAST | TF_POOL_MEAN;
    assert_ok(tf_model_import(&num, ctx, FIX "explain_num.safetensors", NULL, &a, &h));
    tf_predictor_t *pn = make_predictor(num, 2, 1), *pt = make_predictor(tok, 2, 1);
    assert_int_equal(tf_predictor_num_features(pn), 3);
    assert_int_equal(tf_predictor_num_features(pt), 0);
    assert_int_equal(tf_predictor_num_features(NULL), 0);
    const float *xs[1] = {x};
    const int64_t steps[1] = {3};
    float probs[4];
    assert_ok(tf_predict_features_batch(pn, xs, steps, 1, probs, 4));
    assert_float_equal(probs[1], 0.38411209673907887, 1e-5);
    tf_predictor_free(pn);
    tf_predictor_free(pt);
    tf_model_free(num);
    tf_model_free(tok);
    tf_ctx_free(ctx);
}

static void test_hostile_input(void **state)
{
    (void)state;
    make_seqs();
    tf_ctx_t *ctx = tf_test_ctx_seeded(1);
    tf_model_t *m = import_cls(ctx, 0), *bare;
    tf_predictor_t *p = make_predictor(m, 64, 1), *none = NULL;
    tf_predictor_opts_t o;
    float probs[NSEQ * C];
    /* options */
    assert_status(tf_predictor_create(NULL, m, NULL), TF_STATUS_EINVAL);
    assert_status(tf_predictor_create(&none, NULL, NULL), TF_STATUS_EINVAL);
    assert_null(none);
    tf_predictor_opts_init(&o, TF_PREDICTOR_OPTS_VERSION);
    o.max_batch = 0;
    assert_status(tf_predictor_create(&none, m, &o), TF_STATUS_EINVAL);
    tf_predictor_opts_init(&o, TF_PREDICTOR_OPTS_VERSION);
    o.dtype = TF_DTYPE_I32;
    assert_status(tf_predictor_create(&none, m, &o), TF_STATUS_EINVAL);
    tf_predictor_opts_init(&o, TF_PREDICTOR_OPTS_VERSION);
    o.num_threads = -1;
    assert_status(tf_predictor_create(&none, m, &o), TF_STATUS_EINVAL);
    tf_predictor_opts_init(&o, TF_PREDICTOR_OPTS_VERSION);
    o.reserved = 1;
    assert_status(tf_predictor_create(&none, m, &o), TF_STATUS_EINVAL);
    assert_status(tf_predictor_opts_init(&o, 99), TF_STATUS_EVERSION);
    assert_status(tf_predictor_load(&none, ctx, "/nonexistent/m.safetensors", NULL), TF_STATUS_ENOTFOUND);
    /* a model without a task head */
    tf_model_opts_t a;
    tf_model_opts_init(&a, TF_MODEL_OPTS_VERSION);
    assert_ok(tf_model_create(&bare, ctx, tf_model_vocab(m), &a));
    assert_status(tf_predictor_create(&none, bare, NULL), TF_STATUS_ESTATE);
    tf_model_free(bare);
    /* calls */
    assert_ok(tf_predict_ids_batch(p, NULL, NULL, 0, NULL, 0)); /* N = 0 does nothing */
    assert_ok(tf_predict_texts(p, NULL, NULL, 0, NULL, 0));
    assert_status(tf_predict_ids_batch(NULL, seq_ptr, seq_len, 1, probs, C), TF_STATUS_EINVAL);
    assert_status(tf_predict_ids_batch(p, NULL, seq_len, 1, probs, C), TF_STATUS_EINVAL);
    assert_status(tf_predict_ids_batch(p, seq_ptr, NULL, 1, probs, C), TF_STATUS_EINVAL);
    assert_status(tf_predict_ids_batch(p, seq_ptr, seq_len, 1, NULL, C), TF_STATUS_EINVAL);
    assert_status(tf_predict_ids_batch(p, seq_ptr, seq_len, 2, probs, 2 * C - 1), TF_STATUS_EBUFSIZE);
    const int32_t bad_id[2] = {3, 50};
    const int32_t *bad[1] = {bad_id};
    int64_t two = 2, zero = 0;
    assert_status(tf_predict_ids_batch(p, bad, &two, 1, probs, C), TF_STATUS_EINVAL);
    assert_non_null(strstr(tf_last_error_message(), "outside the vocabulary"));
    assert_status(tf_predict_ids_batch(p, seq_ptr, &zero, 1, probs, C), TF_STATUS_EINVAL);
    const int32_t *null_seq[1] = {NULL};
    assert_status(tf_predict_ids_batch(p, null_seq, &two, 1, probs, C), TF_STATUS_EINVAL);
    const char *texts[3] = {"w4", "", NULL};
    const size_t lens[3] = {2, 0, 0};
    assert_status(tf_predict_texts(p, texts, lens, 2, probs, 2 * C), TF_STATUS_EINVAL);
    assert_non_null(strstr(tf_last_error_message(), "text 1 has no tokens"));
    assert_status(tf_predict_texts(p, texts + 2, lens + 2, 1, probs, C), TF_STATUS_EINVAL);
    const size_t long_null[1] = {5};
    assert_status(tf_predict_texts(p, texts + 2, long_null, 1, probs, C), TF_STATUS_EINVAL);
    const float *x[1] = {probs};
    assert_status(tf_predict_features_batch(p, x, &two, 1, probs, C), TF_STATUS_ESTATE);
    assert_int_equal(tf_predictor_num_classes(NULL), 0);
    assert_int_equal(tf_predictor_resident_bytes(NULL), 0);
    tf_predictor_free(NULL);
    /* after all that, the predictor still predicts */
    assert_ok(tf_predict_ids_batch(p, seq_ptr, seq_len, NSEQ, probs, NSEQ * C));
    tf_predictor_free(p);
    tf_model_free(m);
    tf_ctx_free(ctx);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_predictor_matches_torch),
        cmocka_unit_test(test_batched_equals_one_at_a_time),
        cmocka_unit_test(test_input_table),
        cmocka_unit_test(test_input_table_auto_limit),
        cmocka_unit_test(test_eight_threads_share_one_predictor),
        cmocka_unit_test(test_one_text_two_threads),
        cmocka_unit_test(test_int8_one_text_threads),
        cmocka_unit_test(test_texts_and_checkpoint),
        cmocka_unit_test(test_int8_weights),
        cmocka_unit_test(test_top_k),
        cmocka_unit_test(test_multilabel_sets),
        cmocka_unit_test(test_num_features),
        cmocka_unit_test(test_hostile_input),
    };
    if (argc > 1 && tf_test_select(argc, argv, tests, sizeof tests / sizeof tests[0]) != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
