// The server's side of the channels (container/process/WorkerLane.h) against a fake worker
// played by the test through the other end of a real channel: forwarding and flow control,
// and everything a hostile worker can write marks the channel corrupt instead of reaching
// the client.
#include "process/WorkerLane.h"

#include "TestLoop.h"
#include "process/Channel.h"
#include "process/Messages.h"
#include "process/Wire.h"
#include "support/ServalProcess.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <memory>
#include <poll.h>
#include <sys/mman.h>
#include <vector>

using namespace serval;
using namespace serval::process;
using namespace serval::test;
using util::FileDescriptor;

namespace {

/// Records what the lane reports to its group.
class FakeEvents : public LaneEvents
{
public:
    void laneDrained(uint32_t workerId) noexcept override { drained.push_back(workerId); }
    void channelCorrupt(uint32_t, const std::string& what) noexcept override
    {
        std::lock_guard<std::mutex> lock(mutex);
        corrupt = what;
    }
    void requestTimedOut(uint32_t, const std::string& line) noexcept override { timedOut.push_back(line); }
    uint32_t refusing(std::string& reason) const noexcept override
    {
        if (quarantined) reason = "quarantined";
        return quarantined ? 60 : 0;
    }
    void countReplay() noexcept override { ++replays; }
    void countFailedByCrash() noexcept override { ++failures; }
    std::string corruption()
    {
        std::lock_guard<std::mutex> lock(mutex);
        return corrupt;
    }

    std::mutex mutex;
    std::string corrupt;
    std::vector<uint32_t> drained;
    std::vector<std::string> timedOut;
    std::atomic<bool> quarantined{false};
    int replays = 0;
    int failures = 0;
};

/// A worker played by the test: the worker end of a channel the lane holds.
struct FakeWorker
{
    explicit FakeWorker(uint32_t id)
    {
        server.create(64 * 1024);
        worker.attach(FileDescriptor(::fcntl(server.memoryFd(), F_DUPFD_CLOEXEC, 0)),
                      FileDescriptor(::fcntl(server.serverWakeFd(), F_DUPFD_CLOEXEC, 0)),
                      FileDescriptor(::fcntl(server.workerWakeFd(), F_DUPFD_CLOEXEC, 0)), server.capacity());
        handle = std::make_shared<WorkerHandle>();
        handle->id = id;
    }
    /// The next record the lane sent (waits up to 5 s).
    bool next(RecordHeader& header, std::string& payload)
    {
        auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (std::chrono::steady_clock::now() < end) {
            if (worker.reader().read(header, payload) == RingReader::Result::Record) {
                worker.consumed();
                return true;
            }
            if (worker.prepareToSleep()) {
                pollfd p{worker.wakeFd(), POLLIN, 0};
                ::poll(&p, 1, 50);
                worker.drainWake();
            }
        }
        return false;
    }
    void send(RecordType type, uint16_t flags, uint32_t stream, std::string_view payload)
    {
        ASSERT_EQ(worker.writer().write(uint16_t(type), flags, stream, payload), RingWriter::Result::Written);
        worker.publish();
    }
    void respond(uint32_t stream, int status, const std::string& body, int64_t length = -2)
    {
        http::HttpResponse response;
        response.setStatus(status);
        std::string head;
        encodeResponseHead(response, length == -2 ? int64_t(body.size()) : length, head);
        send(RecordType::ResponseHead, body.empty() ? kEndStream : 0, stream, head);
        if (!body.empty()) send(RecordType::ResponseBody, kEndStream, stream, body);
    }

    Channel server;
    Channel worker;
    std::shared_ptr<WorkerHandle> handle;
};

http::HttpRequest get(const std::string& target, const std::string& method = "GET",
                      const std::string& body = "")
{
    http::HttpRequest request;
    request.method = method;
    request.target = target;
    request.path = target;
    request.headers = {{"Host", "localhost"}};
    request.body = body;
    return request;
}

class WorkerLaneTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        lane = std::make_unique<WorkerLane>(loop, events, std::chrono::milliseconds(60000));
    }
    void TearDown() override
    {
        loop.call([&] {
            lane.reset();
            return 0;
        });
    }
    void attach(FakeWorker& w)
    {
        loop.call([&] {
            lane->attach(w.handle, w.server);
            return 0;
        });
    }
    void submit(RecordingOwner& owner, const http::HttpRequest& request)
    {
        loop.call([&] {
            owner.stream = lane->submit(owner, request);
            return 0;
        });
    }

    /// A fake worker that outlives the lane (TearDown() destroys the lane, which unwatches
    /// every channel it holds, before the fixture's members go).
    FakeWorker& worker(uint32_t id)
    {
        workers.push_back(std::make_unique<FakeWorker>(id));
        return *workers.back();
    }

    std::vector<std::unique_ptr<FakeWorker>> workers;
    TestLoop loop;
    FakeEvents events;
    std::unique_ptr<WorkerLane> lane;
};

} // namespace

