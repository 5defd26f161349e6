/* Compile-only check: serval/abi.h is pure C11 (-std=c11 -pedantic -Wall -Wextra -Werror), and the
 * frozen value types have the layout the ABI promises. */
#include <serval/abi.h>

_Static_assert(sizeof(serval_str_t) == sizeof(const char*) + sizeof(size_t), "serval_str_t is {ptr, len}");
_Static_assert(sizeof(serval_pair_t) == 2 * sizeof(serval_str_t), "serval_pair_t is two strings");
_Static_assert(offsetof(serval_app_t, struct_size) == 0, "struct_size comes first");
_Static_assert(offsetof(serval_host_api_t, struct_size) == 0, "struct_size comes first");
_Static_assert(offsetof(serval_servlet_class_t, abi_minor) == 6, "version header layout");
_Static_assert(sizeof(serval_status_t) == 4, "status codes are 32-bit");

/* A C app can define the entry with the exact prototype from the header. */
serval_status_t serval_app_init_v1(const serval_host_api_t* host, const serval_app_t** out_app)
{
    (void)host;
    *out_app = NULL;
    return SERVAL_HAS_MEMBER(host, serval_host_api_t, context_log) ? SERVAL_OK : SERVAL_UNSUPPORTED;
}
