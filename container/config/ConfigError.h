#pragma once

#include <stdexcept>
#include <string>

namespace serval::config {

/// A configuration file that cannot be used. what() is one line a person can act on:
///   conf/server.xml:12: unknown attribute "prot" on <Connector>; expected one of: address, port, ...
/// Thrown by the readers (control plane only: start-up, deploy, --check-config).
class ConfigError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

} // namespace serval::config
