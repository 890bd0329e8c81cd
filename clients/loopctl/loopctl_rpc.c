/*
 * loopctl_rpc: the one gRPC channel of this process and the unary calls
 * every command makes through it; arguments that only the server can
 * resolve (an --as-of time) live here too, so that loopctl_util stays free
 * of calls.
 *
 * Why exit instead of returning errors: see loopctl_util. A gRPC error
 * status exits 3 with "CODE: message", plus a hint when the server could
 * not be reached at all (no client certificate, or one it does not trust).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "ll_err.h"
#include "loopctl_rpc.h"
#include "loopctl_tls.h"
#include "loopctl_util.h"
#include "loopledger/v1/ledger.pb-c.h"

/* The one channel of this process, dialled on first use after
 * loopctl_tls's local checks. */
static ll_client_t *client;

ll_client_t *lc_client(void)
{
    if (!client && (lc_opts.ca || lc_opts.cert || lc_opts.key)) {
        lc_tls_check(lc_opts.ca, lc_opts.cert, lc_opts.key);
        if (ll_client_open_tls(lc_opts.server, lc_opts.ca, lc_opts.cert, lc_opts.key, &client))
            lc_die("cannot read the TLS files %s, %s, %s", lc_opts.ca, lc_opts.cert,
                   lc_opts.key);
    }
    if (!client && ll_client_open(lc_opts.server, &client))
        lc_die("cannot create a channel to %s", lc_opts.server);
    return client;
}

void lc_client_close(void)
{
    ll_client_close(client);
    client = NULL;
}

void lc_call(const char *method, const uint8_t *req, size_t len, ll_reply_t *r)
{
    if (ll_client_unary(lc_client(), method, req, len, lc_opts.timeout_ms, r))
        lc_die("%s: call failed", method);
    if (r->code != GRPC_STATUS_OK) {
        fprintf(stderr, "loopctl: %s: %s\n", lc_status_name(r->code), r->message);
        if (r->code == GRPC_STATUS_UNAVAILABLE && !lc_opts.cert)
            fprintf(stderr, "loopctl: no client certificate was presented; if %s serves mTLS, "
                            "set LOOPLEDGER_CA, LOOPLEDGER_CERT and LOOPLEDGER_KEY "
                            "(or --tls-ca, --tls-cert, --tls-key)\n",
                    lc_opts.server);
        else if (r->code == GRPC_STATUS_UNAVAILABLE)
            fprintf(stderr, "loopctl: %s refused or could not be reached over mTLS: is it running, "
                            "and does it trust the CA that issued %s?\n",
                    lc_opts.server, lc_opts.cert);
        exit(3);
    }
}

void *lc_rpc(const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *resp_desc)
{
    size_t n = protobuf_c_message_get_packed_size(req);
    uint8_t *buf = malloc(n ? n : 1);
    ll_reply_t r;
    if (!buf)
        lc_die("out of memory");
    protobuf_c_message_pack(req, buf);
    lc_call(method, buf, n, &r);
    free(buf);
    void *resp = protobuf_c_message_unpack(resp_desc, NULL, r.resp_len, r.resp);
    ll_reply_free(&r);
    if (!resp)
        lc_die("%s: malformed response", method);
    return resp;
}

/* Server time of entry seq (GetEntry). */
static int64_t entry_time(uint64_t seq)
{
    Loopledger__V1__GetEntryRequest req = LOOPLEDGER__V1__GET_ENTRY_REQUEST__INIT;
    req.seq = seq;
    Loopledger__V1__GetEntryResponse *r = lc_rpc("/loopledger.v1.LedgerService/GetEntry",
                                                 &req.base,
                                                 &loopledger__v1__get_entry_response__descriptor);
    Loopledger__V1__LogEntry *le = loopledger__v1__log_entry__unpack(NULL, r->leaf.len, r->leaf.data);
    if (!le)
        lc_die("entry %" PRIu64 " is not a valid LogEntry", seq);
    int64_t t = le->server_time_unix_nanos;
    loopledger__v1__log_entry__free_unpacked(le, NULL);
    loopledger__v1__get_entry_response__free_unpacked(r, NULL);
    return t;
}

uint64_t lc_parse_as_of(const char *s, const char *what)
{
    int digits = s[0] != 0;
    for (const char *p = s; *p; p++)
        digits &= *p >= '0' && *p <= '9';
    if (digits)
        return lc_parse_u64(s, what);
    int64_t t = lc_parse_time(s, what);
    Loopledger__V1__GetCheckpointRequest creq = LOOPLEDGER__V1__GET_CHECKPOINT_REQUEST__INIT;
    Loopledger__V1__GetCheckpointResponse *c = lc_rpc(
        "/loopledger.v1.LedgerService/GetCheckpoint", &creq.base,
        &loopledger__v1__get_checkpoint_response__descriptor);
    uint64_t n = c->tree_size;
    loopledger__v1__get_checkpoint_response__free_unpacked(c, NULL);
    /* Server time strictly increases with seq: binary search for the last
     * entry at or before t, O(log n) GetEntry calls. */
    uint64_t lo = 0, hi = n; /* entries [0, lo) are at or before t; [hi, n) after */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (entry_time(mid) <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) {
        char first[40];
        lc_format_time(n ? entry_time(0) : 0, first);
        lc_die("%s %s: the ledger has no entry at or before that time (its first is at %s)",
               what, s, first);
    }
    return lo; /* the size whose last entry is the one at or before t */
}
