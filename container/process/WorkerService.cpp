#include "process/WorkerService.h"

#include "app/AppLoader.h"
#include "app/AppResources.h"
#include "config/ConfigError.h"
#include "config/WebAppConfig.h"
#include "core/SessionAccess.h"
#include "datasource/DataSource.h"
#include "process/CrashCapture.h"
#include "process/Messages.h"
#include "process/Wire.h"
#include "process/WorkerAsyncResponse.h"
#include "process/WorkerStream.h"
#include "process/WorkerUpgrade.h"
#include "servlets/DefaultServlet.h"
#include "session/SessionService.h"
#include "util/Log.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

namespace serval::process {

namespace {

constexpr const char* kLog = "worker";

uint64_t monotonicNanos() noexcept
{
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

bool fileExists(const std::string& path)
{
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
}

} // namespace

WorkerService::WorkerService(ControlSocket control, WorkerSpec spec)
    : _control(std::move(control)), _spec(std::move(spec))
{
    _epoll = ::epoll_create1(EPOLL_CLOEXEC);
    _wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    _parallel = ::sched_getaffinity(0, sizeof cpus, &cpus) != 0 || CPU_COUNT(&cpus) > 1;
    if (!_parallel) {
        // One CPU, shared with the server that feeds it (pinned together): as SCHED_OTHER, each
        // request the server publishes woke a worker thread that preempted the server at once,
        // served the one request there was, and gave the CPU back: two switches per request.
        // SCHED_BATCH (no wake-up preemption; no privilege needed) lets the server finish its
        // turn, so the worker serves what accumulated. Set here, before the worker starts any
        // thread: they all inherit it. An idle CPU still runs a woken batch thread at once.
        sched_param param{};
        param.sched_priority = 0;
        if (::sched_setscheduler(0, SCHED_BATCH, &param) != 0)
            LOG_DEBUG(kLog, std::string("SCHED_BATCH refused: ") + std::strerror(errno));
    }
}

WorkerService::~WorkerService()
{
    {
        std::lock_guard<std::mutex> lock(_readMutex);
        stopThreads();
    }
    for (std::thread& t : _threads)
        t.join();
    if (_sessions) _sessions->stop(); // no expiry notice once the app stops
    _loop.stop();
    if (_engine) _engine->stop();
    if (_epoll >= 0) ::close(_epoll);
    if (_wake >= 0) ::close(_wake);
}

util::Expected<ReadyMessage> WorkerService::start()
{
    try {
        core::ContextSpec spec;
        spec.host = _spec.host; // the session scope is host + path, as in the server
        spec.name = _spec.name;
        spec.path = _spec.path;
        spec.version = _spec.version;
        spec.docBase = _spec.docBase;
        spec.dataDir = _spec.dataDir; // the Context creates it if the server has not yet
        spec.appLibraries = _spec.appLibraries;
        spec.maxBodySize = _spec.maxBodySize;
        config::WebAppConfig defaults = config::readDefaultWebXml(_spec.defaultsWebXml);
        std::string descriptor = _spec.docBase + "/WEB-INF/web.xml";
        config::WebAppConfig app;
        if (fileExists(descriptor)) {
            app = config::readWebXml(descriptor, "WEB-INF/web.xml");
        } else {
            app.source = "WEB-INF/web.xml";
        }
        spec.webXml = config::mergeWebXml(defaults, app);
        // The data sources the server bound and migrated, each with this worker's own pool
        // (context_data_source answers from these, as in the server).
        auto resources = std::make_shared<app::AppResources>();
        for (const datasource::DataSourceConfig& source : _spec.dataSources)
            resources->addDataSource(source.name, std::make_shared<datasource::DataSource>(source));
        _resources = resources;
        spec.resources = std::move(resources);

        core::ContextServices services;
        services.appLoader = &app::loadAppModule;
        services.defaultServlet = servlets::defaultServletFactory();
        services.signingSecret = _spec.signingSecret;
        if (_spec.sessions) {
            _sessions = openSessions();
            services.sessions = _sessions->factory();
        }
        _context = std::make_shared<core::Context>(std::move(spec), services);
        if (!_context->start()) {
            std::string reason = _context->failureReason();
            return util::failure(reason.empty() ? "the application did not start; see the log" : reason);
        }
        // The worker's own Engine routes exactly as the server does; its one Host answers
        // whatever Host header the request carries.
        config::HostConfig hostConfig;
        hostConfig.name = "worker";
        auto host = std::make_shared<core::Host>(hostConfig);
        host->addContext(_context);
        _engine = std::make_unique<core::Engine>("worker", services);
        _engine->addHost(host);
        if (!_engine->start()) return util::failure(_engine->failureReason());
        // Every worker of the app sweeps its scope: the store hands each expired session to
        // exactly one sweeper, and each worker has the app's listeners, so sessionDestroyed runs
        // once, in the app. (No "first worker" role: worker ids grow with every restart.)
        if (_sessions) _sessions->start();
    } catch (const std::exception& e) {
        return util::failure(e.what());
    }
    CrashCapture::recordModules();
    ReadyMessage ready;
    for (const std::string& module : _context->moduleDescriptions())
        ready.loaded += (ready.loaded.empty() ? "" : "; ") + module;
    ready.declarations = _context->codeDeclarations();
    return ready;
}

std::unique_ptr<session::SessionService> WorkerService::openSessions() const
{
    // The server's view of this one Host, rebuilt from the spec: the same store (file or
    // Redis), timeouts and jvmRoute, so sessions the worker issues are the server's.
    config::ServerConfig config;
    config.engine.jvmRoute = _spec.jvmRoute;
    config::HostConfig host;
    host.name = _spec.host;
    host.sessions = *_spec.sessions;
    config.engine.hosts.push_back(std::move(host));
    return std::make_unique<session::SessionService>(config, session::SweepScopes::OwnOnly);
}

void WorkerService::attach(const ControlSocket::Message& message)
{
    WireReader r(message.payload);
    uint32_t index = r.u32();
    uint32_t capacity = r.u32();
    if (!r.complete() || message.fds.size() != 3) throw std::runtime_error("malformed channel attachment");
    auto channel = std::make_unique<WorkerChannel>();
    channel->index = index;
    auto& fds = const_cast<std::vector<util::FileDescriptor>&>(message.fds);
    channel->channel.attach(std::move(fds[0]), std::move(fds[1]), std::move(fds[2]), capacity);
    epoll_event ev{};
    // Edge-triggered: one server write wakes one waiting thread. Level-triggered, the event stays
    // ready until the woken thread drains the eventfd (under _readMutex), and epoll wakes the
    // next waiter meanwhile, then the next: a cascade of threads that find nothing to read.
    // (The hangs once blamed on this were the server's: 9313c27.)
    ev.events = EPOLLIN | EPOLLET;
    ev.data.u64 = _channels.size() + 2; // 0 control, 1 wake, 2.. channels
    ::epoll_ctl(_epoll, EPOLL_CTL_ADD, channel->channel.wakeFd(), &ev);
    _channels.push_back(std::move(channel));
}

void WorkerService::startThreads()
{
    for (uint32_t i = 0; i < _spec.threads; ++i)
        _threads.emplace_back([this] { requestThread(); });
}

void WorkerService::requestThread()
{
    CrashCapture::enterThread();
    epoll_event events[16];
    int count = 0;
    while (true) {
        WorkerStream* stream = nullptr;
        bool sleep = false;
        int timeout = -1;
        {
            std::lock_guard<std::mutex> lock(_readMutex);
            if (_stopping) return;
            readChannels(events, count);
            count = 0;
            if (!_ready.empty()) {
                stream = _ready.front();
                _ready.pop_front();
                _taken.fetch_add(1, std::memory_order_relaxed);
                if (!_ready.empty()) watchBacklog(); // served in turn, unless this one takes long
                // The wake-up that brought this thread here disarmed the channels: arm them for
                // the threads still asleep, or a Cancel (a hang's) would reach none of them.
                if (_sleepers.load() > 0) armForSleepers();
            } else if (drained()) {
                stopThreads();
                return;
            } else {
                sleep = !armChannels();
                for (auto& channel : _channels)
                    if (!channel->pendingCredits.empty()) timeout = 10;
                if (timeout < 0 && _draining.load()) timeout = 100;
                if (sleep) _sleepers.fetch_add(1); // under the lock: the next reader sees it
            }
        }
        if (stream != nullptr) {
            if (stream->hold == WorkerStream::Hold::Parked) // resume() queued it: only sends are left
                finishServed(*stream);
            else
                serve(*stream); // then read again: the next request may be in the ring already
            continue;
        }
        if (!sleep) continue;
        count = ::epoll_wait(_epoll, events, 16, timeout);
        // The last sleeper leaves: a stalled thread's credit or space now needs the reserve.
        if (_sleepers.fetch_sub(1) == 1 && _stalled.load() > 0) wakeReserve();
        if (count < 0) count = 0; // EINTR: read again
    }
}

void WorkerService::stopThreads()
{
    _stopping = true;
    // Level-triggered from now on, and never drained again: every thread in epoll_wait (the
    // reserve included, which may take the event) sees it in turn and returns. Edge-triggered,
    // the one wake-up could reach a thread that leaves without passing it on.
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = 1;
    ::epoll_ctl(_epoll, EPOLL_CTL_MOD, _wake, &ev);
    signalWake();
    {
        std::lock_guard<std::mutex> lock(_reserveMutex);
        _reserveStop = true;
    }
    _reserveWake.notify_all();
}

bool WorkerService::armChannels()
{
    bool unread = false;
    for (auto& channel : _channels)
        unread = !channel->channel.prepareToSleep() || unread;
    return unread;
}

void WorkerService::armForSleepers()
{
    if (!armChannels()) return;
    // Records came meanwhile. With a core for it, a follower reads them now, in parallel with
    // this thread's request. On one core that follower could only take turns with this thread
    // (two context switches, and the request waits all the same): this thread reads them after
    // its request, and the reserve wakes a follower if that request takes long.
    if (_parallel)
        signalWake();
    else
        watchBacklog();
}

void WorkerService::signalWake()
{
    uint64_t one = 1;
    ssize_t ignored = ::write(_wake, &one, sizeof one);
    (void)ignored;
}

void WorkerService::wakeReserve()
{
    std::lock_guard<std::mutex> lock(_reserveMutex);
    _reserveWake.notify_one();
}

void WorkerService::watchBacklog()
{
    if (!_watching.exchange(true)) wakeReserve();
}

void WorkerService::reserveReader()
{
    constexpr auto kBacklogPatience = std::chrono::microseconds(500);
    epoll_event events[16];
    while (true) {
        {
            std::unique_lock<std::mutex> lock(_reserveMutex);
            _reserveWake.wait_for(lock, std::chrono::milliseconds(100), [this] {
                return _reserveStop || _watching.load() || (_stalled.load() > 0 && _sleepers.load() == 0);
            });
            if (_reserveStop) return;
        }
        if (_watching.load()) {
            // Complete requests wait behind the one a thread serves: the same thread serves
            // them next (no switch), unless it is still on the same one after kBacklogPatience;
            // then a follower takes the next (a servlet that blocks holds up no other request).
            uint64_t seen = _taken.load();
            std::this_thread::sleep_for(kBacklogPatience);
            std::lock_guard<std::mutex> lock(_readMutex);
            if (_stopping) return;
            // Records no thread read yet (armForSleepers on one core leaves them to this watch).
            bool unread = !_parallel && armChannels();
            if (_ready.empty() && !unread) {
                _watching.store(false);
            } else if (_taken.load() == seen) {
                signalWake();
            }
            // Every request thread may be stalled on credit or ring space behind that backlog
            // (responses larger than the ring, more requests than threads): nobody would read
            // what frees them, so the reserve reads as below rather than only watching.
            if (_stalled.load() == 0 || _sleepers.load() > 0) continue;
        }
        if (_sleepers.load() > 0) continue; // a request thread waits on the channels: it reads
        // Every request thread is busy. A stalled one waits for credit: wait with it, the
        // channels armed so that the server's next record wakes this thread at once.
        bool pending;
        {
            std::lock_guard<std::mutex> lock(_readMutex);
            pending = armChannels();
        }
        int count = ::epoll_wait(_epoll, events, 16, !pending && _stalled.load() > 0 ? 10 : 0);
        if (count < 0) count = 0;
        std::lock_guard<std::mutex> lock(_readMutex);
        if (_stopping) return;
        readChannels(events, count);
        // A request thread may have gone to sleep meanwhile (it checked nothing was pending and
        // set the flags): this read drained the eventfd and the server cleared the flags when it
        // wrote it, so that sleeper would never hear of the next record. Arm the flags again.
        if (_sleepers.load() > 0) armForSleepers();
        // Requests it read wait in _ready for the first thread that finishes (it reads first).
        if (!_ready.empty()) watchBacklog();
        if (drained()) {
            stopThreads();
            return;
        }
    }
}

void WorkerService::serve(WorkerStream& stream)
{
    http::HttpExchange& exchange = stream.exchange;
    CrashCapture::beginRequest(stream.channel.index, stream.id, exchange.request.method,
                               exchange.request.target);
    exchange.startNanos = monotonicNanos();
    exchange.response.setSink(&stream);
    exchange.response.setHeadOnly(exchange.request.isHead());
    exchange.loop = &_loop;
    exchange.control = &stream;
    http::HeadDecision decision = _engine->onHead(exchange);
    if (decision.rejectStatus == 0) {
        _engine->service(exchange);
    } else if (exchange.response.headers().empty() && exchange.response.body().empty()) {
        exchange.response.setStatus(decision.rejectStatus);
    }
    std::shared_ptr<WorkerAsyncResponse> async;
    {
        std::lock_guard<std::mutex> lock(stream.channel.mutex);
        async = stream.async;
    }
    if (async) { // the loop sends the rest and ends the exchange (endExchange)
        CrashCapture::endRequest();
        async->serviceReturned();
        return;
    }
    {
        std::lock_guard<std::mutex> lock(stream.channel.mutex);
        if (stream.hold == WorkerStream::Hold::Held) { // resume() queues it for finishServed()
            stream.hold = WorkerStream::Hold::Parked;
            CrashCapture::endRequest();
            return;
        }
    }
    if (stream.upgrading && exchange.response.status() == 101 && switchesProtocol(stream)) return;
    stream.upgrading.reset(); // no switch: the handler is destroyed unused
    finishServed(stream);
    CrashCapture::endRequest();
}

void WorkerService::finishServed(WorkerStream& stream)
{
    finish(stream);
    _engine->complete(stream.exchange, stream.bytesSent);
    release(stream);
}

void WorkerService::finishHeld(WorkerStream& stream)
{
    bool first;
    {
        std::lock_guard<std::mutex> lock(_readMutex);
        first = _ready.empty();
        _ready.push_back(&stream);
        if (!first) watchBacklog();
    }
    // A sleeping request thread takes it; a busy one finds it when it reads next. On one CPU
    // a group commit resuming 64 held responses woke 64 threads to take turns on it: the first
    // one woken sends them in turn (the reserve wakes another if one takes long).
    if (first || _parallel) signalWake();
}

bool WorkerService::switchesProtocol(WorkerStream& stream)
{
    http::HttpResponse& response = stream.exchange.response;
    try {
        response.resetBuffer(); // a 101 has no body
        encodeResponseHead(response, -1, stream.buffer);
        auto upgraded = std::make_shared<WorkerUpgrade>(*this, stream, std::move(stream.upgrading));
        {
            // Before the head: the client's first bytes may follow the 101 at once.
            std::lock_guard<std::mutex> lock(stream.channel.mutex);
            stream.upgraded = upgraded;
        }
        if (!write(stream, RecordType::ResponseHead, 0, stream.buffer, {}, 0, true)) return false;
        stream.headSent = true;
        CrashCapture::endRequest();
        // The exchange is over at the 101, as in-process (Connection::startUpgraded): its
        // metrics now, and its memory back (an idle WebSocket keeps only the stream's id,
        // credit and tunnel). endExchange() at the close finds no state and records nothing.
        _engine->complete(stream.exchange, stream.bytesSent);
        stream.exchange = http::HttpExchange();
        std::string().swap(stream.buffer);
        _loop.post([upgraded] { upgraded->open(); });
        return true;
    } catch (...) {
        return false;
    }
}

void WorkerService::finish(WorkerStream& stream)
{
    http::HttpResponse& response = stream.exchange.response;
    if (stream.headSent) { // streamed with flush(): what is still buffered, then the end
        std::string_view rest = response.headOnly() ? std::string_view() : std::string_view(response.body());
        if (rest.empty()) {
            write(stream, RecordType::ResponseBody, kEndStream, {}, {}, 0, true);
        } else {
            stream.sendBytes(rest, true);
        }
        return;
    }
    uint64_t length = response.contentLength();
    bool bytes = !response.headOnly() && length > 0;
    try {
        encodeResponseHead(response, static_cast<int64_t>(length), stream.buffer);
    } catch (...) {
        return;
    }
    stream.headSent = true;
    if (!write(stream, RecordType::ResponseHead, bytes ? 0 : kEndStream, stream.buffer, {}, 0, !bytes) ||
        !bytes)
        return;
    if (!response.fileBody()) {
        stream.sendBytes(std::string_view(response.body()).substr(0, length), true);
        return;
    }
    // A file body (the DefaultServlet's larger files): read in chunks, like sendfile would.
    int fd = response.fileBody()->fd();
    uint64_t offset = response.fileOffset();
    uint64_t left = std::min<uint64_t>(length, response.fileLength());
    char chunk[kBodyChunk];
    while (left > 0) {
        ssize_t n = ::pread(fd, chunk, std::min<uint64_t>(left, sizeof chunk), static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break; // the file shrank: the server sees the short body and closes
        offset += static_cast<uint64_t>(n);
        left -= static_cast<uint64_t>(n);
        if (!stream.sendBytes(std::string_view(chunk, static_cast<size_t>(n)), left == 0)) return;
    }
    if (left > 0) write(stream, RecordType::ResponseBody, kEndStream, {}, {}, 0, true);
}

WorkerService::TryWrite WorkerService::tryWrite(WorkerStream& stream, RecordType type, uint16_t flags,
                                                std::string_view bytes, uint32_t bodyBytes)
{
    WorkerChannel& channel = stream.channel;
    std::lock_guard<std::mutex> lock(channel.mutex);
    if (stream.cancelled.load(std::memory_order_relaxed)) return TryWrite::Gone;
    if (bodyBytes > stream.credit) {
        channel.channel.publish(); // what is staged must reach the server for it to grant more
        return TryWrite::NoCredit;
    }
    RingWriter::Result result =
        channel.channel.writer().write(static_cast<uint16_t>(type), flags, stream.id, bytes, {});
    if (result == RingWriter::Result::Full) {
        channel.channel.publish();
        return TryWrite::Full;
    }
    if (result != RingWriter::Result::Written) return TryWrite::Gone;
    stream.credit -= bodyBytes;
    channel.channel.publish();
    return TryWrite::Written;
}

void WorkerService::endExchange(WorkerStream& stream)
{
    _engine->complete(stream.exchange, stream.bytesSent);
    release(stream);
}

bool WorkerService::write(WorkerStream& stream, RecordType type, uint16_t flags, std::string_view first,
                          std::string_view second, uint32_t bodyBytes, bool publishNow)
{
    WorkerChannel& channel = stream.channel;
    std::unique_lock<std::mutex> lock(channel.mutex);
    constexpr auto kPatience = std::chrono::milliseconds(200); // a missed wake-up costs at most this
    while (true) {
        if (stream.cancelled.load(std::memory_order_relaxed)) return false;
        if (bodyBytes > stream.credit) {
            channel.channel.publish(); // what is staged must reach the server for it to grant more
            stall(channel, lock, kPatience);
            continue;
        }
        RingWriter::Result result =
            channel.channel.writer().write(static_cast<uint16_t>(type), flags, stream.id, first, second);
        if (result == RingWriter::Result::Written) {
            stream.credit -= bodyBytes;
            if (publishNow) channel.channel.publish();
            return true;
        }
        if (result != RingWriter::Result::Full) return false;
        channel.channel.publish();
        if (!channel.channel.prepareToWaitForSpace(
                recordSize(static_cast<uint32_t>(first.size() + second.size()))) &&
            !stall(channel, lock, kPatience)) {
            // The server reads its ring whatever its clients do: space that does not come within
            // the patience means nobody read the wake-up (credit, by contrast, waits for a slow
            // client). Once a minute at most.
            static std::atomic<int64_t> lastWarning{0};
            int64_t now = static_cast<int64_t>(monotonicNanos() / 1000000000ull);
            int64_t last = lastWarning.load();
            if (now - last >= 60 && lastWarning.compare_exchange_strong(last, now))
                LOG_WARN(kLog, "a response waited " + std::to_string(kPatience.count()) +
                                   " ms for space in the channel's ring: the wake-up was missed "
                                   "(a bug in the worker; report it)");
        }
    }
}

bool WorkerService::stall(WorkerChannel& channel, std::unique_lock<std::mutex>& lock,
                          std::chrono::milliseconds patience)
{
    // The credit or the space comes as a record: if every other thread serves too, nobody waits
    // on the channels, and the reserve must read for this one. Told by every staller that finds
    // no sleeper (not only the first: the first may have stalled while a sleeper was there, and
    // that one may be serving now), and by the last sleeper that leaves (requestThread).
    _stalled.fetch_add(1);
    if (_sleepers.load() == 0) wakeReserve();
    bool notified = channel.changed.wait_for(lock, patience) == std::cv_status::no_timeout;
    _stalled.fetch_sub(1);
    return notified;
}

void WorkerService::release(WorkerStream& stream)
{
    WorkerChannel& channel = stream.channel;
    std::unique_ptr<WorkerStream> gone;
    {
        std::lock_guard<std::mutex> lock(channel.mutex);
        gone = channel.streams.take(stream.id);
        if (gone) {
            // Kept for the next request, unless it holds what a plain request never does.
            if (channel.spare.size() < WorkerChannel::kSpareStreams && !gone->async && !gone->upgraded)
                channel.spare.push_back(std::move(gone));
        }
    }
    gone.reset(); // outside the lock: an async or upgraded stream's last references go here
    if (_active.fetch_sub(1) == 1 && _draining.load()) signalWake();
}

void WorkerService::dispatch(WorkerStream& stream)
{
    stream.dispatched = true;
    _ready.push_back(&stream); // the reading thread serves it, or a follower
    _fresh.push_back(&stream.exchange);
}

void WorkerService::onRecord(WorkerChannel& channel, const RecordHeader& header, const std::string& payload)
{
    switch (static_cast<RecordType>(header.type)) {
    case RecordType::RequestHead: {
        std::unique_ptr<WorkerStream> stream;
        {
            std::lock_guard<std::mutex> lock(channel.mutex);
            if (!channel.spare.empty()) {
                stream = std::move(channel.spare.back());
                channel.spare.pop_back();
            }
        }
        if (stream)
            stream->recycle(header.stream);
        else
            stream = std::make_unique<WorkerStream>(*this, channel, header.stream);
        if (!decodeRequestHead(payload, stream->exchange.request, stream->expectedBody,
                               &stream->spareHeaders)) {
            LOG_ERROR(kLog, "a request head from the server does not decode; ignored");
            return;
        }
        WorkerStream* raw = stream.get();
        {
            std::lock_guard<std::mutex> lock(channel.mutex);
            if (!channel.streams.insert(header.stream, std::move(stream))) return;
        }
        _active.fetch_add(1);
        if ((header.flags & kEndStream) != 0) dispatch(*raw);
        return;
    }
    case RecordType::RequestBody: {
        WorkerStream* stream = nullptr;
        std::shared_ptr<WorkerUpgrade> upgraded;
        {
            std::lock_guard<std::mutex> lock(channel.mutex);
            if (std::unique_ptr<WorkerStream>* found = channel.streams.find(header.stream)) {
                if (!(*found)->dispatched) stream = found->get();
                upgraded = (*found)->upgraded;
            }
        }
        if (upgraded) { // the client's bytes after the 101: granted back once the handler took them
            upgraded->clientBytes(payload);
            return;
        }
        if (stream == nullptr) return;
        std::string& body = stream->exchange.request.body;
        if (body.size() + payload.size() <= _spec.maxBodySize) body.append(payload);
        if (!payload.empty())
            channel.pendingCredits.emplace_back(header.stream, static_cast<uint32_t>(payload.size()));
        if ((header.flags & kEndStream) != 0) dispatch(*stream);
        return;
    }
    case RecordType::Cancel: {
        uint8_t reason = payload.empty() ? 0 : static_cast<uint8_t>(payload[0]);
        onCancel(channel, header.stream, static_cast<CancelReason>(reason));
        return;
    }
    case RecordType::ResponseCredit: {
        uint32_t bytes = 0;
        if (!decodeCredit(payload, bytes)) return;
        std::shared_ptr<WorkerAsyncResponse> async;
        std::shared_ptr<WorkerUpgrade> upgraded;
        {
            std::lock_guard<std::mutex> lock(channel.mutex);
            if (std::unique_ptr<WorkerStream>* found = channel.streams.find(header.stream)) {
                (*found)->credit += bytes;
                async = (*found)->async;
                upgraded = (*found)->upgraded;
            }
        }
        channel.changed.notify_all();
        if (async) async->creditArrived(bytes);
        if (upgraded) upgraded->creditArrived(bytes);
        return;
    }
    default:
        LOG_ERROR(kLog, "unknown record type " + std::to_string(header.type) + " from the server; ignored");
    }
}

void WorkerService::onCancel(WorkerChannel& channel, uint32_t id, CancelReason reason)
{
    if (reason == CancelReason::Retiring) return closeWebSockets();
    if (reason == CancelReason::GoingAway) {
        std::shared_ptr<WorkerUpgrade> upgraded;
        {
            std::lock_guard<std::mutex> lock(channel.mutex);
            if (std::unique_ptr<WorkerStream>* stream = channel.streams.find(id))
                upgraded = (*stream)->upgraded;
        }
        if (upgraded) upgraded->goAway();
        return;
    }
    bool found = false;
    std::shared_ptr<WorkerAsyncResponse> async;
    std::shared_ptr<WorkerUpgrade> upgraded;
    {
        std::lock_guard<std::mutex> lock(channel.mutex);
        if (std::unique_ptr<WorkerStream>* stream = channel.streams.find(id)) {
            (*stream)->cancelled.store(true);
            async = (*stream)->async;
            upgraded = (*stream)->upgraded;
            found = true;
        }
    }
    channel.changed.notify_all();
    if (async) async->cancelled(); // on_async_close, on the loop
    if (upgraded) upgraded->cancelled();
    if (!found || reason != CancelReason::Timeout) return;
    // requestTimeout: the thread serving it dumps its own stack into the crash page; the server
    // records it and recycles this worker once its other requests are done.
    int32_t tid = CrashCapture::threadServing(channel.index, id);
    if (tid != 0 && CrashCapture::captureStack(tid, channel.index, id, 200)) {
        std::string payload;
        WireWriter w(payload);
        w.u32(channel.index);
        w.u32(id);
        _control.send(ControlType::StackCaptured, payload);
    }
}

void WorkerService::onChannel(WorkerChannel& channel)
{
    RecordHeader header;
    bool any = false;
    while (true) {
        RingReader::Result result = channel.channel.reader().read(header, _scratch);
        if (result == RingReader::Result::Empty) break;
        if (result == RingReader::Result::Corrupt) {
            LOG_ERROR(kLog, "the server's request ring is corrupt; exiting");
            CrashCapture::disarmExitHook();
            ::_exit(3);
        }
        any = true;
        onRecord(channel, header, _scratch);
    }
    if (any) channel.channel.consumed();
}

void WorkerService::flushCredits(WorkerChannel& channel)
{
    if (channel.pendingCredits.empty()) return;
    std::lock_guard<std::mutex> lock(channel.mutex);
    size_t sent = 0;
    char buffer[4];
    for (const auto& [stream, bytes] : channel.pendingCredits) {
        if (channel.channel.writer().write(static_cast<uint16_t>(RecordType::RequestCredit), 0, stream,
                                           encodeCredit(bytes, buffer)) != RingWriter::Result::Written)
            break; // the ring is full: the rest go out on a later turn
        ++sent;
    }
    channel.pendingCredits.erase(channel.pendingCredits.begin(), channel.pendingCredits.begin() + sent);
    channel.channel.publish();
}

bool WorkerService::onControl()
{
    ControlSocket::Message message;
    while (true) {
        ControlSocket::Result result = _control.receive(message);
        if (result == ControlSocket::Result::WouldBlock) return true;
        if (result != ControlSocket::Result::Message) return false;
        switch (message.type) {
        case ControlType::Drain:
            _draining.store(true);
            closeWebSockets();
            break;
        case ControlType::AttachChannel:
            attach(message);
            break;
        case ControlType::StatsRequest:
            sendDataSourceStats(message);
            break;
        default:
            LOG_WARN(kLog,
                     "unexpected control message " + std::to_string(static_cast<uint32_t>(message.type)));
        }
    }
}

void WorkerService::sendDataSourceStats(const ControlSocket::Message& request)
{
    WireReader r(request.payload);
    uint64_t sequence = r.u64();
    if (!r.complete()) return;
    NamedDataSourceStats stats;
    if (_resources) {
        for (const auto& [name, source] : _resources->dataSources())
            stats.emplace_back(name, source->stats());
    }
    NamedSessionStoreStats sessionStores;
    if (_sessions) {
        for (session::SessionStore* store : _sessions->stores())
            sessionStores.emplace_back(store->describe(), store->stats());
    }
    _control.send(ControlType::DataSourceStats, encodeDataSourceStats(sequence, stats, sessionStores));
}

void WorkerService::closeWebSockets() noexcept
{
    // Its WebSockets would hold the drain until the kill: they get a close 1001 now and end
    // their streams once the client answered (or their close timeout passed).
    try {
        if (_context) _context->webSockets()->goAway("the application is stopping");
    } catch (const std::exception&) { // out of memory: the drain's kill closes them
    }
}

bool WorkerService::drained()
{
    return _draining.load() && _active.load() == 0;
}

void WorkerService::readChannels(const epoll_event* events, int count)
{
    bool gone = false;
    for (int i = 0; i < count; ++i) {
        uint64_t which = events[i].data.u64;
        if (which == 0) {
            gone = gone || !onControl();
        } else if (which == 1) {
            uint64_t value;
            ssize_t ignored = ::read(_wake, &value, sizeof value);
            (void)ignored;
        } else if (which - 2 < _channels.size()) {
            WorkerChannel& channel = *_channels[which - 2];
            channel.channel.drainWake();
            {
                std::lock_guard<std::mutex> lock(channel.mutex);
            }
            channel.changed.notify_all(); // ring space may have been freed
        }
    }
    if (gone) { // the server closed the control socket or died: nobody reads our answers
        LOG_WARN(kLog, "the server went away; exiting");
        CrashCapture::disarmExitHook();
        ::_exit(1);
    }
    for (auto& channel : _channels)
        onChannel(*channel);
    for (auto& channel : _channels)
        flushCredits(*channel);
    if (!_fresh.empty()) {
        // Requests read together look their sessions up together (Redis: one pipeline instead of
        // one round trip per request thread); nothing is served before, so none waits twice.
        if (core::SessionAccess* sessions = _context ? _context->sessionAccess() : nullptr)
            sessions->prefetch(_fresh);
        _fresh.clear();
    }
}

int WorkerService::run()
{
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = 0;
    ::epoll_ctl(_epoll, EPOLL_CTL_ADD, _control.fd(), &ev);
    // Edge-triggered like the channels: one signalWake() wakes one thread, not each in turn.
    ev.events = EPOLLIN | EPOLLET;
    ev.data.u64 = 1;
    ::epoll_ctl(_epoll, EPOLL_CTL_ADD, _wake, &ev);
    _loop.start();
    startThreads();
    reserveReader(); // until drained
    for (std::thread& t : _threads)
        t.join();
    _threads.clear();
    if (_sessions) _sessions->stop(); // the sweep ends before the listeners go
    _loop.stop();                     // what async responses posted runs; their timers are dropped
    if (_engine) _engine->stop();     // the app's on_destroy
    _engine.reset();
    _context.reset();
    return 0;
}

} // namespace serval::process
