/*
 * ll_reflection: gRPC server reflection (grpc.reflection.v1 and the older
 * grpc.reflection.v1alpha ServerReflection), so that grpcurl, evans,
 * Postman and the grpc-js reflection clients list and call loopledgerd's
 * services without the .proto files.
 *
 * The answers come from a FileDescriptorSet embedded at build time
 * (proto/CMakeLists.txt: protoc --descriptor_set_out --include_imports,
 * turned into ll_descriptor_set[] by proto/embed.cmake), so they describe
 * exactly the contract the binary was built from. The set is indexed once
 * at start (files, their imports, and the fully qualified names each file
 * declares: messages, nested messages, enums, services and methods); the
 * index only points into the embedded bytes.
 *
 * Answers: list_services gives the services the server serves (the names
 * of the method table, ll_methods.h, reflection included); file_by_filename and
 * file_containing_symbol give the file and its transitive imports, each
 * file once per answer; all_extension_numbers_of_type gives an empty list
 * for a known message (the contract declares no extensions);
 * file_containing_extension and unknown names get an error_response with
 * NOT_FOUND, and the stream goes on.
 */
#ifndef LL_REFLECTION_H
#define LL_REFLECTION_H

#include <stddef.h>
#include <stdint.h>

#include "ll_server.h"

typedef struct ll_reflection ll_reflection_t;

/* Indexes the serialized FileDescriptorSet set[len], which must outlive
 * the result (it is not copied), and the names of the services to list,
 * services[0 .. n) (borrowed too: static names). LL_ERR_INVALID if set is
 * not a descriptor set or lacks a listed service, LL_ERR_NOMEM. Caller
 * owns *out (ll_reflection_destroy). */
int ll_reflection_create(const uint8_t *set, size_t len, const char *const *services, size_t n,
                         ll_reflection_t **out);

/* The ServerReflectionInfo handler for both package names, registered as a
 * bidi method (ll_server_add_bidi_method) with svc = the ll_reflection_t,
 * which must outlive the server. */
void ll_reflection_info(ll_call_t *call, const uint8_t *req, size_t len, void *svc);

void ll_reflection_destroy(ll_reflection_t *r);

/* The descriptor set embedded into the binary (proto/embed.cmake). */
extern const unsigned char ll_descriptor_set[];
extern const size_t ll_descriptor_set_len;

#endif
