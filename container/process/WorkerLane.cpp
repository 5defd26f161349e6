#include "process/WorkerLane.h"

#include "util/IdMap.h"

#include <algorithm>

namespace serval::process {

struct ForwardedStream
{
    enum class State
    {
        Waiting,   ///< no worker yet
        Sending,   ///< head or body records still to write
        Sent,      ///< everything written, no response yet
        Responding ///< the head arrived: no replay from here on
    };

    uint32_t id = 0;
    StreamOwner* owner = nullptr;
    const http::HttpRequest* request = nullptr;
    bool idempotent = false;
    bool replayed = false;
    bool async = false;       ///< the app went async (AsyncStarted): no deadline, never replayed
    bool irrevocable = false; ///< the worker is making a change that must not happen twice (Irrevocable)
    bool upgraded = false;    ///< a 101 came: the stream carries the connection's bytes (reown())
    std::string upstream;     ///< upgraded: the client's bytes not yet in the ring (from upstreamSent)
    size_t upstreamSent = 0;
    bool upstreamHeld = false; ///< sendUpstream() said false: onUpstreamDrained() is owed
    State state = State::Waiting;
    WorkerLane::Slot* slot = nullptr;
    bool headSent = false;
    size_t bodySent = 0;
    int64_t requestCredit = kStreamWindow;
    int64_t expected = -1;          ///< response body length the head announced
    uint64_t received = 0;          ///< response body bytes so far
    int64_t window = kStreamWindow; ///< response bytes the worker may still send
    uint32_t toGrant = 0;           ///< consumed by the owner, not yet granted back
    std::chrono::steady_clock::time_point deadline;
    size_t allIndex = 0; ///< position in WorkerLane::_all
};

struct WorkerLane::Slot
{
    std::shared_ptr<WorkerHandle> worker;
    Channel* channel = nullptr;
    util::IdMap<ForwardedStream*> streams;
    std::deque<ForwardedStream*> sending;                   ///< streams with records still to write
    std::vector<uint32_t> granting;                         ///< streams with toGrant > 0
    std::vector<std::pair<uint32_t, CancelReason>> cancels; ///< not yet written (ring full)
    uint32_t nextId = 1;
    bool accepting = true;
    bool retired = false;
    bool corrupt = false;
    bool inPass = false;         ///< onReadable() runs: credits go out at its end
    bool publishPending = false; ///< written, published by flushPublishes()
};

namespace {

using Clock = std::chrono::steady_clock;

/// RFC 9110 9.2.2: a request that may be sent again without changing the outcome.
bool isIdempotent(std::string_view method) noexcept
{
    return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" ||
           method == "DELETE" || method == "TRACE";
}

} // namespace

WorkerLane::WorkerLane(LaneLoop& loop, LaneEvents& events, std::chrono::milliseconds requestTimeout)
    : _loop(loop), _events(events), _requestTimeout(requestTimeout)
{}

WorkerLane::~WorkerLane()
{
    for (auto& slot : _slots)
        _loop.unwatch(slot->channel->wakeFd());
    StreamFailure failure{503, "", 1, "The application is stopping."};
    while (!_all.empty())
        fail(*_all.back(), failure);
}

ForwardedStream* WorkerLane::allocate()
{
    if (_free.empty()) return new ForwardedStream();
    ForwardedStream* stream = _free.back().release();
    _free.pop_back();
    *stream = ForwardedStream();
    return stream;
}

void WorkerLane::recycle(ForwardedStream* stream) noexcept
{
    try {
        _free.emplace_back(stream);
    } catch (...) {
        delete stream;
    }
}

ForwardedStream* WorkerLane::submit(StreamOwner& owner, const http::HttpRequest& request)
{
    std::string reason;
    if (uint32_t retryAfter = _events.refusing(reason)) {
        owner.onStreamFailed(StreamFailure{503, "", retryAfter, reason});
        return nullptr;
    }
    ForwardedStream* stream = allocate();
    stream->owner = &owner;
    stream->request = &request;
    stream->idempotent = isIdempotent(request.method);
    stream->deadline = Clock::now() + _requestTimeout;
    stream->allIndex = _all.size();
    _all.push_back(stream);
    ++_inFlight;
    place(*stream);
    return stream;
}

WorkerLane::Slot* WorkerLane::choose()
{
    Slot* best = nullptr;
    size_t count = _slots.size();
    for (size_t i = 0; i < count; ++i) {
        Slot* slot = _slots[(_next + i) % count].get();
        if (!slot->accepting || slot->corrupt) continue;
        if (best == nullptr || slot->streams.size() < best->streams.size()) best = slot;
    }
    if (count > 0) _next = (_next + 1) % count;
    return best;
}

void WorkerLane::place(ForwardedStream& stream)
{
    Slot* slot = choose();
    if (slot == nullptr) {
        stream.state = ForwardedStream::State::Waiting;
        stream.slot = nullptr;
        _waiting.push_back(&stream);
        return;
    }
    stream.slot = slot;
    stream.id = slot->nextId++;
    stream.state = ForwardedStream::State::Sending;
    stream.headSent = false;
    stream.bodySent = 0;
    stream.requestCredit = kStreamWindow;
    stream.expected = -1;
    stream.received = 0;
    stream.window = kStreamWindow;
    stream.toGrant = 0;
    slot->streams.insert(stream.id, &stream);
    slot->worker->requests.fetch_add(1, std::memory_order_relaxed);
    slot->sending.push_back(&stream);
    if (!slot->inPass) pump(*slot, true);
}

bool WorkerLane::deferPublish(Slot& slot)
{
    if (slot.publishPending) return true;
    std::shared_ptr<void> keep = _events.keepAlive();
    if (!keep) return false;
    // Marked before the post: a posted task must find what it is to flush.
    slot.publishPending = true;
    if (!_flushPosted) {
        _flushPosted = true;
        try {
            _loop.post([this, keep] { flushPublishes(); });
        } catch (...) { // std::bad_alloc: publish now
            _flushPosted = false;
            slot.publishPending = false;
            return false;
        }
    }
    return true;
}

void WorkerLane::flushPublishes() noexcept
{
    _flushPosted = false;
    for (auto& slot : _slots) {
        if (!slot->publishPending) continue;
        slot->publishPending = false;
        if (!slot->corrupt) slot->channel->publish();
    }
}

bool WorkerLane::hasWork(const ForwardedStream& stream) noexcept
{
    return stream.state == ForwardedStream::State::Sending ||
           (stream.upgraded && stream.upstreamSent < stream.upstream.size());
}

bool WorkerLane::sendUpstreamRecords(Slot& slot, ForwardedStream& stream)
{
    RingWriter& writer = slot.channel->writer();
    while (stream.upstreamSent < stream.upstream.size()) {
        size_t n = std::min<size_t>({kBodyChunk, stream.upstream.size() - stream.upstreamSent,
                                     static_cast<size_t>(std::max<int64_t>(stream.requestCredit, 0))});
        if (n == 0) return true; // waits for RequestCredit
        RingWriter::Result result =
            writer.write(static_cast<uint16_t>(RecordType::RequestBody), 0, stream.id,
                         std::string_view(stream.upstream).substr(stream.upstreamSent, n));
        if (result == RingWriter::Result::Corrupt) {
            corrupt(slot, "the request ring's tail is impossible");
            return false;
        }
        if (result != RingWriter::Result::Written) return false;
        stream.upstreamSent += n;
        stream.requestCredit -= static_cast<int64_t>(n);
    }
    stream.upstream.clear();
    stream.upstreamSent = 0;
    if (stream.upstreamHeld) {
        stream.upstreamHeld = false;
        stream.owner->onUpstreamDrained();
    }
    return true;
}

void WorkerLane::reown(ForwardedStream* stream, StreamOwner& owner) noexcept
{
    if (stream == nullptr) return;
    stream->owner = &owner;
    stream->upgraded = true;
    stream->async = true;
    stream->deadline = Clock::time_point::max();
}

bool WorkerLane::sendUpstream(ForwardedStream* stream, std::string_view bytes)
{
    if (stream == nullptr || stream->slot == nullptr) return true;
    Slot& slot = *stream->slot;
    bool idle = !hasWork(*stream);
    stream->upstream.append(bytes);
    if (idle) slot.sending.push_back(stream);
    if (!slot.inPass) pump(slot);
    if (stream->upstream.size() - stream->upstreamSent <= kStreamWindow) return true;
    stream->upstreamHeld = true;
    return false;
}

bool WorkerLane::send(Slot& slot, ForwardedStream& stream)
{
    if (stream.upgraded) return sendUpstreamRecords(slot, stream);
    RingWriter& writer = slot.channel->writer();
    const http::HttpRequest& request = *stream.request;
    if (!stream.headSent) {
        encodeRequestHead(request, static_cast<int64_t>(request.body.size()), _scratch);
        RingWriter::Result result = writer.write(static_cast<uint16_t>(RecordType::RequestHead),
                                                 request.body.empty() ? kEndStream : 0, stream.id, _scratch);
        if (result == RingWriter::Result::TooLarge) {
            fail(stream,
                 StreamFailure{431, "", 0, "The request head is too large for the application's channel."});
            return true;
        }
        if (result == RingWriter::Result::Corrupt) {
            corrupt(slot, "the request ring's tail is impossible");
            return false;
        }
        if (result == RingWriter::Result::Full) return false;
        stream.headSent = true;
    }
    while (stream.bodySent < request.body.size()) {
        size_t n = std::min<size_t>({kBodyChunk, request.body.size() - stream.bodySent,
                                     static_cast<size_t>(std::max<int64_t>(stream.requestCredit, 0))});
        if (n == 0) return true; // waits for RequestCredit (back in the queue then)
        bool last = stream.bodySent + n == request.body.size();
        RingWriter::Result result =
            writer.write(static_cast<uint16_t>(RecordType::RequestBody), last ? kEndStream : 0, stream.id,
                         std::string_view(request.body).substr(stream.bodySent, n));
        if (result == RingWriter::Result::Corrupt) {
            corrupt(slot, "the request ring's tail is impossible");
            return false;
        }
        if (result != RingWriter::Result::Written) return false;
        stream.bodySent += n;
        stream.requestCredit -= static_cast<int64_t>(n);
    }
    stream.state = ForwardedStream::State::Sent;
    return true;
}

void WorkerLane::pump(Slot& slot, bool coalesce)
{
    if (slot.corrupt) return;
    RingWriter& writer = slot.channel->writer();
    while (!slot.cancels.empty()) {
        char reason = static_cast<char>(slot.cancels.back().second);
        if (writer.write(static_cast<uint16_t>(RecordType::Cancel), 0, slot.cancels.back().first,
                         std::string_view(&reason, 1)) != RingWriter::Result::Written)
            break;
        slot.cancels.pop_back();
    }
    // Each stream in turn: one waiting for credit does not hold up the others; a full ring
    // holds up everyone until the worker has read.
    size_t count = slot.sending.size();
    for (size_t i = 0; i < count && !slot.corrupt; ++i) {
        ForwardedStream* stream = slot.sending.front();
        slot.sending.pop_front();
        uint32_t id = stream->id; // a stream failed in send() may be reused for another request
        bool ringFree = send(slot, *stream);
        if (stream->slot == &slot && stream->id == id && hasWork(*stream))
            slot.sending.push_back(stream); // still something to write
        if (!ringFree) {
            if (slot.channel->prepareToWaitForSpace(recordSize(kBodyChunk))) continue; // freed meanwhile
            for (size_t rest = i + 1; rest < count; ++rest) { // keep the queue's order
                slot.sending.push_back(slot.sending.front());
                slot.sending.pop_front();
            }
            break;
        }
    }
    if (slot.corrupt || (coalesce && deferPublish(slot))) return;
    slot.channel->publish();
}

void WorkerLane::onReadable(Slot& slot)
{
    if (slot.corrupt) {
        slot.channel->drainWake();
        return;
    }
    slot.channel->drainWake();
    slot.inPass = true;
    std::shared_ptr<WorkerHandle> keep =
        slot.worker; // a callback may lead to detach() via post(), never here
    RecordHeader header;
    while (true) {
        RingReader::Result result;
        while ((result = slot.channel->reader().read(header, _payload)) == RingReader::Result::Record) {
            if (!onRecord(slot, header, _payload)) break;
        }
        if (slot.corrupt) break;
        if (result == RingReader::Result::Corrupt) {
            corrupt(slot, "the response ring holds an impossible record");
            break;
        }
        slot.channel->consumed();
        flushCredits(slot);
        pump(slot);
        if (slot.corrupt || slot.channel->prepareToSleep()) break;
    }
    slot.inPass = false;
}

bool WorkerLane::onRecord(Slot& slot, const RecordHeader& header, const std::string& payload)
{
    auto type = static_cast<RecordType>(header.type);
    if (type != RecordType::ResponseHead && type != RecordType::ResponseBody &&
        type != RecordType::RequestCredit && type != RecordType::AsyncStarted &&
        type != RecordType::ResponseAbort && type != RecordType::Irrevocable) {
        corrupt(slot, "a record of type " + std::to_string(header.type) + " in the response ring");
        return false;
    }
    ForwardedStream** found = slot.streams.find(header.stream);
    if (found == nullptr) return true; // cancelled or timed out: the rest is dropped
    ForwardedStream& stream = **found;
    bool end = (header.flags & kEndStream) != 0;
    switch (type) {
    case RecordType::AsyncStarted: {
        if (stream.state == ForwardedStream::State::Responding || stream.async) {
            corrupt(slot, "an async start after the response head, or a second one");
            return false;
        }
        // A long poll or an event stream waits as long as the app says (its own timeout).
        stream.async = true;
        stream.deadline = Clock::time_point::max();
        return true;
    }
    case RecordType::Irrevocable:
        stream.irrevocable = true; // believing it only ever costs a replay: a 502 instead
        return true;
    case RecordType::ResponseAbort: {
        if (stream.state != ForwardedStream::State::Responding) {
            corrupt(slot, "an abort before the response head");
            return false;
        }
        fail(stream, StreamFailure{500, "", 0, "The application gave up the response."}); // cut, not a crash
        return true;
    }
    case RecordType::ResponseHead: {
        if (stream.state != ForwardedStream::State::Sent) {
            corrupt(slot, "a response head before the request was complete, or a second one");
            return false;
        }
        // Decoded into the lane's spare head (its fields' strings reused), which is given back
        // after the call: a head delivered from inside the call would decode into a new one.
        ResponseHead head = std::move(_spareHead);
        if (!decodeResponseHead(payload, head)) {
            corrupt(slot, "a response head that does not decode");
            return false;
        }
        stream.state = ForwardedStream::State::Responding;
        stream.expected = stream.request->isHead() ? 0 : head.contentLength;
        stream.owner->onResponseHead(head, end);
        _spareHead = std::move(head);
        if (end) finish(stream);
        return true;
    }
    case RecordType::ResponseBody: {
        if (stream.state != ForwardedStream::State::Responding) {
            corrupt(slot, "response body before its head");
            return false;
        }
        stream.received += payload.size();
        if (stream.expected >= 0 && stream.received > static_cast<uint64_t>(stream.expected)) {
            corrupt(slot, "more response body than its head announced");
            return false;
        }
        if (static_cast<int64_t>(payload.size()) > stream.window) {
            corrupt(slot, "more response body than the stream's window");
            return false;
        }
        stream.window -= static_cast<int64_t>(payload.size());
        if (stream.upgraded) {
            StreamOwner* owner = stream.owner;
            if (end) finish(stream); // first: the owner may end itself in the call
            owner->onUpgradeBytes(payload, (header.flags & kWriteEnd) != 0, end);
            return true;
        }
        stream.owner->onResponseBody(payload, end);
        if (end) finish(stream);
        return true;
    }
    default: { // RequestCredit
        uint32_t bytes = 0;
        if (!decodeCredit(payload, bytes)) {
            corrupt(slot, "a credit record that does not decode");
            return false;
        }
        stream.requestCredit = std::min<int64_t>(stream.requestCredit + bytes, 4 * int64_t(kStreamWindow));
        if (hasWork(stream) &&
            std::find(slot.sending.begin(), slot.sending.end(), &stream) == slot.sending.end())
            slot.sending.push_back(&stream);
        return true;
    }
    }
}

void WorkerLane::consumed(ForwardedStream* stream, uint32_t bytes) noexcept
{
    if (stream == nullptr || stream->slot == nullptr || bytes == 0) return;
    if (stream->toGrant == 0) stream->slot->granting.push_back(stream->id);
    stream->toGrant += bytes;
    if (!stream->slot->inPass) {
        flushCredits(*stream->slot);
        stream->slot->channel->publish();
    }
}

void WorkerLane::flushCredits(Slot& slot)
{
    size_t done = 0;
    for (; done < slot.granting.size(); ++done) {
        ForwardedStream** found = slot.streams.find(slot.granting[done]);
        if (found == nullptr || (*found)->toGrant == 0) continue;
        char buffer[4];
        ForwardedStream& stream = **found;
        if (slot.channel->writer().write(static_cast<uint16_t>(RecordType::ResponseCredit), 0, stream.id,
                                         encodeCredit(stream.toGrant, buffer)) != RingWriter::Result::Written)
            break;
        stream.window += stream.toGrant;
        stream.toGrant = 0;
    }
    slot.granting.erase(slot.granting.begin(), slot.granting.begin() + done);
}

void WorkerLane::leaveSlot(ForwardedStream& stream)
{
    if (stream.state == ForwardedStream::State::Waiting) {
        auto it = std::find(_waiting.begin(), _waiting.end(), &stream);
        if (it != _waiting.end()) _waiting.erase(it);
        return;
    }
    Slot* slot = stream.slot;
    if (slot == nullptr) return;
    slot->streams.erase(stream.id);
    auto queued = std::find(slot->sending.begin(), slot->sending.end(), &stream);
    if (queued != slot->sending.end()) slot->sending.erase(queued);
    stream.slot = nullptr;
    if (slot->retired && slot->streams.empty()) _events.laneDrained(slot->worker->id);
}

void WorkerLane::finish(ForwardedStream& stream)
{
    leaveSlot(stream);
    ForwardedStream* last = _all.back();
    last->allIndex = stream.allIndex;
    _all[stream.allIndex] = last;
    _all.pop_back();
    --_inFlight;
    recycle(&stream);
}

void WorkerLane::fail(ForwardedStream& stream, const StreamFailure& failure)
{
    StreamOwner* owner = stream.owner;
    finish(stream);
    owner->onStreamFailed(failure);
}

void WorkerLane::sendCancel(Slot& slot, uint32_t id, CancelReason reason)
{
    slot.cancels.emplace_back(id, reason);
    if (!slot.inPass) pump(slot);
}

void WorkerLane::cancel(ForwardedStream* stream) noexcept
{
    if (stream == nullptr) return;
    if (stream->slot != nullptr) sendCancel(*stream->slot, stream->id, CancelReason::ClientGone);
    finish(*stream);
}

void WorkerLane::goAway(ForwardedStream* stream) noexcept
{
    if (stream != nullptr && stream->slot != nullptr)
        sendCancel(*stream->slot, stream->id, CancelReason::GoingAway);
}

void WorkerLane::corrupt(Slot& slot, const std::string& what)
{
    if (slot.corrupt) return;
    slot.corrupt = true;
    slot.accepting = false;
    _loop.unwatch(slot.channel->wakeFd());
    _events.channelCorrupt(slot.worker->id, what);
}

WorkerLane::Slot* WorkerLane::findSlot(uint32_t workerId)
{
    for (auto& slot : _slots) {
        if (slot->worker->id == workerId) return slot.get();
    }
    return nullptr;
}

void WorkerLane::attach(std::shared_ptr<WorkerHandle> worker, Channel& channel)
{
    auto slot = std::make_unique<Slot>();
    slot->worker = std::move(worker);
    slot->channel = &channel;
    Slot* raw = slot.get();
    _slots.push_back(std::move(slot));
    _loop.watch(channel.wakeFd(), [this, raw] { onReadable(*raw); });
    raw->channel->prepareToSleep();
    std::deque<ForwardedStream*> waiting;
    waiting.swap(_waiting);
    for (ForwardedStream* stream : waiting)
        place(*stream);
}

void WorkerLane::retire(uint32_t workerId)
{
    Slot* slot = findSlot(workerId);
    if (slot == nullptr) return;
    slot->accepting = false;
    slot->retired = true;
    // Its WebSockets would hold the drain until the kill: the worker closes them with 1001 (a
    // redeploy's old version, an undeploy, a recycle), and their streams end with the close.
    slot->streams.forEach([&](uint32_t id, ForwardedStream* stream) {
        if (stream->upgraded) slot->cancels.emplace_back(id, CancelReason::Retiring);
    });
    if (!slot->cancels.empty() && !slot->inPass) pump(*slot);
    if (slot->streams.empty()) _events.laneDrained(workerId);
}

void WorkerLane::detach(uint32_t workerId, const std::string& crashId)
{
    auto found = std::find_if(_slots.begin(), _slots.end(),
                              [&](const auto& slot) { return slot->worker->id == workerId; });
    if (found == _slots.end()) return;
    Slot& slot = **found;
    // What the worker finished before it went is delivered first.
    if (!slot.corrupt) onReadable(slot);
    if (!slot.corrupt) _loop.unwatch(slot.channel->wakeFd());
    std::vector<ForwardedStream*> orphans;
    slot.streams.forEach([&](uint32_t, ForwardedStream* stream) { orphans.push_back(stream); });
    std::sort(orphans.begin(), orphans.end(),
              [](const ForwardedStream* a, const ForwardedStream* b) { return a->id < b->id; });
    slot.streams.clear();
    slot.sending.clear();
    std::unique_ptr<Slot> gone = std::move(*found);
    _slots.erase(found);
    for (ForwardedStream* stream : orphans) {
        stream->slot = nullptr;
        bool replayable = stream->state != ForwardedStream::State::Responding && stream->idempotent &&
                          !stream->async && !stream->irrevocable && !stream->replayed && !crashId.empty();
        if (replayable) {
            stream->replayed = true;
            _events.countReplay();
            place(*stream);
            continue;
        }
        _events.countFailedByCrash();
        stream->state = ForwardedStream::State::Sent; // not waiting: finish() only unlinks it
        std::string reason = stream->replayed
                                 ? "The request crashed the application twice (a poison request)."
                                 : "The application crashed while serving this request.";
        fail(*stream, StreamFailure{502, crashId, 0, reason});
    }
}

void WorkerLane::failWaiting(const StreamFailure& failure)
{
    while (!_waiting.empty())
        fail(*_waiting.front(), failure);
}

void WorkerLane::expire(Clock::time_point now)
{
    std::vector<ForwardedStream*> late;
    for (ForwardedStream* stream : _all) {
        if (stream->deadline <= now) late.push_back(stream);
    }
    for (ForwardedStream* stream : late) {
        if (stream->state == ForwardedStream::State::Waiting) {
            fail(*stream, StreamFailure{503, "", 1, "The application is restarting."});
            continue;
        }
        Slot* slot = stream->slot;
        if (slot != nullptr) {
            sendCancel(*slot, stream->id, CancelReason::Timeout);
            const http::HttpRequest& request = *stream->request;
            _events.requestTimedOut(slot->worker->id, request.method + " " + request.target);
        }
        fail(*stream, StreamFailure{504, "", 0, "The application did not answer within its requestTimeout."});
    }
}

} // namespace serval::process
