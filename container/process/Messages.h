#pragma once

#include "datasource/DataSourceStats.h"
#include "http/HttpRequest.h"
#include "http/HttpResponse.h"
#include "session/SessionStore.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace serval::process {

/// What a record in a channel ring carries (RecordHeader::type). Server -> worker in the
/// request ring, worker -> server in the response ring; a type read from the wrong ring is
/// corrupt.
enum class RecordType : uint16_t
{
    // request ring (server -> worker)
    RequestHead = 1,    ///< encodeRequestHead(); kEndStream if there is no body
    RequestBody = 2,    ///< body bytes; kEndStream on the last
    Cancel = 3,         ///< the server gave up on the stream (payload: u8 CancelReason)
    ResponseCredit = 4, ///< the worker may send u32 more response body bytes on the stream
                        // response ring (worker -> server)
    ResponseHead = 16,  ///< encodeResponseHead(); kEndStream if there is no body
    ResponseBody = 17,  ///< body bytes; kEndStream on the last
    RequestCredit = 18, ///< the server may send u32 more request body bytes on the stream
    AsyncStarted = 19,  ///< the app made the response async (startAsync): it may take as long as it
                        ///< likes (no requestTimeout) and a crash fails it (502), never replays it
    ResponseAbort = 20, ///< the worker gave up a response whose head went out (its hard cap):
                        ///< the server cuts the client's connection
    Irrevocable = 21,   ///< the request is making a change that must not happen twice (its
                        ///< session write is being committed): a crash fails it (502), never
                        ///< replays it; the deadline still applies
};

/// RecordHeader::flags.
constexpr uint16_t kEndStream = 1;
/// On an upgraded stream's ResponseBody: the bytes of one write() of the app's protocol handler
/// end here (a WebSocket frame boundary: the server may add a close frame of its own after it).
constexpr uint16_t kWriteEnd = 2;

/// Why the server cancelled a stream (RecordType::Cancel).
enum class CancelReason : uint8_t
{
    ClientGone = 1,
    Timeout = 2, ///< requestTimeout passed: the worker captures the serving thread's stack
    /// Not an end: the server drains (its connector stops). An upgraded stream's handler says
    /// goodbye (UpgradeHandler::onDrain: a WebSocket's close 1001) and ends the stream itself;
    /// other streams ignore it.
    GoingAway = 3,
    /// Not an end either: the worker is being retired (the old version of a redeploy, an
    /// undeploy, a recycle) and this upgraded stream would hold its drain: the worker closes
    /// its app's WebSockets with 1001 "the application is stopping".
    Retiring = 4,
};

/// Per-stream flow control: each side may have this many body bytes of one stream in flight
/// before the peer grants more, so one large body can neither fill a ring (the other streams
/// keep moving) nor make the peer buffer without bound.
constexpr uint32_t kStreamWindow = 256 * 1024;
/// Body records are cut to at most this many bytes.
constexpr uint32_t kBodyChunk = 16 * 1024;

/// What the server forwards of a request head.
void encodeRequestHead(const http::HttpRequest& request, int64_t bodyLength, std::string& out);
/// Fills `request` (cleared first; the body stays empty) from a RequestHead payload. False if
/// it does not decode exactly. `bodyLength` is -1 when the length is not known in advance.
/// `spare`: header objects to reuse (their strings' capacity), taken from its back.
bool decodeRequestHead(std::string_view payload, http::HttpRequest& request, int64_t& bodyLength,
                       std::vector<http::Header>* spare = nullptr);

/// A response head as the worker sends it: status, headers, and the length the body will have
/// (-1: streamed, unknown), whether it is HEAD-only (a length, no bytes), close-after.
struct ResponseHead
{
    int status = 200;
    int64_t contentLength = -1;
    bool closeConnection = false;
    std::vector<http::Header> headers;
};
void encodeResponseHead(const http::HttpResponse& response, int64_t contentLength, std::string& out);
/// Decodes a ResponseHead payload the worker wrote (hostile: sizes bounded, status 100..999,
/// header names tokens and values without CR, LF or NUL). False if anything is off.
bool decodeResponseHead(std::string_view payload, ResponseHead& head);

/// A credit record's payload.
/// The stats of a worker's data source pools, by name, then the counters of its session stores,
/// by SessionStore::describe() (its answer to StatsRequest).
using NamedDataSourceStats = std::vector<std::pair<std::string, datasource::DataSourceStatsSnapshot>>;
using NamedSessionStoreStats = std::vector<std::pair<std::string, session::SessionStoreStats>>;
std::string encodeDataSourceStats(uint64_t sequence, const NamedDataSourceStats& stats,
                                  const NamedSessionStoreStats& sessionStores = {});
/// False for a payload that is not one (the server treats it as a malformed message).
/// `sessionStores` may be null (not wanted).
bool decodeDataSourceStats(std::string_view payload, uint64_t& sequence, NamedDataSourceStats& stats,
                           NamedSessionStoreStats* sessionStores = nullptr);

std::string_view encodeCredit(uint32_t bytes, char (&buffer)[4]) noexcept;
bool decodeCredit(std::string_view payload, uint32_t& bytes) noexcept;

/// The control socket's messages (ControlSocket): the spec, channels, lifecycle.
enum class ControlType : uint32_t
{
    // server -> worker
    Spec = 1,             ///< WorkerSpec::encode(); fds: the crash page
    AttachChannel = 2,    ///< u32 index, u32 capacity; fds: memory, server wake, worker wake
    Drain = 3,            ///< finish what runs, accept nothing new, stop the Context, exit 0
    StatsRequest = 4,     ///< u64 sequence: answer with DataSourceStats (pools, session stores)
                          // worker -> server
    Ready = 16,           ///< text: what was loaded ("libhello.so (ABI 1.0)")
    Failed = 17,          ///< text: why the Context did not start (one line)
    StackCaptured = 18,   ///< u32 channel, u32 stream: the crash page holds that thread's stack
    DataSourceStats = 19, ///< the StatsRequest's sequence and the worker's pools (encodeDataSourceStats)
};

} // namespace serval::process
