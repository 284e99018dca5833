/* SPDX-License-Identifier: MIT */
/**
 * @file transfer/io.h
 * @brief Tensor files: named tensors, byte blobs and string metadata in the safetensors layout,
 *        with a CRC32 per entry and atomic saves.
 *
 * A tensor file is a safetensors file (an 8-byte little-endian header length N, N bytes of JSON
 * header, then the raw little-endian data), so it opens unchanged in PyTorch and the Hugging Face
 * tools. libtransfer adds to the `__metadata__` map: `format` = `libtransfer`, `format_version`,
 * `library_version` and, for every entry, `crc32.<name>` (8 lowercase hex digits, IEEE CRC32 of
 * the entry's bytes). Model checkpoints are built on this layer. See docs/checkpoints.md.
 *
 * Entries are either tensors (F32 or I32, 1 to #TF_TENSOR_MAX_DIMS dimensions, each at least 1)
 * or blobs: arbitrary bytes stored as a 1-D `U8` tensor, read back bit-exactly.
 *
 * Compact weights load as F32 tensors: an `F16` tensor is widened exactly, and an `I8` tensor
 * `<name>` is multiplied row by row by the F32 tensor `<name>.scale` of shape [rows] that must
 * come with it (x = q * scale[row]; that scale is then not an entry of its own). Model export
 * (tf_model_export()) writes such files; docs/checkpoints.md gives the rules.
 *
 * Loading validates everything it reads from the file and fails with #TF_STATUS_EFORMAT (or
 * #TF_STATUS_ENOTSUP for a valid safetensors dtype or shape libtransfer cannot represent) and a
 * message naming the file and the entry; it never trusts a size from the file.
 *
 * Saving is atomic: the file is written to a new temporary file in the target's directory, synced,
 * then renamed over the target and the directory synced. On failure the previous file is left
 * untouched and the temporary file is removed.
 *
 * @defgroup io Tensor files
 * @{
 */
#ifndef LIBTRANSFER_IO_H
#define LIBTRANSFER_IO_H

#include "common.h"
#include "error.h"
#include "context.h"
#include "tensor.h"

TF_BEGIN_DECLS

/** @brief Opaque handle of a loaded tensor file (its entries and metadata). */
typedef struct tf_tensorfile tf_tensorfile_t;

/** @brief Opaque handle of a tensor file being built for saving. */
typedef struct tf_tensorfile_writer tf_tensorfile_writer_t;

/** Flag: accept NaN and infinite values in F32 tensors (rejected by default, on load and save). */
#define TF_TENSORFILE_ALLOW_NONFINITE 0x1u
/**
 * Flag (load): accept a plain safetensors file that was not written by libtransfer (its metadata
 * has no `format` = `libtransfer`, as from PyTorch or Hugging Face). Such a file carries no CRCs,
 * so its payload cannot be verified. A file that claims `format` = `libtransfer` must always
 * carry a valid CRC for every entry.
 */
#define TF_TENSORFILE_ALLOW_FOREIGN 0x2u

/** Entry kind: an F32 or I32 tensor (read it with tf_tensorfile_get()). */
#define TF_TENSORFILE_KIND_TENSOR 1
/** Entry kind: a byte blob (read it with tf_tensorfile_blob()). */
#define TF_TENSORFILE_KIND_BLOB 2

/** Default (and largest allowed) tf_tensorfile_opts_t::max_header_bytes: 100 MiB. */
#define TF_TENSORFILE_MAX_HEADER_BYTES 104857600u

/** Current version of ::tf_tensorfile_opts_t. */
#define TF_TENSORFILE_OPTS_VERSION 1

/**
 * @brief Options for tf_tensorfile_load() and tf_tensorfile_writer_create(). Fill with
 *        tf_tensorfile_opts_init() (or #TF_TENSORFILE_OPTS_INIT).
 */
