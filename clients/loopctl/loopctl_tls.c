/*
 * loopctl_tls: local checks of the files loopctl is given, before any
 * dialling, so that a wrong file gets a message naming the variable or
 * flag to fix instead of gRPC's "Socket closed" or its internal log lines.
 *
 * What can be known locally is checked: each mTLS file given and readable,
 * the certificate and key parse as PEM, the key is the certificate's, the
 * certificate is within its validity period; the signing key (--key) is a
 * private key. Whether the server trusts the certificate's CA, or knows
 * its common name, only the server can say.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ll_err.h"
#include "loopctl_tls.h"
#include "loopctl_util.h"

static const char *const VAR[] = {"LOOPLEDGER_CA (or --tls-ca)", "LOOPLEDGER_CERT (or --tls-cert)",
                                  "LOOPLEDGER_KEY (or --tls-key)"};

static FILE *open_or_die(const char *path, int which)
{
    FILE *f = fopen(path, "r");
    if (!f)
        lc_die("%s is %s: %s; set it to a readable file", VAR[which], path, strerror(errno));
    return f;
}

static X509 *read_cert(const char *path, int which)
{
    FILE *f = open_or_die(path, which);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x)
        lc_die("%s is %s, which is not a PEM certificate", VAR[which], path);
    return x;
}

static void asn1_date(const ASN1_TIME *t, char out[32])
{
    struct tm tm;
    if (ASN1_TIME_to_tm(t, &tm) == 1)
        strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm);
    else
        snprintf(out, 32, "?");
}

void lc_tls_check(const char *ca, const char *cert, const char *key)
{
    const char *given[3] = {ca, cert, key};
    static const char *const what[] = {"the CA certificate that signed the server's certificate",
                                       "your client certificate (CN = your actor id)",
                                       "the private key of your client certificate"};
    for (int i = 0; i < 3; i++)
        if (!given[i] || !given[i][0])
            lc_die("mTLS needs %s: set %s (./ops/run makes them under var/tls/)", what[i], VAR[i]);
    X509_free(read_cert(ca, 0));
    X509 *x = read_cert(cert, 1);
    FILE *f = open_or_die(key, 2);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    char cn[128] = "?", when[32];
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
    if (!k)
        lc_die("%s is %s, which is not a PEM private key (a certificate or public key?); "
               "set it to the key of %s (CN=%s)",
               VAR[2], key, cert, cn);
    if (X509_check_private_key(x, k) != 1)
        lc_die("%s (%s) is not the private key of the certificate in %s (CN=%s); set them to a "
               "matching pair (var/tls/%s.crt and var/tls/%s.key)",
               VAR[2], key, VAR[1], cn, cn, cn);
    EVP_PKEY_free(k);
    if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0) {
        asn1_date(X509_get0_notAfter(x), when);
        lc_die("the certificate in %s (%s, CN=%s) expired on %s: issue a new one "
               "(ops/certs DIR %s) and set LOOPLEDGER_CERT and LOOPLEDGER_KEY to it",
               VAR[1], cert, cn, when, cn);
    }
    if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
        asn1_date(X509_get0_notBefore(x), when);
        lc_die("the certificate in %s (%s, CN=%s) is not valid before %s", VAR[1], cert, cn, when);
    }
    X509_free(x);
}

ll_key_t *lc_load_signing_key(const char *path)
{
    ll_key_t *key;
    int rc = ll_key_load(path, &key);
    if (rc == LL_OK)
        return key;
    FILE *f = fopen(path, "r");
    if (!f)
        lc_die("--key %s: %s; give the file of your Ed25519 signing key (loopctl keygen "
               "makes one)",
               path, strerror(errno));
    EVP_PKEY *pub = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    if (pub) {
        EVP_PKEY_free(pub);
        lc_die("--key %s is a public key: give the private key (the file without .pub)", path);
    }
    lc_die("--key %s is not a PEM Ed25519 private key (%s)", path, ll_strerror(rc));
}
