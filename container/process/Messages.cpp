#include "process/Messages.h"

#include "http/Token.h"
#include "process/Wire.h"

#include <cstring>

namespace serval::process {
namespace {

/// Sizes no honest peer exceeds: far above the connector's own limits.
constexpr uint32_t kMaxHeaders = 10000;

bool isSafeValue(std::string_view value) noexcept
{
    return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

} // namespace

void encodeRequestHead(const http::HttpRequest& request, int64_t bodyLength, std::string& out)
{
    out.clear();
    WireWriter w(out);
    w.u8(static_cast<uint8_t>(request.versionMajor));
    w.u8(static_cast<uint8_t>(request.versionMinor));
    w.u8(request.secure ? 1 : 0);
    w.u16(request.remotePort);
    w.u16(request.localPort);
    w.i64(bodyLength);
    w.text(request.method);
    w.text(request.target);
    w.text(request.path);
    w.text(request.query);
    w.text(request.remoteAddress);
    w.text(request.localAddress);
    w.u32(static_cast<uint32_t>(request.headers.size()));
    for (const http::Header& header : request.headers) {
        w.text(header.name);
        w.text(header.value);
    }
}

bool decodeRequestHead(std::string_view payload, http::HttpRequest& request, int64_t& bodyLength,
                       std::vector<http::Header>* spare)
{
    request.clear();
    WireReader r(payload);
    request.versionMajor = r.u8();
    request.versionMinor = r.u8();
    request.secure = r.u8() != 0;
    request.remotePort = r.u16();
    request.localPort = r.u16();
    bodyLength = r.i64();
    request.method.assign(r.text());
    request.target.assign(r.text());
    request.path.assign(r.text());
    request.query.assign(r.text());
    request.remoteAddress.assign(r.text());
    request.localAddress.assign(r.text());
    uint32_t count = r.u32();
    if (r.failed() || count > kMaxHeaders) return false;
    request.headers.reserve(count); // one allocation, exactly the size (a parked request keeps it)
    for (uint32_t i = 0; i < count && !r.failed(); ++i) {
        std::string_view name = r.text();
        std::string_view value = r.text();
        http::Header& h = spare != nullptr ? request.newHeader(*spare) : request.headers.emplace_back();
        h.name.assign(name);
        h.value.assign(value);
    }
    return r.complete() && bodyLength >= -1;
}

void encodeResponseHead(const http::HttpResponse& response, int64_t contentLength, std::string& out)
{
    out.clear();
    WireWriter w(out);
    w.u16(static_cast<uint16_t>(response.status()));
    w.u8(response.closeConnection() ? 1 : 0);
    w.i64(contentLength);
    w.u32(static_cast<uint32_t>(response.headers().size()));
    for (const http::Header& header : response.headers()) {
        w.text(header.name);
        w.text(header.value);
    }
}

bool decodeResponseHead(std::string_view payload, ResponseHead& head)
{
    WireReader r(payload);
    head.status = r.u16();
    head.closeConnection = r.u8() != 0;
    head.contentLength = r.i64();
    uint32_t count = r.u32();
    if (r.failed() || count > kMaxHeaders || head.status < 100 || head.status > 999 ||
        head.contentLength < -1)
        return false;
    // The fields already in `head` are assigned over (a lane decodes every response into the
    // same ResponseHead): their strings' capacity is reused, so a steady stream of heads
    // allocates nothing.
    size_t kept = head.headers.size();
    for (uint32_t i = 0; i < count; ++i) {
        std::string_view name = r.text();
        std::string_view value = r.text();
        if (r.failed() || !http::isToken(name) || !isSafeValue(value)) return false;
        if (i < kept) {
            head.headers[i].name.assign(name);
            head.headers[i].value.assign(value);
        } else {
            head.headers.push_back(http::Header{std::string(name), std::string(value)});
        }
    }
    if (count < kept) head.headers.resize(count);
    return r.complete();
}

std::string_view encodeCredit(uint32_t bytes, char (&buffer)[4]) noexcept
{
    std::memcpy(buffer, &bytes, sizeof bytes);
    return std::string_view(buffer, sizeof buffer);
}

namespace {

/// SessionStoreStats as the wire carries it: every counter, in this order.
template <typename Stats, typename Visit> void forEachSessionCounter(Stats& s, Visit visit)
{
    for (auto* counter :
         {&s.commits, &s.failedCommits, &s.transactions, &s.commitMicrosSum, &s.commitMicrosMax, &s.loads,
          &s.loadMicrosSum, &s.created, &s.invalidated, &s.expired, &s.touchesWritten})
        visit(*counter);
}

} // namespace

std::string encodeDataSourceStats(uint64_t sequence, const NamedDataSourceStats& stats,
                                  const NamedSessionStoreStats& sessionStores)
{
    std::string out;
    WireWriter w(out);
    w.u64(sequence);
    w.u32(static_cast<uint32_t>(stats.size()));
    for (const auto& [name, s] : stats) {
        w.text(name);
        w.u32(s.open);
        w.u32(s.inUse);
        w.u32(s.waiting);
        for (uint64_t counter : {s.acquires, s.waits, s.timeouts, s.connectFailures, s.opened, s.discarded,
                                 s.errors, s.queries, s.queryNanos})
            w.u64(counter);
        for (uint64_t bucket : s.latencyBuckets)
            w.u64(bucket);
    }
    w.u32(static_cast<uint32_t>(sessionStores.size()));
    for (const auto& [store, s] : sessionStores) {
        w.text(store);
        forEachSessionCounter(s, [&w](uint64_t counter) { w.u64(counter); });
    }
    return out;
}

bool decodeDataSourceStats(std::string_view payload, uint64_t& sequence, NamedDataSourceStats& stats,
                           NamedSessionStoreStats* sessionStores)
{
    WireReader r(payload);
    sequence = r.u64();
    uint32_t count = r.u32();
    if (count > 256) return false; // more than a web.xml declares
    stats.clear();
    for (uint32_t i = 0; i < count && !r.failed(); ++i) {
        datasource::DataSourceStatsSnapshot s;
        std::string name(r.text());
        s.open = r.u32();
        s.inUse = r.u32();
        s.waiting = r.u32();
        for (uint64_t* counter : {&s.acquires, &s.waits, &s.timeouts, &s.connectFailures, &s.opened,
                                  &s.discarded, &s.errors, &s.queries, &s.queryNanos})
            *counter = r.u64();
        for (uint64_t& bucket : s.latencyBuckets)
            bucket = r.u64();
        stats.emplace_back(std::move(name), s);
    }
    uint32_t stores = r.u32();
    if (stores > 256) return false; // a worker opens one store per Host
    if (sessionStores != nullptr) sessionStores->clear();
    for (uint32_t i = 0; i < stores && !r.failed(); ++i) {
        std::string store(r.text());
        session::SessionStoreStats s;
        forEachSessionCounter(s, [&r](uint64_t& counter) { counter = r.u64(); });
        if (sessionStores != nullptr) sessionStores->emplace_back(std::move(store), s);
    }
    return r.complete();
}

bool decodeCredit(std::string_view payload, uint32_t& bytes) noexcept
{
    WireReader r(payload);
    bytes = r.u32();
    return r.complete();
}

} // namespace serval::process