typedef struct tf_tensorfile_opts {
    uint32_t struct_size;      /**< sizeof(tf_tensorfile_opts_t), set by the init function. */
    uint32_t version;          /**< #TF_TENSORFILE_OPTS_VERSION, set by the init function. */
    uint32_t flags;            /**< TF_TENSORFILE_ALLOW_* bits; default 0. */
    uint32_t reserved;         /**< Must be 0. */
    uint64_t max_header_bytes; /**< Load: largest JSON header accepted; 0 = the default,
                                    #TF_TENSORFILE_MAX_HEADER_BYTES (also the upper bound). */
} tf_tensorfile_opts_t;

/** Static initializer with the same defaults as tf_tensorfile_opts_init(). */
#define TF_TENSORFILE_OPTS_INIT                                                                    \
    {                                                                                              \
        (uint32_t)sizeof(tf_tensorfile_opts_t), TF_TENSORFILE_OPTS_VERSION, 0u, 0u, 0u             \
    }

/**
 * @brief Fill `opts` with defaults for the given options version.
 * @param[out] opts Options to initialise.
 * @param[in] version Pass #TF_TENSORFILE_OPTS_VERSION.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL if `opts` is NULL; #TF_STATUS_EVERSION if `version` is
 *         0 or newer than this library.
 * @threadsafety Safe from any thread.
 * @ownership `opts` stays the caller's; nothing is kept.
 */
TF_API tf_status_t tf_tensorfile_opts_init(tf_tensorfile_opts_t *opts, uint32_t version);

/**
 * @brief Load a tensor file: read, validate and CRC-check every entry.
 * @param[out] out Receives the file handle; set to NULL on failure.
 * @param[in] ctx Context whose allocator holds the loaded data.
 * @param[in] path File to read.
 * @param[in] opts Options, or NULL for the defaults (libtransfer files only, finite values).
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, bad option); #TF_STATUS_EVERSION
 *         (unknown options version, or a file written by a newer format version);
 *         #TF_STATUS_ENOTFOUND (no such file); #TF_STATUS_EIO (the file cannot be read or is
 *         not a regular file);
 *         #TF_STATUS_EFORMAT (malformed or corrupt: bad header, offsets, shapes, CRC mismatch,
 *         non-finite values, missing libtransfer metadata, an I8 tensor without a finite,
 *         non-negative F32 scale per row); #TF_STATUS_ENOTSUP (a valid safetensors dtype other
 *         than F32, F16, I8, I32 and U8, a scalar, a zero-sized or a more than 4-dimensional
 *         tensor); #TF_STATUS_ENOMEM.
 * @ownership caller: free with tf_tensorfile_free().
 * @threadsafety Uses `ctx`; not concurrently with other users of `ctx`.
 */
TF_API tf_status_t tf_tensorfile_load(tf_tensorfile_t **out,
                                      tf_ctx_t *ctx,
                                      const char *path,
                                      const tf_tensorfile_opts_t *opts);

/**
 * @brief Free a loaded tensor file and every tensor and blob it holds. NULL is a no-op.
 * @param[in] f The file handle.
 * @ownership Takes ownership of `f`; borrowed tensors, blobs and strings become invalid.
 * @threadsafety One thread at a time with `f`'s context (it allocates through it).
 */
TF_API void tf_tensorfile_free(tf_tensorfile_t *f);

/**
 * @brief Number of entries (tensors and blobs) in the file.
 * @param[in] f The file handle.
 * @return The count, or 0 if `f` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `f` only; one thread at a time per context (see context.h).
 */
TF_API uint32_t tf_tensorfile_num_entries(const tf_tensorfile_t *f);

/**
 * @brief Name of the i-th entry (entries are in the order of their data in the file).
 * @param[in] f The file handle.
 * @param[in] i 0 to tf_tensorfile_num_entries() - 1.
 * @return The name, or NULL if `f` is NULL or `i` is out of range.
 * @ownership borrowed: valid until tf_tensorfile_free(f).
 * @threadsafety Reads `f` only; one thread at a time per context (see context.h).
 */
TF_API const char *tf_tensorfile_name(const tf_tensorfile_t *f, uint32_t i);

