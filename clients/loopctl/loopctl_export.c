/*
 * loopctl export: entries (or measurement observations) as CSV or JSON
 * Lines for BI tools and notebooks, streamed page by page from
 * ListEntries, so memory stays constant however long the log is.
 *
 *   loopctl export [--format csv|jsonl] [--out FILE] [--observations]
 *                  [--initiative I] [--kind K] [--author A] [--since T]
 *                  [--until T] [--from SEQ] [--to SEQ] [--as-of SIZE]
 *
 * Columns (stable; README "Exports"; the Python client writes the same):
 *   entries: seq, server_time (RFC 3339 UTC, nanoseconds),
 *     server_time_unix_nanos, kind, initiative, author, status
 *     (effective|pending|rejected), superseded_by (empty when none),
 *     links ("relation:seq;..."), keyid, then for each entry kind in
 *     EntryBody order (only the --kind one when given) its fields flattened
 *     in field-number order with dotted names ("finding.summary",
 *     "hypothesis.expected_effect.metric"). Cells: enums by lowercase short
 *     name (empty for unspecified), bools true/false, doubles in the
 *     shortest of %.15g..%.17g that reads back exactly, bytes in hex,
 *     repeated scalars joined by ';', repeated messages as compact JSON
 *     arrays; another kind's columns are empty.
 *   --observations: one row per observation of each measurement:
 *     initiative, seq, server_time, metric, segment, arm, value,
 *     sample_size, unit, stddev, window_start_unix_nanos,
 *     window_end_unix_nanos, source, author, status, superseded_by.
 * JSON Lines: one object per row with the same keys (the entry's own kind
 * only), typed values (numbers, arrays, objects, null for no
 * superseded_by).
 * --as-of SIZE: entries below tree size SIZE; a correction at or after
 * SIZE is not shown in superseded_by. status is the current one.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lc_pbjson.h"
#include "ll_crypto.h"
#include "loopctl_entry.h"
#include "loopctl_export.h"
#include "loopctl_rpc.h"
#include "loopctl_util.h"
#include "loopledger/v1/ledger.pb-c.h"

typedef struct {
    FILE *out;
    int csv;
    int first; /* first cell of the CSV row */
    ll_jw_t jw;
} ex_t;

/* Fields of d in field-number order (protobuf-c keeps them sorted). */
#define FIELDS(d) for (unsigned fi_ = 0; fi_ < (d)->n_fields; fi_++)

/* ---- CSV cells ---- */

static void csv_cell_n(ex_t *x, const char *s, size_t n)
{
    int quote = 0;
    if (!x->first)
        fputc(',', x->out);
    x->first = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
            quote = 1;
    if (!quote) {
        fwrite(s, 1, n, x->out);
        return;
    }
    fputc('"', x->out);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            fputc('"', x->out);
        fputc(s[i], x->out);
    }
    fputc('"', x->out);
}

static void csv_cell(ex_t *x, const char *s)
{
    csv_cell_n(x, s, strlen(s));
}

static void fmt_double(double v, char *b, size_t cap)
{
    b[0] = 0;
    if (v != v || v > 1.7976931348623157e308 || v < -1.7976931348623157e308)
        return;
    for (int p = 15; p <= 17; p++) {
        snprintf(b, cap, "%.*g", p, v);
        if (strtod(b, NULL) == v)
            break;
    }
}

static void fmt_time(int64_t ns, char out[48])
{
    int64_t s = ns / 1000000000, frac = ns % 1000000000;
    if (frac < 0) {
        frac += 1000000000;
        s--;
    }
    time_t t = (time_t)s;
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 48 - n, ".%09" PRId64 "Z", frac);
}

/* Text of one scalar element (not for messages). */
static void scalar_text(const ProtobufCFieldDescriptor *f, const void *p, char *b, size_t cap,
                        const char **str, size_t *strn)
{
    *str = NULL;
    b[0] = 0;
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        *str = *(char *const *)p ? *(char *const *)p : "";
        *strn = strlen(*str);
        return;
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *bd = p;
        if (bd->len * 2 + 1 <= cap)
            ll_hex_encode(bd->data, bd->len, b);
        return;
    }
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        if (v != 0)
            lc_pbdesc_enum_name(f->descriptor, v, b, cap);
        return;
    }
    case PROTOBUF_C_TYPE_BOOL:
        snprintf(b, cap, "%s", *(const protobuf_c_boolean *)p ? "true" : "false");
        return;
    case PROTOBUF_C_TYPE_DOUBLE:
        fmt_double(*(const double *)p, b, cap);
        return;
    case PROTOBUF_C_TYPE_FLOAT:
        fmt_double(*(const float *)p, b, cap);
        return;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        snprintf(b, cap, "%" PRId32, *(const int32_t *)p);
        return;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        snprintf(b, cap, "%" PRIu32, *(const uint32_t *)p);
        return;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(b, cap, "%" PRId64, *(const int64_t *)p);
        return;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(b, cap, "%" PRIu64, *(const uint64_t *)p);
        return;
    default:
        return;
    }
}

