#pragma once

#include "core/RemoteApplication.h"
#include "process/LaneLoop.h"
#include "process/WorkerGroup.h"

#include <memory>

namespace serval::process {

/// core::RemoteApplication over a WorkerGroup: what an isolated Context holds. start() and
/// stop() are the group's; forward() hands the exchange to a lane and fills exchange.response
/// with what the worker answered, or with the container's page for what went wrong:
///   502 + X-Serval-Crash-Id   the worker crashed (the page names the crash record)
///   503 + Retry-After          quarantined, or no worker came back in time
///   504                        requestTimeout passed
///
/// forward() runs on a connector worker thread and waits there while the lane (on the process
/// manager's ForwardingLoop) carries the request to the app's worker process and back.
/// OWNERSHIP: owned by its Context; shares the group with the tasks in flight.
class IsolatedApplication : public core::RemoteApplication
{
public:
    IsolatedApplication(std::shared_ptr<WorkerGroup> group, LaneLoop& loop) noexcept
        : _group(std::move(group)), _loop(loop)
    {}
    ~IsolatedApplication() override;

    void start() override;
    void stop() noexcept override;
    void forward(http::HttpExchange& exchange) noexcept override;
    core::RemoteStatus status() const override { return _group->view(); }
    void restart() override { _group->restart(); }
    void liftQuarantine() override { _group->liftQuarantine(); }

    WorkerGroup& group() noexcept { return *_group; }

    /// The container's answer for a failed forward (the 502/503/504 page and its headers).
    static void writeFailure(http::HttpResponse& response, const StreamFailure& failure);

private:
    std::shared_ptr<WorkerGroup> _group;
    LaneLoop& _loop;
};

} // namespace serval::process