/**
 * @brief Kind of the i-th entry.
 * @param[in] f The file handle.
 * @param[in] i 0 to tf_tensorfile_num_entries() - 1.
 * @return #TF_TENSORFILE_KIND_TENSOR or #TF_TENSORFILE_KIND_BLOB, or 0 if `f` is NULL or `i` is
 *         out of range.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `f` only; one thread at a time per context (see context.h).
 */
TF_API int32_t tf_tensorfile_kind(const tf_tensorfile_t *f, uint32_t i);

/**
 * @brief Look up a tensor by name.
 * @param[out] out Receives the tensor; NULL on failure.
 * @param[in] f The file handle.
 * @param[in] name Entry name.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument); #TF_STATUS_ENOTFOUND (no entry of
 *         that name); #TF_STATUS_EDTYPE (the entry is a blob).
 * @ownership borrowed: the tensor belongs to `f` (its data may be modified; never free it) and is
 *            valid until tf_tensorfile_free(f).
 * @threadsafety Reads `f` only; one thread at a time per context (see context.h).
 */
TF_API tf_status_t tf_tensorfile_get(tf_tensor_t **out, tf_tensorfile_t *f, const char *name);

/**
 * @brief Look up a blob by name.
 * @param[out] data Receives a pointer to the bytes (NULL on failure; non-NULL even for an empty
 *             blob).
 * @param[out] nbytes Receives the size in bytes (0 on failure).
 * @param[in] f The file handle.
 * @param[in] name Entry name.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument); #TF_STATUS_ENOTFOUND (no entry of
 *         that name); #TF_STATUS_EDTYPE (the entry is a tensor).
 * @ownership borrowed: the bytes belong to `f` and are valid until tf_tensorfile_free(f).
 * @threadsafety Reads `f` only; one thread at a time per context (see context.h).
 */
TF_API tf_status_t tf_tensorfile_blob(const void **data,
                                      size_t *nbytes,
                                      const tf_tensorfile_t *f,
                                      const char *name);

/**
 * @brief Value of a metadata key.
 * @param[in] f The file handle.
 * @param[in] key The key.
 * @return The value, or NULL if `f` or `key` is NULL or the key is absent.
 * @ownership borrowed: valid until tf_tensorfile_free(f).
 * @threadsafety Reads `f` only; one thread at a time per context (see context.h).
 */
TF_API const char *tf_tensorfile_meta(const tf_tensorfile_t *f, const char *key);

/**
 * @brief Number of metadata entries (including the ones libtransfer writes).
 * @param[in] f The file handle.
 * @return The count, or 0 if `f` is NULL.
 * @ownership Nothing changes hands.
 * @threadsafety Reads `f` only; one thread at a time per context (see context.h).
 */
TF_API uint32_t tf_tensorfile_num_meta(const tf_tensorfile_t *f);

/**
 * @brief The i-th metadata entry (sorted by key).
 * @param[out] key Receives the key (NULL on failure).
 * @param[out] value Receives the value (NULL on failure).
 * @param[in] f The file handle.
 * @param[in] i 0 to tf_tensorfile_num_meta() - 1.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument or `i` out of range).
 * @ownership borrowed: valid until tf_tensorfile_free(f).
 * @threadsafety Reads `f` only; one thread at a time per context (see context.h).
 */
TF_API tf_status_t tf_tensorfile_meta_at(const char **key,
                                         const char **value,
                                         const tf_tensorfile_t *f,
                                         uint32_t i);

/**
 * @brief Start building a tensor file.
 * @param[out] out Receives the writer; set to NULL on failure.
 * @param[in] ctx Context for the writer's allocations.
 * @param[in] opts Options, or NULL for the defaults; only `flags`
 *            (#TF_TENSORFILE_ALLOW_NONFINITE) applies to writing.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL; #TF_STATUS_EVERSION; #TF_STATUS_ENOMEM.
 * @ownership caller: free with tf_tensorfile_writer_free().
 * @threadsafety Uses `ctx`; not concurrently with other users of `ctx`.
 */
TF_API tf_status_t tf_tensorfile_writer_create(tf_tensorfile_writer_t **out,
                                               tf_ctx_t *ctx,
                                               const tf_tensorfile_opts_t *opts);

