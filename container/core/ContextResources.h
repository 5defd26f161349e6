#pragma once

namespace serval::core {

/// What the container binds to one Context besides its web.xml: the resources its app code asks
/// for by name (data sources), as Tomcat's NamingResources. core only carries them, from whoever
/// builds the Context (the deployer; an isolated app's worker) to the app's host function table
/// (container/app, which knows the one concrete type, app::AppResources), and never looks inside,
/// so core depends on no resource's implementation.
///
/// OWNERSHIP: shared by the ContextSpec of the Context it was built for (and so by every request
/// routed to it). THREADS: immutable once the Context starts; read from any request thread.
class ContextResources
{
public:
    virtual ~ContextResources() = default;
};

} // namespace serval::core
