#pragma once

#include "deployer/ContextName.h"

#include <cstdint>
#include <memory>
#include <string>

namespace serval::deployer {

/// One built Context as the Deployer sees it.
class ContextHandle
{
public:
    virtual ~ContextHandle() = default;
    /// Requests currently inside the Context (the Deployer drains until 0).
    virtual int64_t inFlight() const noexcept = 0;
    /// Stops the Context (it stays where it is in routing: a stopped Context answers 503).
    virtual void stop() noexcept = 0;
    /// Starts it again; false with `error` on failure.
    virtual bool start(std::string& error) noexcept = 0;
    virtual bool isStarted() const noexcept = 0;
    /// True if dlclose() left one of its libraries mapped.
    virtual bool libraryStayedMapped() const noexcept = 0;
};

/// What the Deployer needs from one Host: build and start a Context, and swap it into routing.
/// The server implements it over core::Host (HostContextRunner); unit tests use a fake.
/// Called on the deployer's control thread only.
class ContextRunner
{
public:
    virtual ~ContextRunner() = default;
    /// Builds and starts a Context serving `docBase` (WEB-INF/web.xml read there). Not routed
    /// yet. Returns nullptr and sets `error` (one actionable line) if it cannot start.
    virtual std::shared_ptr<ContextHandle> create(const ContextName& name, const std::string& docBase,
                                                  std::string& error) = 0;
    /// Puts `context` into routing at `path` atomically; returns the one it replaced (or nullptr).
    virtual std::shared_ptr<ContextHandle> route(const std::string& path,
                                                 std::shared_ptr<ContextHandle> context) = 0;
    /// Takes the Context at `path` out of routing; returns it (or nullptr).
    virtual std::shared_ptr<ContextHandle> unroute(const std::string& path) = 0;
};

} // namespace serval::deployer
