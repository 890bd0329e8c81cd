/*
 * ll_client: synchronous gRPC core client (ll_client.h). One completion
 * queue per call, drained with pluck, keeps the code linear.
 */
#include "ll_client.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ll_err.h"

struct ll_client {
    grpc_channel *ch;
};

static int open_with(const char *target, grpc_channel_credentials *creds, ll_client_t **out)
{
    ll_client_t *c = calloc(1, sizeof *c);
    if (!c) {
        grpc_channel_credentials_release(creds);
        return LL_ERR_NOMEM;
    }
    grpc_init();
    grpc_arg args[2];
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = 64 << 20;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
    args[1].value.integer = 64 << 20;
    grpc_channel_args cargs = {2, args};
    c->ch = grpc_channel_create(target, creds, &cargs);
    grpc_channel_credentials_release(creds);
    if (!c->ch) {
        free(c);
        grpc_shutdown();
        return LL_ERR_INVALID;
    }
    *out = c;
    return LL_OK;
}

int ll_client_open(const char *target, ll_client_t **out)
{
    return open_with(target, grpc_insecure_credentials_create(), out);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n < (1 << 20) &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = calloc(1, (size_t)n + 1)) &&
        fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

int ll_client_open_tls(const char *target, const char *ca_file, const char *cert_file,
                       const char *key_file, ll_client_t **out)
{
    char *ca = slurp(ca_file), *cert = slurp(cert_file), *key = slurp(key_file);
    int err = LL_ERR_IO;
    if (ca && cert && key) {
        grpc_ssl_pem_key_cert_pair pair = {key, cert};
        grpc_channel_credentials *creds = grpc_ssl_credentials_create(ca, &pair, NULL, NULL);
        err = creds ? open_with(target, creds, out) : LL_ERR_INVALID;
    }
    if (key) {
        explicit_bzero(key, strlen(key));
        free(key);
    }
    free(cert);
    free(ca);
    return err;
}

void ll_client_close(ll_client_t *c)
{
    if (!c)
        return;
    grpc_channel_destroy(c->ch);
    free(c);
    grpc_shutdown();
}

void ll_reply_free(ll_reply_t *r)
{
    free(r->resp);
    r->resp = NULL;
    r->resp_len = 0;
}

static gpr_timespec deadline_ms(int ms)
{
    if (ms <= 0)
        return gpr_inf_future(GPR_CLOCK_REALTIME);
    return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
                        gpr_time_from_millis(ms, GPR_TIMESPAN));
}

static int take_message(grpc_byte_buffer *bb, uint8_t **out, size_t *len)
{
    grpc_byte_buffer_reader rd;
    if (!grpc_byte_buffer_reader_init(&rd, bb))
        return LL_ERR_INVALID;
    grpc_slice s = grpc_byte_buffer_reader_readall(&rd);
    grpc_byte_buffer_reader_destroy(&rd);
    size_t n = GRPC_SLICE_LENGTH(s);
    *out = malloc(n ? n : 1);
    if (!*out) {
        grpc_slice_unref(s);
        return LL_ERR_NOMEM;
    }
    memcpy(*out, GRPC_SLICE_START_PTR(s), n);
    *len = n;
    grpc_slice_unref(s);
    return LL_OK;
}

static void set_status(ll_reply_t *r, grpc_status_code code, grpc_slice details)
{
    r->code = code;
    size_t n = GRPC_SLICE_LENGTH(details);
    if (n >= sizeof r->message)
        n = sizeof r->message - 1;
    memcpy(r->message, GRPC_SLICE_START_PTR(details), n);
    r->message[n] = 0;
}

static int call_common(ll_client_t *c, const char *method, const uint8_t *req,
                       size_t len, int timeout_ms, int streaming,
                       ll_stream_fn on_msg, void *ctx, ll_reply_t *r)
{
    memset(r, 0, sizeof *r);
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_slice mslice = grpc_slice_from_static_string(method);
    gpr_timespec dl = deadline_ms(timeout_ms);
    grpc_call *call = grpc_channel_create_call(c->ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                               mslice, NULL, dl, NULL);
    grpc_metadata_array init_md, trail_md;
    grpc_metadata_array_init(&init_md);
    grpc_metadata_array_init(&trail_md);
    grpc_slice body = grpc_slice_from_copied_buffer((const char *)req, len);
    grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&body, 1);
    grpc_slice_unref(body);
    grpc_byte_buffer *recv = NULL;
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    int err = LL_OK;

    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    size_t n = 0;
    ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = send;
    ops[n++].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[n++].data.recv_initial_metadata.recv_initial_metadata = &init_md;
    void *tag1 = (void *)1, *tag2 = (void *)2, *tag3 = (void *)3;
    if (!streaming) {
        ops[n].op = GRPC_OP_RECV_MESSAGE;
        ops[n++].data.recv_message.recv_message = &recv;
        ops[n].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
        ops[n].data.recv_status_on_client.trailing_metadata = &trail_md;
        ops[n].data.recv_status_on_client.status = &status;
        ops[n++].data.recv_status_on_client.status_details = &details;
        grpc_call_start_batch(call, ops, n, tag1, NULL);
        grpc_completion_queue_pluck(cq, tag1, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (recv && status == GRPC_STATUS_OK)
            err = take_message(recv, &r->resp, &r->resp_len);
    } else {
        grpc_call_start_batch(call, ops, n, tag1, NULL);
        grpc_completion_queue_pluck(cq, tag1, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        grpc_op st = {0};
        st.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
        st.data.recv_status_on_client.trailing_metadata = &trail_md;
        st.data.recv_status_on_client.status = &status;
        st.data.recv_status_on_client.status_details = &details;
        grpc_call_start_batch(call, &st, 1, tag2, NULL);
        for (;;) {
            grpc_op rm = {0};
            rm.op = GRPC_OP_RECV_MESSAGE;
            rm.data.recv_message.recv_message = &recv;
            grpc_call_start_batch(call, &rm, 1, tag3, NULL);
            grpc_completion_queue_pluck(cq, tag3, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
            if (!recv)
                break; /* end of stream */
            uint8_t *m;
            size_t ml;
            err = take_message(recv, &m, &ml);
            grpc_byte_buffer_destroy(recv);
            recv = NULL;
            if (err)
                break;
            int stop = on_msg(ctx, m, ml);
            free(m);
            if (stop) {
                grpc_call_cancel(call, NULL);
                break;
            }
        }
        grpc_completion_queue_pluck(cq, tag2, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    }
    set_status(r, status, details);
    if (recv)
        grpc_byte_buffer_destroy(recv);
    grpc_byte_buffer_destroy(send);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&init_md);
    grpc_metadata_array_destroy(&trail_md);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
    return err;
}

int ll_client_unary(ll_client_t *c, const char *method, const uint8_t *req,
                    size_t len, int timeout_ms, ll_reply_t *r)
{
    return call_common(c, method, req, len, timeout_ms, 0, NULL, NULL, r);
}

int ll_client_stream(ll_client_t *c, const char *method, const uint8_t *req,
                     size_t len, int timeout_ms, ll_stream_fn on_msg, void *ctx,
                     ll_reply_t *r)
{
    return call_common(c, method, req, len, timeout_ms, 1, on_msg, ctx, r);
}