static size_t elem_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_DOUBLE:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return 8;
    default: return 4;
    }
}

/* ---- schema: header and empty cells ---- */

static unsigned count_columns(const ProtobufCMessageDescriptor *d, int depth)
{
    unsigned n = 0;
    FIELDS(d) {
        const ProtobufCFieldDescriptor *f = &d->fields[fi_];
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->label != PROTOBUF_C_LABEL_REPEATED &&
            depth < 8)
            n += count_columns(f->descriptor, depth + 1);
        else
            n++;
    }
    return n;
}

static void header(ex_t *x, const ProtobufCMessageDescriptor *d, const char *prefix, int depth)
{
    char name[256];
    FIELDS(d) {
        const ProtobufCFieldDescriptor *f = &d->fields[fi_];
        snprintf(name, sizeof name, "%s%s", prefix, f->name);
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->label != PROTOBUF_C_LABEL_REPEATED &&
            depth < 8) {
            strncat(name, ".", sizeof name - strlen(name) - 1);
            header(x, f->descriptor, name, depth + 1);
        } else {
            csv_cell(x, name);
        }
    }
}

/* ---- cells of one message ---- */

static void json_elem(ll_jw_t *jw, const ProtobufCFieldDescriptor *f, const void *p)
{
    char b[160];
    const char *s;
    size_t n;
    switch (f->type) {
    case PROTOBUF_C_TYPE_MESSAGE:
        lc_pbjson_write(jw, *(const ProtobufCMessage *const *)p);
        return;
    case PROTOBUF_C_TYPE_BOOL:
        ll_jw_bool(jw, *(const protobuf_c_boolean *)p);
        return;
    case PROTOBUF_C_TYPE_DOUBLE:
        ll_jw_double(jw, *(const double *)p);
        return;
    case PROTOBUF_C_TYPE_FLOAT:
        ll_jw_double(jw, *(const float *)p);
        return;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_ENUM:
        scalar_text(f, p, b, sizeof b, &s, &n);
        if (s)
            ll_jw_string_n(jw, s, n);
        else
            ll_jw_string(jw, b);
        return;
    default:
        scalar_text(f, p, b, sizeof b, &s, &n);
        /* Integers: already decimal text; write them as numbers. */
        if (f->type == PROTOBUF_C_TYPE_UINT64 || f->type == PROTOBUF_C_TYPE_FIXED64)
            ll_jw_uint64(jw, strtoull(b, NULL, 10));
        else
            ll_jw_int64(jw, strtoll(b, NULL, 10));
        return;
    }
}

/* A repeated field's cell: CSV joins scalars with ';' and writes messages
 * as a compact JSON array; JSON Lines writes an array. */
static void repeated_cell(ex_t *x, const ProtobufCFieldDescriptor *f, const ProtobufCMessage *m,
                          const char *key)
{
    size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
    const char *arr = *(const char *const *)((const char *)m + f->offset);
    size_t es = elem_size(f);
    if (!x->csv || f->type == PROTOBUF_C_TYPE_MESSAGE) {
        ll_jw_t own, *jw = &x->jw;
        if (x->csv) {
            ll_jw_init(&own, 0);
            jw = &own;
        } else {
            ll_jw_key(jw, key);
        }
        ll_jw_begin_array(jw);
        for (size_t i = 0; i < n; i++)
            json_elem(jw, f, arr + i * es);
        ll_jw_end_array(jw);
        if (x->csv) {
            size_t len;
            char *text = ll_jw_finish(&own, &len);
            csv_cell_n(x, text ? text : "", text ? len : 0);
            free(text);
        }
        return;
    }
    /* CSV, scalars: build "a;b;c". */
    size_t cap = 256, len = 0;
    char *buf = malloc(cap), b[160];
    if (!buf)
        lc_die("out of memory");
    buf[0] = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s;
        size_t sn;
        scalar_text(f, arr + i * es, b, sizeof b, &s, &sn);
        if (!s) {
            s = b;
            sn = strlen(b);
        }
        while (len + sn + 2 > cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb)
                lc_die("out of memory");
            buf = nb;
        }
        if (i)
            buf[len++] = ';';
        memcpy(buf + len, s, sn);
        len += sn;
    }
    csv_cell_n(x, buf, len);
    free(buf);
}

