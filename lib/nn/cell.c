/* SPDX-License-Identifier: MIT */
/* The table of recurrent cells (index = public cell kind) and the parameter naming every cell
 * shares (PyTorch's). */
#include "transfer/nn.h"
#include "cell.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const tf__cell_ops_t tf__lstm_cell, tf__gru_cell;

static const tf__cell_ops_t *const cells[] = {
    [TF_CELL_LSTM] = &tf__lstm_cell,
    [TF_CELL_GRU] = &tf__gru_cell,
};

static const char *const param_kinds[TF__CELL_PARAMS] = {"weight_ih_l", "weight_hh_l", "bias_ih_l",
                                                          "bias_hh_l"};

int32_t tf__cell_count(void)
{
    return (int32_t)(sizeof cells / sizeof cells[0]);
}

const tf__cell_ops_t *tf__cell_get(int32_t cell)
{
    return cell >= 0 && cell < tf__cell_count() ? cells[cell] : NULL;
}

int32_t tf__cell_find(const char *name)
{
    for (int32_t i = 0; name != NULL && i < tf__cell_count(); i++)
        if (strcmp(cells[i]->name, name) == 0)
            return i;
    return -1;
}

void tf__cell_param_local(char *buf, size_t n, int which, int32_t layer, int32_t reverse)
{
    snprintf(buf, n, "%s%d%s", param_kinds[which], layer, reverse ? "_reverse" : "");
}

int32_t tf__cell_param_layer(const char *name)
{
    const char *dot = strchr(name, '.');
    if (dot == NULL)
        return -1;
    int known = 0;
    for (int32_t i = 0; i < tf__cell_count(); i++) {
        size_t len = strlen(cells[i]->name);
        known |= (size_t)(dot - name) == len && strncmp(name, cells[i]->name, len) == 0;
    }
    if (!known)
        return -1;
    for (int k = 0; k < TF__CELL_PARAMS; k++) {
        size_t len = strlen(param_kinds[k]);
        const char *p = dot + 1;
        if (strncmp(p, param_kinds[k], len) != 0 || p[len] < '0' || p[len] > '9')
            continue;
        char *end;
        long layer = strtol(p + len, &end, 10);
        if ((*end == '\0' || strcmp(end, "_reverse") == 0) && layer <= 1024)
            return (int32_t)layer;
    }
    return -1;
}
