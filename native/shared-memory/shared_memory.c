/*
 * Memory shared between the proxy's processes: the primary creates an anonymous memory file
 * (memfd) and maps it; each worker maps the same file through /proc/<primary>/fd/<fd>. JavaScript
 * sees the mapping as an ArrayBuffer, so counters in it cost a typed-array read or write, no IPC.
 * Linux only (memfd_create); Node-API, so it builds against node's own headers without network.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void throw_errno(napi_env env, const char* what) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(errno));
  napi_throw_error(env, NULL, message);
}

static void unmap(napi_env env, void* data, void* hint) {
  (void)env;
  munmap(data, (size_t)(uintptr_t)hint);
}

/* Maps `size` bytes of `fd` shared and wraps them in an ArrayBuffer that unmaps when collected. */
static napi_value map_fd(napi_env env, int fd, size_t size) {
  void* p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    throw_errno(env, "mmap");
    return NULL;
  }
  napi_value buffer;
  if (napi_create_external_arraybuffer(env, p, size, unmap, (void*)(uintptr_t)size, &buffer) != napi_ok) {
    munmap(p, size);
    napi_throw_error(env, NULL, "napi_create_external_arraybuffer failed");
    return NULL;
  }
  return buffer;
}

static int read_size(napi_env env, napi_value value, size_t* size) {
  int64_t n;
  if (napi_get_value_int64(env, value, &n) != napi_ok || n <= 0 || n > (int64_t)1 << 32) {
    napi_throw_range_error(env, NULL, "size must be between 1 byte and 4 GiB");
    return 0;
  }
  *size = (size_t)n;
  return 1;
}

/* create(size) -> { fd, buffer }: a zero-filled memory file of `size` bytes, kept open (its fd is how workers find it). */
static napi_value create(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  size_t size;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || !read_size(env, argv[0], &size)) return NULL;
  int fd = memfd_create("bulwark-shared", MFD_CLOEXEC);
  if (fd < 0) {
    throw_errno(env, "memfd_create");
    return NULL;
  }
  if (ftruncate(fd, (off_t)size) != 0) {
    throw_errno(env, "ftruncate");
    close(fd);
    return NULL;
  }
  napi_value buffer = map_fd(env, fd, size);
  if (buffer == NULL) {
    close(fd);
    return NULL;
  }
  napi_value result, fd_value;
  napi_create_object(env, &result);
  napi_create_int32(env, fd, &fd_value);
  napi_set_named_property(env, result, "fd", fd_value);
  napi_set_named_property(env, result, "buffer", buffer);
  return result;
}

/* open(path, size) -> buffer: maps a memory file another process created (by its /proc path). */
static napi_value open_path(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  size_t size, length;
  char path[512];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) return NULL;
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &length) != napi_ok || length >= sizeof path - 1) {
    napi_throw_type_error(env, NULL, "path must be a string shorter than 511 bytes");
    return NULL;
  }
  if (!read_size(env, argv[1], &size)) return NULL;
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    throw_errno(env, "open");
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || (size_t)st.st_size < size) {
    close(fd);
    napi_throw_error(env, NULL, "shared memory file is smaller than asked");
    return NULL;
  }
  napi_value buffer = map_fd(env, fd, size);
  close(fd);
  return buffer;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "create", NAPI_AUTO_LENGTH, create, NULL, &fn);
  napi_set_named_property(env, exports, "create", fn);
  napi_create_function(env, "open", NAPI_AUTO_LENGTH, open_path, NULL, &fn);
  napi_set_named_property(env, exports, "open", fn);
  return exports;
}
