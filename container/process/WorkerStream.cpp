#include "process/WorkerStream.h"

#include "process/WorkerAsyncResponse.h"

namespace serval::process {

void WorkerStream::suspend() noexcept
{
    std::lock_guard<std::mutex> lock(channel.mutex);
    if (!async) hold = Hold::Held;
}

void WorkerStream::resume() noexcept
{
    std::shared_ptr<WorkerAsyncResponse> response;
    bool parked = false;
    {
        std::lock_guard<std::mutex> lock(channel.mutex);
        response = async;
        if (hold == Hold::Held) hold = Hold::Resumed;
        parked = hold == Hold::Parked;
    }
    if (response) {
        response->completeFromExchange();
    } else if (parked) {
        service.finishHeld(*this); // a request thread sends it (the sends may wait for credit)
    }
}

std::shared_ptr<http::AsyncResponse> WorkerStream::startAsync()
{
    {
        std::lock_guard<std::mutex> lock(channel.mutex);
        if (async) return async;
        async = std::make_shared<WorkerAsyncResponse>(service, *this, service.loop());
    }
    // Before any response record: the server stops timing the request, and will not replay it.
    service.write(*this, RecordType::AsyncStarted, 0, {}, {}, 0, true);
    return async;
}

void WorkerStream::markIrrevocable() noexcept
{
    if (irrevocable || headSent) return; // said already, or past replaying anyway
    irrevocable = true;
    // In the ring before the change starts: the server reads what is left in a crashed
    // worker's ring before it decides what to replay.
    service.write(*this, RecordType::Irrevocable, 0, {}, {}, 0, true);
}

void WorkerStream::upgrade(std::unique_ptr<http::UpgradeHandler> handler) noexcept
{
    upgrading = std::move(handler);
}

} // namespace serval::process
