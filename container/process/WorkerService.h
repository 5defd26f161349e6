#pragma once

#include "core/Engine.h"
#include "process/Channel.h"
#include "process/ControlSocket.h"
#include "process/Messages.h"
#include "process/ReadyMessage.h"
#include "process/WorkerLoop.h"
#include "process/WorkerSpec.h"
#include "util/Expected.h"
#include "util/IdMap.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <sys/epoll.h>
#include <thread>
#include <vector>

namespace serval::app {
class AppResources;
} // namespace serval::app
namespace serval::session {
class SessionService;
}

namespace serval::process {

class WorkerStream;

/// One channel as a worker holds it: the rings to one server I/O loop and the streams (one
/// per request) that arrived on it.
/// THREADS: the thread holding the reading role reads; request threads write responses under `mutex`, which
/// also guards `streams` and every stream's response credit.
struct WorkerChannel
{
    uint32_t index = 0;
    Channel channel;
    std::mutex mutex;
    std::condition_variable changed; ///< credit arrived, ring space freed, or a stream was cancelled
    util::IdMap<std::unique_ptr<WorkerStream>> streams;
    /// Released streams kept for the next requests (their strings' capacity reused), at most
    /// kSpareStreams.
    std::vector<std::unique_ptr<WorkerStream>> spare;
    static constexpr size_t kSpareStreams = 64;
    /// Request body bytes read but not yet granted back to the server (the reading role only).
    std::vector<std::pair<uint32_t, uint32_t>> pendingCredits;
};

/// The serving side of a worker process: its own Engine with one Host and the app's Context
/// (the same code the server runs in-process: container/app loads the library, the
/// DefaultServlet serves static files where the request runs through app filters), the
/// channels to the server's I/O loops, and a pool of request threads.
///
/// Leader/follower: the request threads take turns reading the channels. The thread that holds
/// the reading role (`_readMutex`) reads request records, assembles each request (head, then
/// body records), and serves the first one that is complete itself: no hand-off to another
/// thread, so a short synchronous servlet call costs no context switch inside the worker. While
/// it serves, the idle threads wait in epoll_wait on the same descriptors, and the next wake-up
/// (a new request, a Cancel, credit, a control message) wakes one of them to read. A thread that
/// leaves more complete requests behind serves them next itself; the main thread (the reserve)
/// wakes a follower for them if it is still on the same request after 500 us. The reserve also
/// reads when every request thread is busy (no thread waits on the channels): every 100 ms, at
/// once if a thread waits for response credit or ring space (also while it watches a backlog),
/// so Cancel (requestTimeout's stack capture), Drain, credit and space are never stuck behind
/// busy threads. On one CPU (sched_getaffinity) a thread that leaves to serve wakes no follower
/// for what arrived meanwhile: it reads that itself after its request, and the reserve's
/// backlog watch covers a request that takes long, and the worker's threads run SCHED_BATCH
/// (the server they share the CPU with is not preempted by each wake-up). The channels'
/// eventfds are edge-triggered: one server write wakes one waiting thread.
/// A request thread streams the response back: the head, then body records of at most
/// kBodyChunk bytes within the stream's credit (kStreamWindow, replenished by the server as it
/// writes to the client).
///
/// OWNERSHIP: owned by workerMain(). THREADS: see above; start() and run() on the main thread.
class WorkerService
{
public:
    WorkerService(ControlSocket control, WorkerSpec spec);
    ~WorkerService();
    WorkerService(const WorkerService&) = delete;
    WorkerService& operator=(const WorkerService&) = delete;

    /// Builds and starts the Context; a failure is one line for the server, success what the
    /// Ready message carries.
    util::Expected<ReadyMessage> start();
    ControlSocket& control() noexcept { return _control; }
    /// Attaches a channel the server sent (ControlType::AttachChannel).
    void attach(const ControlSocket::Message& message);
    /// Serves until told to drain (then stops the Context) or the server goes away. Returns the
    /// process exit status.
    int run();

    /// What tryWrite() did.
    enum class TryWrite
    {
        Written,
        NoCredit, ///< the stream's credit is short: a ResponseCredit record will come
        Full,     ///< the ring is full: try again shortly
        Gone      ///< the stream was cancelled or the channel is unusable
    };
    /// The worker's loop (async responses and upgraded connections run there).
    WorkerLoop& loop() noexcept { return _loop; }
    /// WorkerStream::resume() of a held response whose service() returned (any thread):
    /// queues it for a request thread, which sends it (finishServed).
    void finishHeld(WorkerStream& stream);
    /// write() that never waits (the loop thread: WorkerAsyncResponse).
    TryWrite tryWrite(WorkerStream& stream, RecordType type, uint16_t flags, std::string_view bytes,
                      uint32_t bodyBytes);
    /// The loop thread: an async or upgraded exchange has ended; the Engine completes it and
    /// the stream is released.
    void endExchange(WorkerStream& stream);

private:
    friend class WorkerStream;

