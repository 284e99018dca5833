/* SPDX-License-Identifier: MIT */
/* tftrain: strict command-line parsing (`--flag value` or `--flag=value`). */
#include "tftrain.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int tt_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "tftrain%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'tftrain%s%s --help')\n", cmd ? " " : "", cmd ? cmd : "");
    return TT_EXIT_USAGE;
}

int tt_parse_command(const char *cmd, int argc, char **argv, tt_opt_t *opts, int num,
                     const char *help, const char *help_more, const char *const *required,
                     int *exit_status)
{
    int rc = tt_parse_args(cmd, argc, argv, opts, num, help, help_more);
    for (; rc == TT_EXIT_OK && required != NULL && *required != NULL; required++) {
        char name[64];
        size_t len = strcspn(*required, " ");
        snprintf(name, sizeof name, "%.*s", (int)len, *required);
        if (!tt_opt(opts, num, name)->seen)
            rc = tt_usage_error(cmd, "%s is required", *required);
    }
    *exit_status = rc == TT_HELP_SHOWN ? TT_EXIT_OK : rc;
    return rc == TT_EXIT_OK;
}

tt_opt_t *tt_opt(tt_opt_t *opts, int num, const char *name)
{
    int i;
    for (i = 0; i < num; i++)
        if (strcmp(opts[i].name, name) == 0)
            return &opts[i];
    return NULL;
}

/* A whole decimal number, nothing else (no sign other than '-', no spaces, no suffix). */
static int parse_ll(const char *s, long long *out)
{
    char *end = NULL;
    long long v;
    if (*s == '\0' || *s == ' ' || *s == '\t' || *s == '+')
        return 0;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return 0;
    *out = v;
    return 1;
}

static int parse_double(const char *s, double *out)
{
    char *end = NULL;
    double v;
    if (*s == '\0' || *s == ' ' || *s == '\t')
        return 0;
    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

static int set_value(const char *cmd, tt_opt_t *o, const char *value)
{
    long long v = 0;
    double d = 0.0;
    switch (o->kind) {
    case TT_OPT_INT:
    case TT_OPT_I64:
        if (!parse_ll(value, &v))
            return tt_usage_error(cmd, "%s: '%s' is not a whole number", o->name, value);
        if (v < o->min || v > o->max)
            return tt_usage_error(cmd, "%s: %s is out of range [%lld, %lld]", o->name, value,
                                  o->min, o->max);
        if (o->kind == TT_OPT_INT)
            *(int32_t *)o->dest = (int32_t)v;
        else
            *(int64_t *)o->dest = (int64_t)v;
        break;
    case TT_OPT_DOUBLE:
        if (!parse_double(value, &d))
            return tt_usage_error(cmd, "%s: '%s' is not a number", o->name, value);
        if (!(d > 0.0))
            return tt_usage_error(cmd, "%s: %s must be greater than 0", o->name, value);
        *(double *)o->dest = d;
        break;
    case TT_OPT_FRACTION:
        if (!parse_double(value, &d))
            return tt_usage_error(cmd, "%s: '%s' is not a number", o->name, value);
        if (!(d >= 0.0 && d < 1.0))
            return tt_usage_error(cmd, "%s: %s is not in [0, 1)", o->name, value);
        *(double *)o->dest = d;
        break;
    case TT_OPT_STRING:
        if (*value == '\0')
            return tt_usage_error(cmd, "%s: empty value", o->name);
        *(const char **)o->dest = value;
        break;
    case TT_OPT_STRINGS: {
        tt_strings_t *list = (tt_strings_t *)o->dest;
        if (*value == '\0')
            return tt_usage_error(cmd, "%s: empty value", o->name);
        if (list->count >= TT_MAX_STRINGS)
            return tt_usage_error(cmd, "%s: at most %d times", o->name, TT_MAX_STRINGS);
        list->items[list->count++] = value;
        break;
    }
    case TT_OPT_FLAG:
        break; /* handled by the caller: flags take no value */
    }
    return TT_EXIT_OK;
}

int tt_parse_args(const char *cmd, int argc, char **argv, tt_opt_t *opts, int num,
                  const char *help, const char *help_more)
{
    int i, j, rc;
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *eq, *value;
        size_t name_len;
        tt_opt_t *o = NULL;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(help, stdout);
            if (help_more != NULL)
                fputs(help_more, stdout);
            return TT_HELP_SHOWN;
        }
        if (strncmp(arg, "--", 2) != 0)
            return tt_usage_error(cmd, "unexpected argument '%s'", arg);
        eq = strchr(arg, '=');
        name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        for (j = 0; j < num; j++)
            if (strlen(opts[j].name) == name_len && strncmp(opts[j].name, arg, name_len) == 0)
                o = &opts[j];
        if (o == NULL)
            return tt_usage_error(cmd, "unknown option '%.*s'", (int)name_len, arg);
        if (o->seen && o->kind != TT_OPT_STRINGS)
            return tt_usage_error(cmd, "%s given twice", o->name);
        if (o->kind == TT_OPT_FLAG) {
            if (eq)
                return tt_usage_error(cmd, "%s takes no value", o->name);
            *(int *)o->dest = 1;
            o->seen = 1;
            continue;
        }
        if (eq) {
            value = eq + 1;
        } else {
            if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)
                return tt_usage_error(cmd, "%s needs a value", o->name);
            value = argv[++i];
        }
        rc = set_value(cmd, o, value);
        if (rc != TT_EXIT_OK)
            return rc;
        o->seen = 1;
    }
    return TT_EXIT_OK;
}
