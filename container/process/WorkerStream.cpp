#include "process/WorkerStream.h"

#include "process/WorkerAsyncResponse.h"

namespace serval::process {

void WorkerStream::suspend() noexcept
{
    try {
        startAsync();
    } catch (...) { // std::bad_alloc: the response goes out when service() returns
    }
}

void WorkerStream::resume() noexcept
{
    std::shared_ptr<WorkerAsyncResponse> response;
    {
        std::lock_guard<std::mutex> lock(channel.mutex);
        response = async;
    }
    if (response) response->completeFromExchange();
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

void WorkerStream::upgrade(std::unique_ptr<http::UpgradeHandler> handler) noexcept
{
    upgrading = std::move(handler);
}

} // namespace serval::process
