#pragma once

#include "core/RemoteApplication.h"
#include "process/LaneLoop.h"
#include "process/WorkerGroup.h"

#include <memory>

namespace serval::process {

/// core::RemoteApplication over a WorkerGroup: what an isolated Context holds. start() and
/// stop() are the group's; forward() runs on the exchange's I/O loop, suspends the exchange
/// and submits it to the group's lane for that loop (the lane watches its rings on the same
/// loop: no thread hop, no lock). The worker's answer comes back on that loop and goes out as
/// it arrives (buffered whole with a Content-Length, or streamed chunked when the app flushed),
/// or the container's page for what went wrong:
///   502 + X-Serval-Crash-Id   the worker crashed (the page names the crash record)
///   503 + Retry-After          quarantined, or no worker came back in time
///   504                        requestTimeout passed
///
/// OWNERSHIP: owned by its Context; every exchange in flight holds the group too (its lanes
/// outlive this object until the last such exchange ended).
class IsolatedApplication : public core::RemoteApplication
{
public:
    explicit IsolatedApplication(std::shared_ptr<WorkerGroup> group) noexcept : _group(std::move(group)) {}
    ~IsolatedApplication() override;

    void start() override;
    void stop() noexcept override;
    core::RemoteExchange* forward(http::HttpExchange& exchange) noexcept override;
    config::WebAppConfig declarations() const override { return _group->declarations(); }
    core::RemoteStatus status() const override { return _group->view(); }
    void restart() override { _group->restart(); }
    void liftQuarantine() override { _group->liftQuarantine(); }

    WorkerGroup& group() noexcept { return *_group; }

    /// The container's answer for a failed forward (the 502/503/504 page and its headers).
    static void writeFailure(http::HttpResponse& response, const StreamFailure& failure);

private:
    std::shared_ptr<WorkerGroup> _group;
};

} // namespace serval::process
