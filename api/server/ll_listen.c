/* ll_listen: resolve-then-check of listen addresses, file limits (ll_listen.h). */
#include "ll_listen.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "ll_err.h"

static int is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return 0;
}

static void numeric(const struct sockaddr *sa, char *host, size_t cap)
{
    const void *a = sa->sa_family == AF_INET
                        ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
                        : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (!inet_ntop(sa->sa_family, a, host, (socklen_t)cap))
        snprintf(host, cap, "?");
}

int ll_listen_loopback(const char *listen, char *out, size_t cap, char *msg, size_t mcap)
{
    char host[256], port[16], ip[INET6_ADDRSTRLEN];
    const char *p = listen, *colon;
    struct addrinfo hints, *res = NULL;
    size_t hl;
    int rc;

    if (!strncmp(p, "ipv4:", 5) || !strncmp(p, "ipv6:", 5))
        p += 5;
    if (*p == '[') {
        const char *end = strchr(p, ']');
        if (!end || end[1] != ':')
            goto bad;
        hl = (size_t)(end - p - 1);
        p++;
        colon = end + 1;
    } else {
        if (!(colon = strrchr(p, ':')))
            goto bad;
        hl = (size_t)(colon - p);
    }
    if (hl == 0 || hl >= sizeof host || strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof port ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1))
        goto bad;
    memcpy(host, p, hl);
    host[hl] = 0;
    snprintf(port, sizeof port, "%s", colon + 1);

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if ((rc = getaddrinfo(host, port, &hints, &res)) || !res) {
        snprintf(msg, mcap, "cannot resolve listen address %s: %s", listen, gai_strerror(rc));
        return LL_ERR_INVALID;
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (!is_loopback(ai->ai_addr)) {
            numeric(ai->ai_addr, ip, sizeof ip);
            snprintf(msg, mcap, "listen address %s resolves to %s, which is not a loopback address",
                     listen, ip);
            freeaddrinfo(res);
            return LL_ERR_PERMISSION;
        }
    }
    numeric(res->ai_addr, ip, sizeof ip);
    snprintf(out, cap, res->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", ip, port);
    freeaddrinfo(res);
    return LL_OK;
bad:
    snprintf(msg, mcap, "listen address %s is not HOST:PORT", listen);
    return LL_ERR_INVALID;
}

int ll_listen_raise_nofile(unsigned long *now)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl))
        return LL_ERR_IO;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl))
            return LL_ERR_IO;
    }
    *now = (unsigned long)rl.rlim_cur;
    return LL_OK;
}
