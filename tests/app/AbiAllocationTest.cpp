// The ABI path must not allocate per request: a servlet call crosses with views into host memory.
// This binary replaces operator new to count allocations, loads the hello sample and checks that,
// once warm, serving /hello through the ABI allocates nothing (host side and app side).
#include "app/AppLoader.h"
#include "core/Request.h"
#include "core/Response.h"
#include "support/TempDir.h"

#include <atomic>
#include <cstdlib>
#include <gtest/gtest.h>
#include <new>

namespace {
std::atomic<long> g_allocations{0};
} // namespace

#if !defined(__SANITIZE_ADDRESS__)
void* operator new(std::size_t size)
{
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size ? size : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept
{
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept
{
    std::free(p);
}
#endif

using namespace serval;

namespace {

core::Context& noContext()
{
    return *reinterpret_cast<core::Context*>(alignof(std::max_align_t));
}

TEST(AbiAllocationTest, WarmHelloRequestAllocatesNothing)
{
#if defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "operator new is AddressSanitizer's in this build";
#endif
    std::string lib = test::env("SERVAL_BUILD", SERVAL_BUILD_DIR) + "/bundles/hello/WEB-INF/lib/libhello.so";
    std::string error;
    auto module = app::loadAppModule(lib, "hello", error);
    ASSERT_NE(module, nullptr) << error;
    auto servlet = module->createServlet("hello.Hello", error);
    ASSERT_NE(servlet, nullptr) << error;
    core::ServletConfig config;
    config.name = "hello";
    servlet->init(config);

    http::HttpExchange exchange;
    exchange.request.method = "GET";
    exchange.request.path = "/hello/hello";
    core::Request request(exchange, noContext());
    core::Response response(exchange);
    auto serve = [&] {
        exchange.response.clear();
        EXPECT_TRUE(servlet->service(request, response).ok());
    };
    serve(); // warm: buffers reach their steady capacity
    serve();
    long before = g_allocations.load();
    ASSERT_GT(before, 0) << "the counting operator new is not in effect";
    for (int i = 0; i < 100; ++i)
        serve();
    long after = g_allocations.load();
    EXPECT_EQ(after - before, 0) << "allocations in 100 warm requests";
    EXPECT_EQ(exchange.response.body(), "Hello, World!");
    servlet->destroy();
}

} // namespace
