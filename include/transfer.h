/* SPDX-License-Identifier: MIT */
/**
 * @file transfer.h
 * @brief libtransfer: pre-train an LSTM sequence model, then fine-tune it, from C.
 *
 * Include this umbrella header, or one header per layer from `transfer/`.
 *
 * libtransfer is thread-safe but does no internal locking. Distinct objects may be used
 * concurrently from different threads. One object (and anything created from it) must not be used
 * from two threads at once. Objects may be moved between threads. Read-only tensors may be shared.
 */
#ifndef LIBTRANSFER_H
#define LIBTRANSFER_H

#include "transfer/common.h"
#include "transfer/version.h"
#include "transfer/error.h"
#include "transfer/alloc.h"
#include "transfer/context.h"
#include "transfer/tensor.h"
#include "transfer/nn.h"
#include "transfer/optim.h"
#include "transfer/data.h"
#include "transfer/io.h"
#include "transfer/train.h"
#include "transfer/predict.h"

#endif /* LIBTRANSFER_H */
