/*
 * ll_accept: connection caps by interposing accept4 (ll_accept.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ll_accept.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ll_err.h"
#include "ll_peers.h"

typedef int (*accept4_fn)(int, struct sockaddr *, socklen_t *, int);

typedef struct conn {
    ino_t ino;      /* 0: slot unused */
    char addr[48];  /* source address, the per-address key */
    char peer[64];  /* gRPC's notation, "ipv4:a.b.c.d:port" */
} conn_t;

static struct {
    pthread_mutex_t lock;
    int port; /* 0: not limiting */
    unsigned total, per_addr, open;
    unsigned long refused;
    ll_peers_t *addrs;
    conn_t *conns; /* indexed by descriptor */
    size_t nconns;
} acc = {.lock = PTHREAD_MUTEX_INITIALIZER};

static accept4_fn libc_accept4;

static void resolve_accept4(void)
{
    libc_accept4 = (accept4_fn)dlsym(RTLD_NEXT, "accept4");
}

static ino_t fd_inode(int fd)
{
    struct stat sb;
    return fstat(fd, &sb) ? 0 : sb.st_ino;
}

/* Forgets slot fd (lock held). */
static void conn_forget(int fd)
{
    conn_t *c = &acc.conns[fd];
    if (!c->ino)
        return;
    ll_peers_release(acc.addrs, c->addr, strlen(c->addr));
    c->ino = 0;
    acc.open--;
}

/* Forgets every connection whose descriptor no longer names its socket
 * (lock held): gRPC closed it, and the number may even be reused. */
static void conn_sweep(void)
{
    for (size_t fd = 0; fd < acc.nconns; fd++)
        if (acc.conns[fd].ino && fd_inode((int)fd) != acc.conns[fd].ino)
            conn_forget((int)fd);
}

static int conn_grow(int fd)
{
    if ((size_t)fd < acc.nconns)
        return 0;
    size_t n = acc.nconns ? acc.nconns : 256;
    while (n <= (size_t)fd)
        n *= 2;
    conn_t *t = realloc(acc.conns, n * sizeof *t);
    if (!t)
        return -1;
    memset(t + acc.nconns, 0, (n - acc.nconns) * sizeof *t);
    acc.conns = t;
    acc.nconns = n;
    return 0;
}

static void names(const struct sockaddr_storage *ss, char *addr, size_t acap, char *peer,
                  size_t pcap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        port = ntohs(in->sin_port);
        snprintf(peer, pcap, "ipv4:%s:%u", ip, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        port = ntohs(in6->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            /* gRPC names a mapped IPv4 peer as IPv4; so does the key. */
            inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], ip, sizeof ip);
            snprintf(peer, pcap, "ipv4:%s:%u", ip, port);
        } else {
            inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
            snprintf(peer, pcap, "ipv6:[%s]:%u", ip, port);
        }
    } else {
        snprintf(peer, pcap, "unix:");
    }
    snprintf(addr, acap, "%s", ip);
}

static int local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len))
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

/* Decides on a freshly accepted socket (lock held): 1 keep, 0 refuse. */
static int admit(int fd, const struct sockaddr_storage *ss)
{
    char addr[48], peer[64];
    names(ss, addr, sizeof addr, peer, sizeof peer);
    if (conn_grow(fd))
        return 0;
    /* A number gRPC closed and the kernel handed out again. */
    conn_forget(fd);
    unsigned n = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (acc.open < acc.total) {
            int got = ll_peers_acquire(acc.addrs, addr, strlen(addr), acc.per_addr, &n, NULL);
            if (got == 1)
                goto keep;
            if (got < 0)
                return 0;
        }
        if (pass == 0)
            conn_sweep(); /* the counts may include closed connections */
    }
    return 0;
keep:;
    conn_t *c = &acc.conns[fd];
    c->ino = fd_inode(fd);
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    acc.open++;
    return 1;
}

int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, resolve_accept4);
    if (!libc_accept4) {
        errno = ENOSYS;
        return -1;
    }
    int port = __atomic_load_n(&acc.port, __ATOMIC_ACQUIRE);
    if (!port || local_port(fd) != port)
        return libc_accept4(fd, addr, addrlen, flags);
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int s = libc_accept4(fd, (struct sockaddr *)&ss, &len, flags);
        if (s < 0)
            return s; /* EAGAIN included: the caller waits for the next */
        pthread_mutex_lock(&acc.lock);
        int keep = !acc.port || admit(s, &ss);
        if (!keep)
            acc.refused++;
        pthread_mutex_unlock(&acc.lock);
        if (keep) {
            if (addr && addrlen) {
                memcpy(addr, &ss, len < *addrlen ? len : *addrlen);
                *addrlen = len;
            }
            return s;
        }
        /* Over a cap: closed before a byte is read or a buffer allocated. */
        close(s);
    }
}

int ll_accept_limit(int port, unsigned total, unsigned per_addr)
{
    int rc = LL_OK;
    pthread_mutex_lock(&acc.lock);
    if (!acc.addrs && ll_peers_create(&acc.addrs)) {
        rc = LL_ERR_NOMEM;
        goto out;
    }
    acc.total = total ? total : LL_ACCEPT_DEFAULT_TOTAL;
    acc.per_addr = per_addr ? per_addr : LL_ACCEPT_DEFAULT_PER_ADDR;
    __atomic_store_n(&acc.port, port, __ATOMIC_RELEASE);
out:
    pthread_mutex_unlock(&acc.lock);
    return rc;
}

void ll_accept_unlimit(void)
{
    pthread_mutex_lock(&acc.lock);
    __atomic_store_n(&acc.port, 0, __ATOMIC_RELEASE);
    for (size_t fd = 0; fd < acc.nconns; fd++)
        conn_forget((int)fd);
    free(acc.conns);
    acc.conns = NULL;
    acc.nconns = 0;
    ll_peers_free(acc.addrs);
    acc.addrs = NULL;
    pthread_mutex_unlock(&acc.lock);
}

int ll_accept_drop_peer(const char *grpc_peer)
{
    int found = 0;
    pthread_mutex_lock(&acc.lock);
    for (size_t fd = 0; fd < acc.nconns && !found; fd++) {
        conn_t *c = &acc.conns[fd];
        if (c->ino && !strcmp(c->peer, grpc_peer) && fd_inode((int)fd) == c->ino) {
            shutdown((int)fd, SHUT_RDWR);
            found = 1;
        }
    }
    pthread_mutex_unlock(&acc.lock);
    return found;
}

unsigned ll_accept_open(void)
{
    pthread_mutex_lock(&acc.lock);
    unsigned n = acc.open;
    pthread_mutex_unlock(&acc.lock);
    return n;
}

unsigned long ll_accept_refused(void)
{
    pthread_mutex_lock(&acc.lock);
    unsigned long n = acc.refused;
    pthread_mutex_unlock(&acc.lock);
    return n;
}