TEST_F(WorkerLaneTest, ForwardsARequestAndDeliversItsResponse)
{
    FakeWorker& w = worker(1);
    attach(w);
    http::HttpRequest request = get("/shop/x");
    RecordingOwner owner(lane.get());
    submit(owner, request);
    RecordHeader header;
    std::string payload;
    ASSERT_TRUE(w.next(header, payload));
    EXPECT_EQ(header.type, uint16_t(RecordType::RequestHead));
    EXPECT_NE(header.flags & kEndStream, 0) << "no body";
    http::HttpRequest decoded;
    int64_t length;
    ASSERT_TRUE(decodeRequestHead(payload, decoded, length));
    EXPECT_EQ(decoded.target, "/shop/x");
    w.respond(header.stream, 200, "hello");
    ASSERT_TRUE(owner.wait());
    EXPECT_EQ(owner.status, 200);
    EXPECT_EQ(owner.body, "hello");
    EXPECT_EQ(w.handle->requests.load(), 1u);
    EXPECT_EQ(loop.call([&] { return lane->inFlight(); }), 0u);
}

TEST_F(WorkerLaneTest, SendsABodyWithinTheStreamsCredit)
{
    FakeWorker& w = worker(1);
    attach(w);
    http::HttpRequest request = get("/up", "POST", std::string(kStreamWindow + 40000, 'b'));
    RecordingOwner owner(lane.get());
    submit(owner, request);
    RecordHeader header;
    std::string payload;
    ASSERT_TRUE(w.next(header, payload));
    uint32_t id = header.stream;
    size_t received = 0;
    while (received < kStreamWindow && w.next(header, payload)) {
        ASSERT_EQ(header.type, uint16_t(RecordType::RequestBody));
        ASSERT_LE(payload.size(), kBodyChunk);
        received += payload.size();
    }
    EXPECT_EQ(received, kStreamWindow) << "exactly the window, then it waits";
    EXPECT_EQ(w.worker.reader().read(header, payload), RingReader::Result::Empty);
    char credit[4];
    w.send(RecordType::RequestCredit, 0, id, encodeCredit(kStreamWindow, credit));
    while (received < request.body.size() && w.next(header, payload))
        received += payload.size();
    EXPECT_EQ(received, request.body.size());
    EXPECT_NE(header.flags & kEndStream, 0);
    w.respond(id, 201, "");
    ASSERT_TRUE(owner.wait());
    EXPECT_EQ(owner.status, 201);
}

TEST_F(WorkerLaneTest, ReplaysAnIdempotentRequestOnceAndThenFailsIt)
{
    FakeWorker& first = worker(1);
    FakeWorker& second = worker(2);
    attach(first);
    http::HttpRequest request = get("/poison");
    RecordingOwner owner(lane.get());
    submit(owner, request);
    RecordHeader header;
    std::string payload;
    ASSERT_TRUE(first.next(header, payload));
    loop.call([&] {
        lane->detach(1, "c-1");
        return 0;
    });
    EXPECT_FALSE(owner.done) << "waits for a worker: replayed";
    attach(second);
    ASSERT_TRUE(second.next(header, payload)) << "the replay went to the next worker";
    loop.call([&] {
        lane->detach(2, "c-2");
        return 0;
    });
    ASSERT_TRUE(owner.wait());
    EXPECT_EQ(owner.status, 502);
    EXPECT_EQ(owner.failure.crashId, "c-2");
    EXPECT_EQ(events.replays, 1);
    EXPECT_EQ(events.failures, 1);
}

