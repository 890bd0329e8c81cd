/*
 * loopctl_tls: local checks of the key and certificate files loopctl is
 * given, before any dialling, so that a wrong file gets a message naming
 * the variable or flag to fix. Uses loopctl_util only.
 */
#ifndef LOOPCTL_TLS_H
#define LOOPCTL_TLS_H

#include "ll_crypto.h"

/* Checks the mTLS files before dialling (given, readable, PEM, key matches
 * certificate, certificate within its validity); exits with a message
 * naming the variable or flag to set otherwise. */
void lc_tls_check(const char *ca, const char *cert, const char *key);
/* Loads the signing key of --key; exits with a precise message when the
 * file is missing, unreadable, a public key or not a private key. The
 * caller frees it with ll_key_free. */
ll_key_t *lc_load_signing_key(const char *path);

#endif
