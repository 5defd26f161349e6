/* The "hello-c" sample: the hello app in C11 against serval/abi.h alone (no C++ layer).
 *
 *   /hello  -> "Hello, World!" (text/plain)
 *   /json   -> {"greeting":"<init-param greeting>, <name>!","servlet":"json","context":"/hello-c"}
 *   filter helloc.HeaderFilter adds X-Hello-Filter: <init-param value>
 *
 * THREADS: on_service and on_do_filter run on many threads at once; instances are written only in
 * on_init (control thread) and read afterwards. */
#include <serval/abi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const serval_host_api_t* host;

#define LIT(s) ((serval_str_t){(s), sizeof(s) - 1})

static serval_status_t fail(const char* message)
{
    host->set_error((serval_str_t){message, strlen(message)});
    return SERVAL_ERROR;
}

/* ---- hello.Hello ---- */

static serval_status_t hello_create(void* class_data, void** out)
{
    static int instance; /* stateless: any non-NULL pointer will do */
    (void)class_data;
    *out = &instance;
    return SERVAL_OK;
}

static serval_status_t hello_service(void* instance, serval_request_t* request, serval_response_t* response)
{
    serval_str_t method;
    (void)instance;
    host->request_str(request, SERVAL_REQ_METHOD, &method);
    if (!(method.len == 3 && memcmp(method.ptr, "GET", 3) == 0) &&
        !(method.len == 4 && memcmp(method.ptr, "HEAD", 4) == 0)) {
        host->response_set_status(response, 405);
        host->response_set_header(response, LIT("Allow"), LIT("GET, HEAD"));
        return SERVAL_OK;
    }
    host->response_set_content_type(response, LIT("text/plain"));
    return host->response_write(response, "Hello, World!", 13);
}

static serval_status_t hello_destroy(void* instance)
{
    (void)instance;
    return SERVAL_OK;
}

static const serval_servlet_class_t hello_class = {.struct_size = sizeof(serval_servlet_class_t),
                                                   .abi_major = SERVAL_ABI_MAJOR,
                                                   .abi_minor = SERVAL_ABI_MINOR,
                                                   .name = {"helloc.Hello", 12},
                                                   .on_create = hello_create,
                                                   .on_service = hello_service,
                                                   .on_destroy = hello_destroy};

/* ---- hello.Json ---- */

typedef struct json_servlet
{
    char greeting[128];
    char name[64];
} json_servlet;

static serval_status_t json_create(void* class_data, void** out)
{
    json_servlet* self = calloc(1, sizeof *self);
    (void)class_data;
    if (self == NULL) return fail("out of memory");
    *out = self;
    return SERVAL_OK;
}

static void copy_str(char* dst, size_t capacity, serval_str_t src)
{
    size_t n = src.len < capacity - 1 ? src.len : capacity - 1;
    if (n > 0) memcpy(dst, src.ptr, n);
    dst[n] = '\0';
}

static serval_status_t json_init(void* instance, serval_config_t* config)
{
    json_servlet* self = instance;
    serval_str_t value;
    if (host->config_init_parameter(config, LIT("greeting"), &value) == SERVAL_OK) {
        copy_str(self->greeting, sizeof self->greeting, value);
    } else {
        copy_str(self->greeting, sizeof self->greeting, LIT("Hello"));
    }
    host->config_name(config, &value);
    copy_str(self->name, sizeof self->name, value);
    return SERVAL_OK;
}

/* Appends `s` JSON-escaped to buf (bounded); returns the new length. */
static size_t append_escaped(char* buf, size_t len, size_t capacity, serval_str_t s)
{
    size_t i;
    for (i = 0; i < s.len && len + 7 < capacity; ++i) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c == '"' || c == '\\') {
            buf[len++] = '\\';
            buf[len++] = (char)c;
        } else if (c < 0x20) {
            len += (size_t)snprintf(buf + len, capacity - len, "\\u%04x", c);
        } else {
            buf[len++] = (char)c;
        }
    }
    return len;
}