TEST_F(WorkerLaneTest, NeverReplaysAPostOrAStartedResponse)
{
    FakeWorker& w = worker(1);
    attach(w);
    http::HttpRequest post = get("/order", "POST", "x=1");
    http::HttpRequest started = get("/stream");
    RecordingOwner postOwner(lane.get());
    RecordingOwner startedOwner(lane.get());
    submit(postOwner, post);
    submit(startedOwner, started);
    RecordHeader header;
    std::string payload;
    uint32_t startedId = 0;
    for (int i = 0; i < 3 && w.next(header, payload);) {
        if (header.type != uint16_t(RecordType::RequestHead)) continue;
        ++i;
        http::HttpRequest decoded;
        int64_t length;
        decodeRequestHead(payload, decoded, length);
        if (decoded.target == "/stream") {
            startedId = header.stream;
            break;
        }
    }
    ASSERT_NE(startedId, 0u);
    http::HttpResponse response;
    std::string head;
    encodeResponseHead(response, -1, head);
    w.send(RecordType::ResponseHead, 0, startedId, head);
    ASSERT_TRUE(eventually([&] { return loop.call([&] { return startedOwner.status; }) == 200; }));
    loop.call([&] {
        lane->detach(1, "c-9");
        return 0;
    });
    ASSERT_TRUE(postOwner.wait());
    ASSERT_TRUE(startedOwner.wait());
    EXPECT_EQ(postOwner.status, 502);
    EXPECT_EQ(postOwner.failure.crashId, "c-9");
    EXPECT_TRUE(startedOwner.failed);
    EXPECT_EQ(events.replays, 0);
}

TEST_F(WorkerLaneTest, AQuarantinedGroupRefusesAtOnce)
{
    events.quarantined = true;
    http::HttpRequest request = get("/x");
    RecordingOwner owner(lane.get());
    submit(owner, request);
    ASSERT_TRUE(owner.done);
    EXPECT_EQ(owner.status, 503);
    EXPECT_EQ(owner.failure.retryAfter, 60u);
}

TEST_F(WorkerLaneTest, RetiringReportsDrainedWhenTheLastRequestEnds)
{
    FakeWorker& w = worker(1);
    attach(w);
    http::HttpRequest request = get("/x");
    RecordingOwner owner(lane.get());
    submit(owner, request);
    RecordHeader header;
    std::string payload;
    ASSERT_TRUE(w.next(header, payload));
    loop.call([&] {
        lane->retire(1);
        return 0;
    });
    EXPECT_TRUE(loop.call([&] { return events.drained.empty(); }));
    w.respond(header.stream, 200, "ok");
    ASSERT_TRUE(owner.wait());
    EXPECT_EQ(loop.call([&] { return events.drained.size(); }), 1u);
}

TEST_F(WorkerLaneTest, ARequestPastItsDeadlineGets504AndIsCancelled)
{
    lane = nullptr;
    loop.call([&] {
        lane = std::make_unique<WorkerLane>(loop, events, std::chrono::milliseconds(10));
        return 0;
    });
    FakeWorker& w = worker(1);
    attach(w);
    http::HttpRequest request = get("/hang");
    RecordingOwner owner(lane.get());
    submit(owner, request);
    RecordHeader header;
    std::string payload;
    ASSERT_TRUE(w.next(header, payload));
    loop.call([&] {
        lane->expire(std::chrono::steady_clock::now() + std::chrono::seconds(1));
        return 0;
    });
    ASSERT_TRUE(owner.done);
    EXPECT_EQ(owner.status, 504);
    ASSERT_TRUE(w.next(header, payload));
    EXPECT_EQ(header.type, uint16_t(RecordType::Cancel));
    EXPECT_EQ(payload, std::string(1, char(CancelReason::Timeout)));
    ASSERT_EQ(events.timedOut.size(), 1u);
    EXPECT_EQ(events.timedOut[0], "GET /hang");
}