    /// The app's sessions in this worker (WorkerSpec::sessions): the store the server opened for
    /// the Host, opened again here. Throws as SessionService's constructor does.
    std::unique_ptr<session::SessionService> openSessions() const;
    void startThreads();
    void requestThread();
    void serve(WorkerStream& stream);
    /// A request thread, once service() returned (or a held response was resumed): the
    /// response goes out, the Engine records it, the stream is released.
    void finishServed(WorkerStream& stream);
    /// A 101 to an upgrade() request: the head goes out and the stream carries the
    /// connection's bytes from now on (WorkerUpgrade, on the loop). False if it could not.
    bool switchesProtocol(WorkerStream& stream);
    /// Sends the rest of a response once service() returned, then the end of the stream.
    void finish(WorkerStream& stream);
    void release(WorkerStream& stream);
    /// write() waits for credit or ring space (`lock` holds the channel's mutex).
    /// False if `patience` ran out before anyone said the channel changed.
    bool stall(WorkerChannel& channel, std::unique_lock<std::mutex>& lock,
               std::chrono::milliseconds patience);

    bool onControl();
    /// Answers the server's StatsRequest with this worker's pools (the reading thread).
    void sendDataSourceStats(const ControlSocket::Message& request);
    /// One turn of the reading role (under `_readMutex`): handles what epoll_wait reported in
    /// `events`, reads every channel and returns the credits it owes. Exits the process if the
    /// server went away (nothing would read the answers).
    void readChannels(const epoll_event* events, int count);
    void onChannel(WorkerChannel& channel);
    void onRecord(WorkerChannel& channel, const RecordHeader& header, const std::string& payload);
    void onCancel(WorkerChannel& channel, uint32_t id, CancelReason reason);
    void flushCredits(WorkerChannel& channel);
    void dispatch(WorkerStream& stream);
    bool drained();
    /// Drain or retirement: the app's WebSockets close with 1001 (any thread).
    void closeWebSockets() noexcept;
    /// Ends the request threads and the reserve (under `_readMutex`).
    void stopThreads();
    void signalWake();
    /// Sets every channel's wake-up flag (Channel::prepareToSleep, under `_readMutex`); true if
    /// one has records nobody read yet (its flag is left clear: read instead of sleeping).
    bool armChannels();
    /// A reading thread leaves to serve while others sleep: their channels' wake-up flags
    /// (Channel::prepareToSleep) are set again, as each sleeper set them before it slept.
    void armForSleepers();
    /// The reading thread left complete requests in `_ready`: the reserve hands them to a
    /// follower if this thread's own request takes long.
    void watchBacklog();
    /// Wakes the reserve to re-check its conditions (a thread stalled with nobody reading).
    void wakeReserve();
    /// The main thread while the request threads serve: reads when none of them can.
    void reserveReader();

    /// Writes one record of `stream` (a request thread), waiting for credit (body bytes) and ring
    /// space. False if the stream was cancelled or the channel is unusable.
    bool write(WorkerStream& stream, RecordType type, uint16_t flags, std::string_view first,
               std::string_view second, uint32_t bodyBytes, bool publishNow);

    ControlSocket _control;
    WorkerSpec _spec;
    /// Declared before the Context and Engine: their sessions point into its stores, so it is
    /// destroyed after them (pending commits and touches are written by then).
    std::unique_ptr<session::SessionService> _sessions;
    std::unique_ptr<core::Engine> _engine;
    std::shared_ptr<core::Context> _context;
    /// The Context's data sources (also held by its spec): StatsRequest reads their pools.
    std::shared_ptr<app::AppResources> _resources;
    std::vector<std::unique_ptr<WorkerChannel>> _channels;
    int _epoll = -1;
    int _wake = -1; ///< eventfd (edge-triggered): a held response resumed, a follower wanted, drain

    /// The reading role: the channels' readers, `_ready`, `_scratch`, the streams' assembly and
    /// each channel's pendingCredits belong to whoever holds it.
    std::mutex _readMutex;
    std::deque<WorkerStream*> _ready; ///< complete requests no thread took yet
    /// The exchanges that became complete in this readChannels() pass: their sessions are
    /// fetched in one round trip before any is served (core::SessionAccess::prefetch).
    std::vector<http::HttpExchange*> _fresh;
    bool _stopping = false;             ///< guarded by _readMutex
    std::atomic<int> _sleepers{0};      ///< request threads waiting on the channels (epoll_wait)
    std::atomic<int> _stalled{0};       ///< request threads waiting for response credit or ring space
    std::atomic<uint64_t> _taken{0};    ///< requests taken from `_ready`, ever
    std::atomic<bool> _watching{false}; ///< the reserve watches a non-empty `_ready` (backlog)
    std::mutex _reserveMutex;
    std::condition_variable _reserveWake; ///< a thread stalled, or the threads stopped
    bool _reserveStop = false;            ///< guarded by _reserveMutex
    std::vector<std::thread> _threads;

    /// More than one CPU to run on (sched_getaffinity): a follower is woken at once for records
    /// that arrive while a thread serves; on one CPU the serving thread reads them next.
    bool _parallel = true;
    std::atomic<bool> _draining{false};
    std::atomic<int64_t> _active{0}; ///< streams created and not yet released
    std::string _scratch;
    WorkerLoop _loop; ///< last: stopped (its tasks run) before the streams and the Engine go
};

} // namespace serval::process
