// getOriginalDst(fd): the destination a connection had before iptables REDIRECT/DNAT rewrote it,
// read from conntrack with getsockopt(SO_ORIGINAL_DST), as Envoy's original_dst listener filter does.
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <node_api.h>

// From linux/netfilter_ipv4.h and linux/netfilter_ipv6/ip6_tables.h, whose includes clash with
// netinet/in.h on some systems.
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

#define CHECK(env, call)                                     \
  do {                                                       \
    if ((call) != napi_ok) {                                 \
      napi_throw_error((env), NULL, "N-API call failed: " #call); \
      return NULL;                                           \
    }                                                        \
  } while (0)

static napi_value make_result(napi_env env, const char *address, int port, int family) {
  napi_value result, value;
  CHECK(env, napi_create_object(env, &result));
  CHECK(env, napi_create_string_utf8(env, address, NAPI_AUTO_LENGTH, &value));
  CHECK(env, napi_set_named_property(env, result, "address", value));
  CHECK(env, napi_create_int32(env, port, &value));
  CHECK(env, napi_set_named_property(env, result, "port", value));
  CHECK(env, napi_create_int32(env, family, &value));
  CHECK(env, napi_set_named_property(env, result, "family", value));
  return result;
}

static napi_value fail(napi_env env, int error) {
  // No conntrack entry, or no conntrack at all: there is no original destination to tell.
  if (error == ENOENT || error == ENOPROTOOPT) {
    napi_value null_value;
    CHECK(env, napi_get_null(env, &null_value));
    return null_value;
  }
  char message[160];
  snprintf(message, sizeof(message), "getOriginalDst: %s (errno %d)", strerror(error), error);
  napi_throw_error(env, "ERR_ORIGINAL_DST", message);
  return NULL;
}

static napi_value get_original_dst(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "getOriginalDst(fd): fd must be a non-negative integer");
    return NULL;
  }

  struct sockaddr_storage local;
  socklen_t length = sizeof(local);
  if (getsockname(fd, (struct sockaddr *)&local, &length) != 0) return fail(env, errno);

  // An IPv4 connection accepted on a dual-stack IPv6 socket is tracked by IPv4 conntrack.
  int ipv4 = local.ss_family == AF_INET ||
             (local.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&local)->sin6_addr));
  char text[INET6_ADDRSTRLEN];
  if (ipv4) {
    struct sockaddr_in original;
    length = sizeof(original);
    if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &original, &length) != 0) return fail(env, errno);
    inet_ntop(AF_INET, &original.sin_addr, text, sizeof(text));
    return make_result(env, text, ntohs(original.sin_port), 4);
  }
  if (local.ss_family == AF_INET6) {
    struct sockaddr_in6 original;
    length = sizeof(original);
    if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &original, &length) != 0) return fail(env, errno);
    inet_ntop(AF_INET6, &original.sin6_addr, text, sizeof(text));
    return make_result(env, text, ntohs(original.sin6_port), 6);
  }
  napi_value null_value;
  CHECK(env, napi_get_null(env, &null_value));
  return null_value;
}

NAPI_MODULE_INIT() {
  napi_value function;
  CHECK(env, napi_create_function(env, "getOriginalDst", NAPI_AUTO_LENGTH, get_original_dst, NULL, &function));
  CHECK(env, napi_set_named_property(env, exports, "getOriginalDst", function));
  return exports;
}
