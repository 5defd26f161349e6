#include "process/CrashReport.h"

#include "process/Symbolizer.h"
#include "util/Strings.h"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <random>

namespace serval::process {
namespace {

std::string hex(uint64_t value)
{
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "0x%llx", static_cast<unsigned long long>(value));
    return buffer;
}

/// "serval_fixture_null_write (Faults.cpp:27, libfaults.so)"
std::string where(const Frame& frame)
{
    std::string out = frame.function.empty() ? "??" : frame.function;
    std::string detail;
    if (!frame.file.empty()) {
        size_t slash = frame.file.rfind('/');
        detail = (slash == std::string::npos ? frame.file : frame.file.substr(slash + 1)) + ":" +
                 std::to_string(frame.line);
    }
    if (!frame.module.empty()) detail += (detail.empty() ? "" : ", ") + frame.module;
    return detail.empty() ? out : out + " (" + detail + ")";
}

void fillFrames(registry::CrashRecord& record, const CrashSnapshot& snapshot, const WorkerProcess& worker,
                std::string& culprit)
{
    std::vector<Frame> frames = Symbolizer::symbolize(snapshot);
    for (size_t i = 0; i < frames.size(); ++i)
        record.backtrace += (i ? "\n" : "") + frames[i].describe(i);
    if (const Frame* frame = Symbolizer::culprit(frames, worker.spec().docBase)) {
        culprit = where(*frame);
        record.function = frame->function;
    }
    for (const CrashSnapshot::Thread& thread : snapshot.threads) {
        if (thread.request.empty()) continue;
        record.requests += (record.requests.empty() ? "" : "\n") + std::string("thread ") +
                           std::to_string(thread.tid) + ": " + thread.request;
    }
}

registry::CrashRecord base(const WorkerProcess& worker)
{
    registry::CrashRecord record;
    record.crashId = CrashReport::newCrashId();
    record.time = registry::Registry::nowMillis();
    record.host = worker.spec().host;
    record.path = worker.spec().path;
    record.version = worker.spec().version;
    record.pid = worker.pid();
    return record;
}

} // namespace

std::string CrashReport::newCrashId()
{
    static std::atomic<uint32_t> sequence{std::random_device{}()};
    char buffer[48];
    std::snprintf(buffer, sizeof buffer, "c%llx-%04x",
                  static_cast<unsigned long long>(registry::Registry::nowMillis()),
                  static_cast<unsigned>(sequence.fetch_add(0x9e37) & 0xffff));
    return buffer;
}

registry::CrashRecord CrashReport::crash(const WorkerProcess& worker, const CrashSnapshot& snapshot,
                                         const std::string& why)
{
    registry::CrashRecord record = base(worker);
    record.cause = "crash";
    record.signal = worker.exit().describe();
    std::string culprit;
    if (snapshot.kind != CrashPage::None) fillFrames(record, snapshot, worker, culprit);
    record.request = snapshot.faultingRequest();
    std::string summary;
    if (!why.empty()) {
        summary = "killed by the server: " + why;
    } else if (snapshot.kind == CrashPage::Signal) {
        record.signal = util::signalName(snapshot.signal);
        summary = record.signal;
        if (snapshot.signal == SIGSEGV || snapshot.signal == SIGBUS || snapshot.signal == SIGILL ||
            snapshot.signal == SIGFPE) {
            record.address = hex(snapshot.address);
            summary += " at " + record.address;
        }
    } else if (snapshot.kind == CrashPage::Exit) {
        summary = "exit() called by app code (" + worker.exit().describe() + ")";
    } else if (!worker.exit().exited && worker.exit().status == SIGKILL) {
        summary = "SIGKILL from outside the server (the OOM killer, or kill -9)";
    } else {
        summary = "the worker ended with " + worker.exit().describe();
    }
    if (!culprit.empty()) summary += " in " + culprit;
    if (!record.request.empty()) summary += " while serving " + record.request;
    record.summary = summary;
    return record;
}

registry::CrashRecord CrashReport::timeout(const WorkerProcess& worker, const CrashSnapshot& stack,
                                           const std::string& requestLine,
                                           std::chrono::milliseconds requestTimeout)
{
    registry::CrashRecord record = base(worker);
    record.cause = "timeout";
    record.request = requestLine;
    std::string culprit;
    if (!stack.frames.empty()) fillFrames(record, stack, worker, culprit);
    record.summary =
        requestLine + " ran past requestTimeout (" + std::to_string(requestTimeout.count()) + " ms)";
    record.summary += culprit.empty() ? "; its thread did not dump a stack" : "; stuck in " + culprit;
    return record;
}

} // namespace serval::process