/// Each way a worker can lie in its ring: the lane reports the channel corrupt, delivers none
/// of it, and the request fails only when the group detaches the (killed) worker.
TEST_F(WorkerLaneTest, AHostileWorkerIsReportedNeverBelieved)
{
    struct Case
    {
        const char* name;
        std::function<void(FakeWorker&, uint32_t)> lie;
    };
    std::vector<Case> cases = {
        {"a request type in the response ring",
         [](FakeWorker& w, uint32_t id) { w.send(RecordType::RequestHead, 0, id, "x"); }},
        {"a head that does not decode",
         [](FakeWorker& w, uint32_t id) { w.send(RecordType::ResponseHead, 0, id, "xx"); }},
        {"a body before the head",
         [](FakeWorker& w, uint32_t id) { w.send(RecordType::ResponseBody, 0, id, "x"); }},
        {"more body than announced", [](FakeWorker& w, uint32_t id) { w.respond(id, 200, "too long", 3); }},
        {"more body than the window",
         [](FakeWorker& w, uint32_t id) {
             http::HttpResponse response;
             std::string head;
             encodeResponseHead(response, -1, head);
             w.send(RecordType::ResponseHead, 0, id, head);
             std::string chunk(16000, 'x');
             for (uint32_t sent = 0; sent <= kStreamWindow; sent += chunk.size()) {
                 while (w.worker.writer().write(uint16_t(RecordType::ResponseBody), 0, id, chunk) !=
                        RingWriter::Result::Written) {
                     w.worker.publish();
                     pollfd p{w.worker.wakeFd(), POLLIN, 0};
                     w.worker.prepareToWaitForSpace(recordSize(16000));
                     ::poll(&p, 1, 20);
                     w.worker.drainWake();
                 }
             }
             w.worker.publish();
         }},
        {"an impossible head index",
         [](FakeWorker& w, uint32_t) {
             auto* header = reinterpret_cast<ChannelHeader*>(
                 ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, w.worker.memoryFd(), 0));
             header->responses.head.store(1ull << 40);
             ::munmap(header, 4096);
             uint64_t one = 1;
             ssize_t ignored = ::write(w.worker.serverWakeFd(), &one, sizeof one);
             (void)ignored;
         }},
    };
    uint32_t id = 1;
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        events.corrupt.clear();
        FakeWorker& w = worker(id);
        attach(w);
        http::HttpRequest request = get("/x", "POST"); // not replayed: it fails at detach()
        RecordingOwner owner;                          // consumes nothing: the window stays shut
        submit(owner, request);
        RecordHeader header;
        std::string payload;
        ASSERT_TRUE(w.next(header, payload));
        c.lie(w, header.stream);
        ASSERT_TRUE(eventually([&] { return !events.corruption().empty(); }, std::chrono::seconds(5)));
        EXPECT_EQ(owner.status == 0 || owner.status == 200, true) << "nothing of the lie became an answer";
        EXPECT_TRUE(owner.body.empty() || std::string(c.name) == "more body than the window");
        loop.call([&] {
            lane->detach(id, "c-corrupt");
            return 0;
        });
        ASSERT_TRUE(owner.wait());
        EXPECT_TRUE(owner.failed);
        ++id;
    }
}

/// Issue 15: a stream whose app went async (a long poll) waits past requestTimeout, and a crash
/// fails it with 502 instead of replaying a request the app has already acted on.
TEST_F(WorkerLaneTest, AnAsyncStreamHasNoDeadlineAndIsNeverReplayed)
{
    FakeWorker& w = worker(1);
    attach(w);
    http::HttpRequest poll = get("/poll");
    http::HttpRequest marker = get("/marker");
    RecordingOwner parked(lane.get());
    RecordingOwner answered(lane.get());
    submit(parked, poll);
    submit(answered, marker);
    RecordHeader first, second;
    std::string payload;
    ASSERT_TRUE(w.next(first, payload));
    ASSERT_TRUE(w.next(second, payload));
    w.send(RecordType::AsyncStarted, 0, first.stream, {});
    w.respond(second.stream, 200, "ok"); // read after AsyncStarted: in ring order
    ASSERT_TRUE(answered.wait());
    loop.call([&] {
        lane->expire(std::chrono::steady_clock::now() + std::chrono::hours(1));
        return 0;
    });
    EXPECT_FALSE(parked.done) << "no requestTimeout for an async request";
    EXPECT_TRUE(events.timedOut.empty());
    loop.call([&] {
        lane->detach(1, "c-1");
        return 0;
    });
    ASSERT_TRUE(parked.wait());
    EXPECT_EQ(parked.status, 502);
    EXPECT_EQ(parked.failure.crashId, "c-1");
    EXPECT_EQ(events.replays, 0);
}

/// A second AsyncStarted, or one after the head, is a lie: the channel is corrupt.
TEST_F(WorkerLaneTest, AnAsyncStartAfterTheHeadIsCorrupt)
{
    FakeWorker& w = worker(1);
    attach(w);
    http::HttpRequest request = get("/late");
    RecordingOwner owner(lane.get());
    submit(owner, request);
    RecordHeader header;
    std::string payload;
    ASSERT_TRUE(w.next(header, payload));
    http::HttpResponse response;
    std::string head;
    encodeResponseHead(response, -1, head);
    w.send(RecordType::ResponseHead, 0, header.stream, head);
    w.send(RecordType::AsyncStarted, 0, header.stream, {});
    EXPECT_TRUE(eventually([&] { return !events.corruption().empty(); }));
    EXPECT_EQ(events.corruption(), "an async start after the response head, or a second one");
    loop.call([&] { // the group kills the worker: the request fails while its owner is here
        lane->detach(1, "c-1");
        return 0;
    });
    EXPECT_TRUE(owner.wait());
}
