#pragma once

#include <memory>
#include <string>
#include <utility>

namespace serval::core {

/// What a servlet, filter or request listener reports for one request. The data plane returns
/// statuses; exceptions stay in the control plane (init, start, deploy). Ok is the default and
/// costs one null pointer (returned, moved and destroyed without touching memory); a failure
/// carries the one sentence the Context logs with its 500
/// (`app "shop" servlet "cart": database is down`).
class [[nodiscard]] ServiceStatus
{
public:
    ServiceStatus() noexcept = default;
    /// Throws std::bad_alloc only (then the Engine's last-resort catch answers 500).
    static ServiceStatus failed(std::string reason)
    {
        ServiceStatus status;
        status._reason = std::make_unique<std::string>(std::move(reason));
        return status;
    }

    bool ok() const noexcept { return _reason == nullptr; }
    /// Empty when ok().
    const std::string& reason() const noexcept
    {
        static const std::string kNone;
        return _reason != nullptr ? *_reason : kNone;
    }

private:
    std::unique_ptr<std::string> _reason; ///< nullptr: ok
};

} // namespace serval::core
