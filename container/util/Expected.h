#pragma once

#include <string>
#include <utility>
#include <variant>

namespace serval::util {

/// Why a step did not happen: one line a person can act on, the same in the log, the admin
/// page and the CLI ("shop.sar: entry \"../x\" leaves the bundle; rebuild the bundle ...").
struct Failure
{
    std::string reason;
};

inline Failure failure(std::string reason)
{
    return Failure{std::move(reason)};
}

/// A value, or the Failure that prevented it: what control-plane steps that can fail with a
/// reason return (unpack, validate, preflight, build a Context), instead of `bool` plus a
/// `std::string& error` out-parameter. [[nodiscard]], so a failure is not dropped unread.
///
///     util::Expected<ValidationReport> report = BundleValidator::validate(root, label, true);
///     if (!report) return fail(source, report.error());
///     use(report->libraries);
template <typename T> class [[nodiscard]] Expected
{
public:
    Expected(T value) : _state(std::in_place_index<0>, std::move(value)) {}
    Expected(Failure failure) : _state(std::in_place_index<1>, std::move(failure)) {}

    bool ok() const noexcept { return _state.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    /// The value; only when ok().
    T& operator*() & { return std::get<0>(_state); }
    const T& operator*() const& { return std::get<0>(_state); }
    T&& operator*() && { return std::get<0>(std::move(_state)); }
    T* operator->() { return &std::get<0>(_state); }
    const T* operator->() const { return &std::get<0>(_state); }

    /// The reason; only when !ok().
    const std::string& error() const { return std::get<1>(_state).reason; }
    /// The failure as it is, to pass it up: `if (!step) return step.failure();`
    Failure failure() const { return std::get<1>(_state); }

private:
    std::variant<T, Failure> _state;
};

/// Success without a value, or a Failure.
template <> class [[nodiscard]] Expected<void>
{
public:
    Expected() = default;
    Expected(Failure failure) : _failed(true), _reason(std::move(failure.reason)) {}

    bool ok() const noexcept { return !_failed; }
    explicit operator bool() const noexcept { return ok(); }
    /// The reason; empty when ok().
    const std::string& error() const noexcept { return _reason; }
    Failure failure() const { return Failure{_reason}; }

private:
    bool _failed = false;
    std::string _reason;
};

using Outcome = Expected<void>;

} // namespace serval::util
