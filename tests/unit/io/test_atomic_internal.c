/* SPDX-License-Identifier: MIT */
/* The atomic-replace helper under injected failures: a write onto a full device (ENOSPC) and a
 * rename that fails. The target keeps its old content and no temporary file remains. */
#include "tf_test.h"
#include "io/io_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int count_entries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void assert_file(const char *path, const char *text)
{
    char buf[64] = {0};
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    assert_int_equal(n, strlen(text));
    assert_string_equal(buf, text);
}

static void test_atomic_enospc_on_write_keeps_target(void **state)
{
    tf_ctx_t *ctx = *state;
    char dir[] = "/tmp/tf_io_atomic_XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/t.bin", dir);
    write_file(path, "old");
    int full = open("/dev/full", O_WRONLY);
    if (full < 0) {
        rmdir(dir);
        return; /* no /dev/full on this system */
    }
    tf__atomic_file_t af;
    assert_ok(tf__atomic_open(&af, ctx, path, "test"));
    assert_int_equal(count_entries(dir), 2); /* target + temporary file */
    /* Every later write goes to the full device. */
    assert_int_equal(dup2(full, af.fd), af.fd);
    close(full);
    static unsigned char big[100000];
    assert_status(tf__atomic_write(&af, big, sizeof big), TF_STATUS_EIO);
    assert_non_null(strstr(tf_last_error_message(), strerror(ENOSPC)));
    assert_non_null(strstr(tf_last_error_message(), path));
    tf__atomic_abort(&af);
    assert_int_equal(count_entries(dir), 1);
    assert_file(path, "old");
    assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
    unlink(path);
    rmdir(dir);
}

static void test_atomic_failed_rename_removes_temporary(void **state)
{
    tf_ctx_t *ctx = *state;
    char dir[] = "/tmp/tf_io_atomic_XXXXXX", path[64], inner[80];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/t.bin", dir);
    tf__atomic_file_t af;
    assert_ok(tf__atomic_open(&af, ctx, path, "test"));
    assert_ok(tf__atomic_write(&af, "new", 3));
    /* Someone puts a non-empty directory where the target goes: the rename must fail. */
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(inner, sizeof inner, "%s/x", path);
    write_file(inner, "x");
    assert_status(tf__atomic_commit(&af), TF_STATUS_EIO);
    assert_non_null(strstr(tf_last_error_message(), "renaming"));
    assert_int_equal(count_entries(dir), 1); /* only the directory */
    assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
    unlink(inner);
    rmdir(path);
    rmdir(dir);
}

static void test_atomic_commit_replaces_and_cleans_up(void **state)
{
    tf_ctx_t *ctx = *state;
    char dir[] = "/tmp/tf_io_atomic_XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/t.bin", dir);
    write_file(path, "old");
    tf__atomic_file_t af;
    assert_ok(tf__atomic_open(&af, ctx, path, "test"));
    assert_ok(tf__atomic_write(&af, "brand new", 9));
    assert_file(path, "old"); /* nothing visible before the commit */
    assert_ok(tf__atomic_commit(&af));
    assert_file(path, "brand new");
    assert_int_equal(count_entries(dir), 1);
    assert_int_equal(tf_ctx_allocated_bytes(ctx), 0);
    /* relative paths work too (directory ".") */
    char cwd[512];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    assert_ok(tf__atomic_open(&af, ctx, "t.bin", "test"));
    assert_ok(tf__atomic_write(&af, "rel", 3));
    assert_ok(tf__atomic_commit(&af));
    assert_int_equal(chdir(cwd), 0);
    assert_file(path, "rel");
    unlink(path);
    rmdir(dir);
}

#define CASE(name) cmocka_unit_test_setup_teardown(name, tf_test_setup_ctx, tf_test_teardown_ctx)

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        CASE(test_atomic_enospc_on_write_keeps_target),
        CASE(test_atomic_failed_rename_removes_temporary),
        CASE(test_atomic_commit_replaces_and_cleans_up),
    };
    return TF_TEST_RUN(tests);
}
