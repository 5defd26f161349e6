#pragma once

#include "bundle/ContextName.h"
#include "config/WebAppConfig.h"
#include "util/Expected.h"

#include <cstdint>
#include <memory>
#include <optional>
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
    /// Starts it again; a failure is the Context's reason.
    virtual util::Outcome start() noexcept = 0;
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
    /// Builds and starts a Context named `name` serving `docBase`, from the descriptor that
    /// validation already read (`descriptor`, nullopt for a directory without WEB-INF/web.xml):
    /// web.xml is not read again. Not routed yet. A failure is one actionable line.
    virtual util::Expected<std::shared_ptr<ContextHandle>>
    create(const bundle::ContextName& name, const std::string& docBase,
           const std::optional<config::WebAppConfig>& descriptor) = 0;
    /// Puts `context` into routing at `path` atomically; returns the one it replaced (or nullptr).
    virtual std::shared_ptr<ContextHandle> route(const std::string& path,
                                                 std::shared_ptr<ContextHandle> context) = 0;
    /// Takes the Context at `path` out of routing; returns it (or nullptr).
    virtual std::shared_ptr<ContextHandle> unroute(const std::string& path) = 0;
};

} // namespace serval::deployer