static void empty_cells(ex_t *x, unsigned n)
{
    while (n--)
        csv_cell(x, "");
}

static void cells(ex_t *x, const ProtobufCMessage *m, const char *prefix, int depth)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    char key[256], b[160];
    FIELDS(d) {
        const ProtobufCFieldDescriptor *f = &d->fields[fi_];
        const void *p = (const char *)m + f->offset;
        snprintf(key, sizeof key, "%s%s", prefix, f->name);
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            repeated_cell(x, f, m, key);
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE && depth < 8) {
            const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)p;
            strncat(key, ".", sizeof key - strlen(key) - 1);
            if (sub)
                cells(x, sub, key, depth + 1);
            else if (x->csv)
                empty_cells(x, count_columns(f->descriptor, depth + 1));
        } else if (x->csv) {
            const char *s;
            size_t n;
            scalar_text(f, p, b, sizeof b, &s, &n);
            if (s)
                csv_cell_n(x, s, n);
            else
                csv_cell(x, b);
        } else {
            ll_jw_key(&x->jw, key);
            json_elem(&x->jw, f, p);
        }
    }
}

/* ---- rows ---- */

static const ProtobufCMessageDescriptor *body_desc(void)
{
    return &loopledger__v1__entry_body__descriptor;
}

static int is_kind_field(const ProtobufCFieldDescriptor *f)
{
    return (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
}

/* Emits a fixed (string) column, keyed in JSON Lines. */
static void col_str(ex_t *x, const char *key, const char *v)
{
    if (x->csv) {
        csv_cell(x, v);
    } else {
        ll_jw_key(&x->jw, key);
        ll_jw_string(&x->jw, v);
    }
}

static void col_u64(ex_t *x, const char *key, uint64_t v, int empty_if_zero)
{
    char b[24];
    if (x->csv) {
        snprintf(b, sizeof b, "%" PRIu64, v);
        csv_cell(x, empty_if_zero && !v ? "" : b);
        return;
    }
    ll_jw_key(&x->jw, key);
    if (empty_if_zero && !v)
        ll_jw_null(&x->jw);
    else
        ll_jw_uint64(&x->jw, v);
}

static void col_i64(ex_t *x, const char *key, int64_t v)
{
    char b[24];
    if (x->csv) {
        snprintf(b, sizeof b, "%" PRId64, v);
        csv_cell(x, b);
        return;
    }
    ll_jw_key(&x->jw, key);
    ll_jw_int64(&x->jw, v);
}

static void col_double(ex_t *x, const char *key, double v)
{
    char b[40];
    if (x->csv) {
        fmt_double(v, b, sizeof b);
        csv_cell(x, b);
        return;
    }
    ll_jw_key(&x->jw, key);
    ll_jw_double(&x->jw, v);
}

static void row_begin(ex_t *x)
{
    x->first = 1;
    if (!x->csv) {
        ll_jw_init(&x->jw, 0);
        ll_jw_begin_object(&x->jw);
    }
}

static void row_end(ex_t *x)
{
    if (x->csv) {
        fputc('\n', x->out);
        return;
    }
    size_t len;
    ll_jw_end_object(&x->jw);
    char *text = ll_jw_finish(&x->jw, &len);
    if (!text)
        lc_die("export: cannot encode a row as JSON");
    fwrite(text, 1, len, x->out);
    fputc('\n', x->out);
    free(text);
}

static const char *status_text(int s, char *b, size_t cap)
{
    b[0] = 0;
    if (s)
        lc_pbdesc_enum_name(&loopledger__v1__approval_status__descriptor, s, b, cap);
    return b;
}

static void entry_row(ex_t *x, const Loopledger__V1__LogEntry *le,
                      const Loopledger__V1__EntryBody *b, int status, uint64_t sup,
                      uint32_t only_kind)
{
    char t[48], st[40], keyid[80] = "";
    const ProtobufCMessageDescriptor *bd = body_desc();
    size_t cap = 64, len = 0;
    char *links = malloc(cap);
    if (!links)
        lc_die("out of memory");
    links[0] = 0;
    for (size_t i = 0; i < b->n_links; i++) {
        char one[64];
        int n = snprintf(one, sizeof one, "%s%s:%" PRIu64, i ? ";" : "",
                         lc_relation_name(b->links[i]->relation), b->links[i]->target_seq);
        while (len + (size_t)n + 1 > cap) {
            char *nl = realloc(links, cap *= 2);
            if (!nl)
                lc_die("out of memory");
            links = nl;
        }
        memcpy(links + len, one, (size_t)n + 1);
        len += (size_t)n;
    }
    if (le->envelope->n_signatures && le->envelope->signatures[0]->keyid)
        snprintf(keyid, sizeof keyid, "%s", le->envelope->signatures[0]->keyid);
    fmt_time(le->server_time_unix_nanos, t);
    row_begin(x);
    col_u64(x, "seq", le->seq, 0);
    col_str(x, "server_time", t);
    col_i64(x, "server_time_unix_nanos", le->server_time_unix_nanos);
    col_str(x, "kind", lc_kind_name(b->kind_case));
    col_str(x, "initiative", b->initiative ? b->initiative : "");
    col_str(x, "author", b->author ? b->author : "");
    col_str(x, "status", status_text(status, st, sizeof st));
    col_u64(x, "superseded_by", sup, 1);
    col_str(x, "links", links);
    col_str(x, "keyid", keyid);
    free(links);
    FIELDS(bd) {
        const ProtobufCFieldDescriptor *f = &bd->fields[fi_];
        if (!is_kind_field(f) || (only_kind && f->id != only_kind))
            continue;
        if ((uint32_t)b->kind_case == f->id) {
            char prefix[64];
            snprintf(prefix, sizeof prefix, "%s.", f->name);
            cells(x, *(const ProtobufCMessage *const *)((const char *)b + f->offset), prefix, 0);
        } else if (x->csv) {
            empty_cells(x, count_columns(f->descriptor, 0));
        }
    }
    row_end(x);
}

static void observation_rows(ex_t *x, const Loopledger__V1__LogEntry *le,
                             const Loopledger__V1__EntryBody *b, int status, uint64_t sup)
{
    char t[48], st[40];
    const Loopledger__V1__Measurement *m = b->measurement;
    if (b->kind_case != LOOPLEDGER__V1__ENTRY_BODY__KIND_MEASUREMENT || !m)
        return;
    fmt_time(le->server_time_unix_nanos, t);
    status_text(status, st, sizeof st);
    for (size_t i = 0; i < m->n_observations; i++) {
        const Loopledger__V1__Observation *o = m->observations[i];
        row_begin(x);
        col_str(x, "initiative", b->initiative);
        col_u64(x, "seq", le->seq, 0);
        col_str(x, "server_time", t);
        col_str(x, "metric", o->metric);
        col_str(x, "segment", o->segment);
        col_str(x, "arm", o->arm);
        col_double(x, "value", o->value);
        col_u64(x, "sample_size", o->sample_size, 0);
        col_str(x, "unit", o->unit);
        col_double(x, "stddev", o->stddev);
        col_i64(x, "window_start_unix_nanos", o->window_start_unix_nanos);
        col_i64(x, "window_end_unix_nanos", o->window_end_unix_nanos);
        col_str(x, "source", m->source);
        col_str(x, "author", b->author);
        col_str(x, "status", st);
        col_u64(x, "superseded_by", sup, 1);
        row_end(x);
    }
}

static const char *const entry_fixed[] = {"seq", "server_time", "server_time_unix_nanos",
                                          "kind", "initiative", "author", "status",
                                          "superseded_by", "links", "keyid"};
static const char *const obs_fixed[] = {
    "initiative", "seq", "server_time", "metric", "segment", "arm", "value", "sample_size",
    "unit", "stddev", "window_start_unix_nanos", "window_end_unix_nanos", "source", "author",
    "status", "superseded_by"};

int lc_cmd_export(int argc, char **argv)
{
    Loopledger__V1__ListEntriesRequest req = LOOPLEDGER__V1__LIST_ENTRIES_REQUEST__INIT;
    ex_t x = {.out = stdout, .csv = 1};
    const char *outpath = NULL;
    int observations = 0, kind = 0;
    uint64_t as_of = 0, rows = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--observations")) {
            observations = 1;
            continue;
        }
        if (!v)
            lc_die("export: %s needs a value", a);
        i++;
        if (!strcmp(a, "--format")) {
            if (strcmp(v, "csv") && strcmp(v, "jsonl"))
                lc_die("export: --format csv or jsonl");
            x.csv = !strcmp(v, "csv");
        } else if (!strcmp(a, "--out")) outpath = v;
        else if (!strcmp(a, "--from")) req.from_seq = lc_parse_u64(v, "--from");
        else if (!strcmp(a, "--to")) req.to_seq = lc_parse_u64(v, "--to");
        else if (!strcmp(a, "--as-of")) as_of = lc_parse_u64(v, "--as-of");
        else if (!strcmp(a, "--initiative")) req.initiative = (char *)v;
        else if (!strcmp(a, "--author")) req.author = (char *)v;
        else if (!strcmp(a, "--since")) req.from_time_unix_nanos = lc_parse_time(v, "--since");
        else if (!strcmp(a, "--until")) req.to_time_unix_nanos = lc_parse_time(v, "--until");
        else if (!strcmp(a, "--kind")) {
            if (lc_pbdesc_enum_value(&loopledger__v1__kind__descriptor, v, &kind) || !kind)
                lc_die("export: --kind: unknown kind %s", v);
        } else lc_die("export: unexpected argument %s", a);
    }
    if (observations) {
        if (kind && kind != LOOPLEDGER__V1__KIND__KIND_MEASUREMENT)
            lc_die("export: --observations exports measurements; drop --kind");
        kind = LOOPLEDGER__V1__KIND__KIND_MEASUREMENT;
    }
    req.kind = (Loopledger__V1__Kind)kind;
    if (as_of && (!req.to_seq || req.to_seq > as_of))
        req.to_seq = as_of;
    if (outpath && !(x.out = fopen(outpath, "w")))
        lc_die("export: cannot write %s", outpath);

    if (x.csv) {
        x.first = 1;
        if (observations) {
            for (size_t i = 0; i < sizeof obs_fixed / sizeof obs_fixed[0]; i++)
                csv_cell(&x, obs_fixed[i]);
        } else {
            const ProtobufCMessageDescriptor *bd = body_desc();
            for (size_t i = 0; i < sizeof entry_fixed / sizeof entry_fixed[0]; i++)
                csv_cell(&x, entry_fixed[i]);
            FIELDS(bd) {
                const ProtobufCFieldDescriptor *f = &bd->fields[fi_];
                char prefix[64];
                if (!is_kind_field(f) || (kind && f->id != (unsigned)kind))
                    continue;
                snprintf(prefix, sizeof prefix, "%s.", f->name);
                header(&x, f->descriptor, prefix, 0);
            }
        }
        fputc('\n', x.out);
    }
    char *token = strdup("");
    if (!token)
        lc_die("out of memory");
    do {
        req.page_size = 1000;
        req.page_token = token;
        Loopledger__V1__ListEntriesResponse *resp = lc_rpc(
            "/loopledger.v1.LedgerService/ListEntries", &req.base,
            &loopledger__v1__list_entries_response__descriptor);
        for (size_t i = 0; i < resp->n_leaves; i++) {
            Loopledger__V1__LogEntry *le =
                loopledger__v1__log_entry__unpack(NULL, resp->leaves[i].len, resp->leaves[i].data);
            Loopledger__V1__EntryBody *b = NULL;
            if (le && le->envelope)
                b = loopledger__v1__entry_body__unpack(NULL, le->envelope->payload.len,
                                                       le->envelope->payload.data);
            if (!b)
                lc_die("export: entry %zu of a page is not a valid LogEntry", i);
            uint64_t sup = i < resp->n_superseded_by ? resp->superseded_by[i] : 0;
            int status = i < resp->n_status ? (int)resp->status[i] : 0;
            if (as_of && sup >= as_of)
                sup = 0;
            if (observations) {
                observation_rows(&x, le, b, status, sup);
                rows += b->measurement ? b->measurement->n_observations : 0;
            } else {
                entry_row(&x, le, b, status, sup, (uint32_t)kind);
                rows++;
            }
            loopledger__v1__entry_body__free_unpacked(b, NULL);
            loopledger__v1__log_entry__free_unpacked(le, NULL);
        }
        free(token);
        if (!(token = strdup(resp->next_page_token)))
            lc_die("out of memory");
        loopledger__v1__list_entries_response__free_unpacked(resp, NULL);
    } while (token[0]);
    free(token);
    if (fflush(x.out) || ferror(x.out) || (outpath && fclose(x.out)))
        lc_die("export: write failed");
    fprintf(stderr, "loopctl: exported %" PRIu64 " %s\n", rows, observations ? "observations" : "entries");
    return 0;
}
