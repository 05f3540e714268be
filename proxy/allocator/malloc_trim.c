// releaseFreeMemory(): glibc's malloc_trim(0), which hands every whole free page in the malloc
// heaps back to the kernel. glibc itself only returns the top of a heap, so memory freed below a
// live allocation stays in the process; tcmalloc (Envoy's allocator) releases such pages itself.
#include <node_api.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

static napi_value release_free_memory(napi_env env, napi_callback_info info) {
  (void)info;
  int released = 0;
#if defined(__GLIBC__)
  released = malloc_trim(0);
#endif
  napi_value result;
  if (napi_get_boolean(env, released != 0, &result) != napi_ok) return NULL;
  return result;
}

NAPI_MODULE_INIT() {
  napi_value function;
  if (napi_create_function(env, "releaseFreeMemory", NAPI_AUTO_LENGTH, release_free_memory, NULL, &function) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "releaseFreeMemory", function) != napi_ok) return NULL;
  return exports;
}
