#include "support/ServalProcess.h"

#include "support/TempDir.h"

#include <gtest/gtest.h>
#include <iostream>
#include <sys/wait.h>

namespace serval::test {

std::string ServalProcess::binary()
{
    return env("SERVAL_BIN", "build/bin") + "/serval";
}

ServalProcess::~ServalProcess()
{
    if (_process.pid() > 0) stop();
}

bool ServalProcess::start(const std::vector<std::string>& extraArgs, std::chrono::milliseconds deadline)
{
    std::vector<std::string> args = {binary(), "--base", _base, "--port", "0"};
    args.insert(args.end(), extraArgs.begin(), extraArgs.end());
    if (!_process.spawn(args, _base + "/serval.stderr")) {
        _error = _process.error();
        return false;
    }
    const std::string marker = "listening on http://";
    bool ok = eventually(
        [&] {
            std::string text = log();
            size_t at = text.find(marker);
            if (at != std::string::npos) {
                size_t end = text.find('/', at + marker.size());
                if (end == std::string::npos) return false;
                std::string hostPort = text.substr(at + marker.size(), end - at - marker.size());
                size_t colon = hostPort.rfind(':');
                if (colon == std::string::npos) return false;
                _address = hostPort.substr(0, colon);
                if (!_address.empty() && _address.front() == '[')
                    _address = _address.substr(1, _address.size() - 2);
                _port = static_cast<uint16_t>(std::stoi(hostPort.substr(colon + 1)));
                return true;
            }
            return !running();
        },
        deadline);
    if (!ok || _port == 0) {
        _error = "serval did not start: " + log();
        return false;
    }
    return true;
}

bool ServalProcess::running()
{
    bool wasRunning = _process.pid() > 0;
    if (_process.running()) return true;
    if (wasRunning) { // once: the child was found exited just now
        int status = _process.status();
        _terminatingSignal = status >= 0 && WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        reportSanitizerFindings();
    }
    return false;
}

int ServalProcess::stop(int signal)
{
    if (_process.pid() <= 0) return -1;
    int status = _process.stop(signal);
    if (status >= 0) _terminatingSignal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    reportSanitizerFindings();
    return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void ServalProcess::kill()
{
    _process.kill();
}

uint16_t ServalProcess::tlsPort() const
{
    const std::string marker = "listening on https://";
    std::string text = log();
    size_t at = text.find(marker);
    if (at == std::string::npos) return 0;
    size_t end = text.find('/', at + marker.size());
    size_t colon = text.rfind(':', end);
    if (end == std::string::npos || colon == std::string::npos || colon < at) return 0;
    return static_cast<uint16_t>(std::stoi(text.substr(colon + 1, end - colon - 1)));
}

std::string ServalProcess::sanitizerReport(const std::string& log)
{
    size_t at = std::string::npos;
    for (const char* marker :
         {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "WARNING: ThreadSanitizer"}) {
        size_t found = log.find(marker);
        if (found < at) at = found;
    }
    if (at == std::string::npos) return "";
    size_t lineStart = log.rfind('\n', at);
    lineStart = lineStart == std::string::npos ? 0 : lineStart + 1;
    return log.substr(lineStart, 16 * 1024);
}

void ServalProcess::reportSanitizerFindings() const
{
    std::string report = sanitizerReport(log());
    if (report.empty()) return;
    std::cerr << "---- sanitizer report from serval (" << _base << "/serval.stderr) ----\n"
              << report << "\n---- end of sanitizer report ----" << std::endl;
    ADD_FAILURE() << "serval reported a sanitizer finding (copied to stderr above): "
                  << report.substr(0, report.find('\n'));
}

std::string ServalProcess::log() const
{
    return readFile(_base + "/serval.stderr");
}

bool ServalProcess::waitForLog(const std::string& needle, std::chrono::milliseconds deadline) const
{
    return eventually([&] { return log().find(needle) != std::string::npos; }, deadline);
}

} // namespace serval::test