/**
 * @brief Free a writer. NULL is a no-op. Nothing is saved.
 * @param[in] w The writer.
 * @ownership Takes ownership of `w` (never of the tensors and blobs added to it).
 * @threadsafety One thread at a time with `w`'s context (it allocates through it).
 */
TF_API void tf_tensorfile_writer_free(tf_tensorfile_writer_t *w);

/**
 * @brief Add a tensor (F32 or I32).
 * @param[in,out] w The writer.
 * @param[in] name Entry name: non-empty UTF-8, unique among the writer's entries.
 * @param[in] t The tensor; its shape and data are read when the file is saved, not now.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, empty or invalid UTF-8 name, duplicate
 *         name); #TF_STATUS_ENOMEM. The writer is unchanged on failure.
 * @ownership borrowed: `t` must stay alive until the last
 *            tf_tensorfile_writer_save() or tf_tensorfile_writer_free().
 * @threadsafety One thread at a time with `w`'s context (it allocates through it).
 */
TF_API tf_status_t tf_tensorfile_writer_add_tensor(tf_tensorfile_writer_t *w,
                                                   const char *name,
                                                   const tf_tensor_t *t);

/**
 * @brief Add a blob of arbitrary bytes (stored as a 1-D U8 tensor).
 * @param[in,out] w The writer.
 * @param[in] name Entry name: non-empty UTF-8, unique among the writer's entries.
 * @param[in] data The bytes (may be NULL only when `nbytes` is 0); read when the file is saved.
 * @param[in] nbytes Size in bytes; 0 is allowed.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, bad or duplicate name);
 *         #TF_STATUS_ENOMEM. The writer is unchanged on failure.
 * @ownership borrowed: `data` must stay valid until the last tf_tensorfile_writer_save() or
 *            tf_tensorfile_writer_free().
 * @threadsafety One thread at a time with `w`'s context (it allocates through it).
 */
TF_API tf_status_t tf_tensorfile_writer_add_blob(tf_tensorfile_writer_t *w,
                                                 const char *name,
                                                 const void *data,
                                                 size_t nbytes);

/**
 * @brief Add a metadata entry (both strings are copied).
 * @param[in,out] w The writer.
 * @param[in] key Non-empty UTF-8, unique; `format`, `format_version`, `library_version`,
 *            `__metadata__` and keys starting with `crc32.` are reserved.
 * @param[in] value UTF-8 string (may be empty).
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, reserved, duplicate or invalid key,
 *         invalid UTF-8 value); #TF_STATUS_ENOMEM. The writer is unchanged on failure.
 * @ownership `key` and `value` are copied and stay the caller's.
 * @threadsafety One thread at a time with `w`'s context (it allocates through it).
 */
TF_API tf_status_t tf_tensorfile_writer_add_meta(tf_tensorfile_writer_t *w,
                                                 const char *key,
                                                 const char *value);

/**
 * @brief Write the file atomically to `path` (temporary file, fsync, rename, directory fsync).
 *        May be called again (for example to another path); the writer is not consumed.
 * @param[in] w The writer.
 * @param[in] path Target file; an existing regular file there is replaced only on success.
 * @return #TF_STATUS_OK; #TF_STATUS_EINVAL (NULL argument, a non-finite F32 value without
 *         #TF_TENSORFILE_ALLOW_NONFINITE); #TF_STATUS_EIO (the
 *         directory is missing or unwritable, the target is not a regular file, a write, sync or
 *         rename failed; the message names the path and the system error); #TF_STATUS_ENOMEM.
 *         On failure the previous file at `path` is untouched and no temporary file remains.
 * @threadsafety Uses the writer's context.
 * @ownership `path` is read during the call only; the tensors and blobs added stay borrowed (see
 *            tf_tensorfile_writer_add_tensor()).
 */
TF_API tf_status_t tf_tensorfile_writer_save(tf_tensorfile_writer_t *w, const char *path);

TF_END_DECLS

#endif /* LIBTRANSFER_IO_H */
/** @} */