static size_t append_raw(char* buf, size_t len, size_t capacity, const char* s)
{
    size_t n = strlen(s);
    if (len + n >= capacity) n = capacity - len - 1;
    memcpy(buf + len, s, n);
    return len + n;
}

static serval_status_t json_service(void* instance, serval_request_t* request, serval_response_t* response)
{
    const json_servlet* self = instance;
    serval_str_t name = LIT("World");
    serval_str_t context = {NULL, 0};
    char body[1024];
    size_t len = 0;

    host->request_parameter(request, LIT("name"), &name);
    host->request_str(request, SERVAL_REQ_CONTEXT_PATH, &context);

    len = append_raw(body, len, sizeof body, "{\"greeting\":\"");
    len = append_escaped(body, len, sizeof body, (serval_str_t){self->greeting, strlen(self->greeting)});
    len = append_raw(body, len, sizeof body, ", ");
    len = append_escaped(body, len, sizeof body, name);
    len = append_raw(body, len, sizeof body, "!\",\"servlet\":\"");
    len = append_escaped(body, len, sizeof body, (serval_str_t){self->name, strlen(self->name)});
    len = append_raw(body, len, sizeof body, "\",\"context\":\"");
    len = append_escaped(body, len, sizeof body, context);
    len = append_raw(body, len, sizeof body, "\"}");

    host->response_set_content_type(response, LIT("application/json"));
    return host->response_write(response, body, len);
}

static serval_status_t json_destroy(void* instance)
{
    free(instance);
    return SERVAL_OK;
}

static const serval_servlet_class_t json_class = {.struct_size = sizeof(serval_servlet_class_t),
                                                  .abi_major = SERVAL_ABI_MAJOR,
                                                  .abi_minor = SERVAL_ABI_MINOR,
                                                  .name = {"helloc.Json", 11},
                                                  .on_create = json_create,
                                                  .on_init = json_init,
                                                  .on_service = json_service,
                                                  .on_destroy = json_destroy};

/* ---- hello.HeaderFilter ---- */

typedef struct header_filter
{
    char value[128];
} header_filter;

static serval_status_t filter_create(void* class_data, void** out)
{
    header_filter* self = calloc(1, sizeof *self);
    (void)class_data;
    if (self == NULL) return fail("out of memory");
    *out = self;
    return SERVAL_OK;
}

static serval_status_t filter_init(void* instance, serval_config_t* config)
{
    header_filter* self = instance;
    serval_str_t value = LIT("on");
    host->config_init_parameter(config, LIT("value"), &value);
    copy_str(self->value, sizeof self->value, value);
    return SERVAL_OK;
}

static serval_status_t filter_do(void* instance, serval_request_t* request, serval_response_t* response,
                                 serval_chain_t* chain)
{
    const header_filter* self = instance;
    host->response_set_header(response, LIT("X-Hello-Filter"),
                              (serval_str_t){self->value, strlen(self->value)});
    return host->chain_do_filter(chain, request, response);
}

static const serval_filter_class_t header_filter_class = {.struct_size = sizeof(serval_filter_class_t),
                                                          .abi_major = SERVAL_ABI_MAJOR,
                                                          .abi_minor = SERVAL_ABI_MINOR,
                                                          .name = {"helloc.HeaderFilter", 19},
                                                          .on_create = filter_create,
                                                          .on_init = filter_init,
                                                          .on_do_filter = filter_do,
                                                          .on_destroy = json_destroy};

/* ---- the app ---- */

static const serval_servlet_class_t* const servlets[] = {&hello_class, &json_class};
static const serval_filter_class_t* const filters[] = {&header_filter_class};

static const serval_app_t app = {sizeof(serval_app_t),
                                 SERVAL_ABI_MAJOR,
                                 SERVAL_ABI_MINOR,
                                 {"hello-c", 7},
                                 NULL,
                                 NULL,
                                 NULL,
                                 servlets,
                                 2,
                                 filters,
                                 1,
                                 NULL,
                                 0};

serval_status_t serval_app_init_v1(const serval_host_api_t* h, const serval_app_t** out_app)
{
    host = h;
    *out_app = &app;
    return SERVAL_OK;
}
