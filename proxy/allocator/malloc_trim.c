// releaseFreeMemory(): glibc's malloc_trim(0), which hands every whole free page in the malloc
// heaps back to the kernel. glibc itself only returns the top of a heap, so memory freed below a
// live allocation stays in the process; tcmalloc (Envoy's allocator) releases such pages itself.
// pinMmapThreshold(bytes): mallopt(M_MMAP_THRESHOLD), which also turns off glibc's habit of raising
// the threshold to the size of every mmapped chunk freed (up to 32 MiB), after which large chunks
// land in the heap among small live ones and stay there once freed.
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

static napi_value pin_mmap_threshold(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t bytes = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return NULL;
  if (napi_get_value_int32(env, argv[0], &bytes) != napi_ok) return NULL;
  int pinned = 0;
#if defined(__GLIBC__)
  pinned = bytes > 0 && mallopt(M_MMAP_THRESHOLD, bytes);
#endif
  napi_value result;
  if (napi_get_boolean(env, pinned != 0, &result) != napi_ok) return NULL;
  return result;
}

static int export_function(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value function;
  return napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &function) == napi_ok &&
         napi_set_named_property(env, exports, name, function) == napi_ok;
}

NAPI_MODULE_INIT() {
  if (!export_function(env, exports, "releaseFreeMemory", release_free_memory)) return NULL;
  if (!export_function(env, exports, "pinMmapThreshold", pin_mmap_threshold)) return NULL;
  return exports;
}
