#pragma once

#include "http/HttpHandler.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fcntl.h>
#include <mutex>
#include <string>
#include <sys/stat.h>

namespace serval::test {

/// The pipeline behind the Connector in connector_test. Paths:
///   /canary          counts that it ran (a pipelined request behind a bad one must not)
///   /sleep           blocks a worker until release()
///   /stream          worker; flushes three chunks            /inline-stream  the same inline
///   /file            inline; sends `filePath` with sendfile  /large?n=N      N bytes inline
///   /upload          accepts bodies up to 4 MiB, answers "<size> <sum of bytes>"
///   /reject          refused at the head with 404 and a body of its own
///   /small           accepts bodies up to 10 bytes
///   anything else    echo: "METHOD TARGET\n" + "name: value\n" per header + "\n" + body;
///                    worker if the request has "X-Dispatch: worker"
class TestHandler : public http::HttpHandler
{
public:
    std::atomic<int> canaries{0};
    std::atomic<int> completed{0};
    std::atomic<http::Loop*> lastLoop{nullptr}; ///< HttpExchange::loop of the last request
    std::string filePath;

    void release()
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _released = true;
        _cv.notify_all();
    }

    http::HeadDecision onHead(http::HttpExchange& exchange) noexcept override
    {
        http::HeadDecision d;
        lastLoop = exchange.loop;
        const std::string& path = exchange.request.path;
        d.dispatch = http::Dispatch::Inline;
        if (path == "/sleep" || path == "/stream" || exchange.request.header("X-Dispatch") == "worker")
            d.dispatch = http::Dispatch::Worker;
        if (path == "/upload") d.maxBodySize = 4 * 1024 * 1024;
        if (path == "/small") d.maxBodySize = 10;
        if (path == "/reject") {
            d.rejectStatus = 404;
            exchange.response.setContentType("text/plain");
            exchange.response.write("no such thing\n");
        }
        return d;
    }

    void service(http::HttpExchange& exchange) noexcept override
    {
        http::HttpRequest& request = exchange.request;
        http::HttpResponse& response = exchange.response;
        const std::string& path = request.path;
        if (path == "/canary") {
            ++canaries;
            response.write("canary\n");
        } else if (path == "/sleep") {
            std::unique_lock<std::mutex> lock(_mutex);
            _cv.wait_for(lock, std::chrono::seconds(20), [this] { return _released; });
            response.write("slept\n");
        } else if (path == "/stream" || path == "/inline-stream") {
            for (int i = 1; i <= 3; ++i) {
                response.write("chunk" + std::to_string(i) + "\n");
                if (!response.flush()) return;
            }
            response.write("end\n");
        } else if (path == "/file") {
            int fd = ::open(filePath.c_str(), O_RDONLY | O_CLOEXEC);
            struct stat st
            {
            };
            ::fstat(fd, &st);
            response.setContentType("application/octet-stream");
            response.setFileBody(std::make_shared<http::FileBody>(fd), 0, static_cast<uint64_t>(st.st_size));
        } else if (path == "/large") {
            size_t n = std::stoul(request.query.substr(2));
            std::string& body = response.body();
            body.resize(n);
            for (size_t i = 0; i < n; ++i)
                body[i] = static_cast<char>('a' + i % 26);
        } else if (path == "/upload") {
            uint64_t sum = 0;
            for (char c : request.body)
                sum += static_cast<unsigned char>(c);
            response.write(std::to_string(request.body.size()) + " " + std::to_string(sum));
        } else {
            std::string& body = response.body();
            body = request.method + " " + request.target + "\n";
            for (const http::Header& h : request.headers)
                body += h.name + ": " + h.value + "\n";
            body += "\n";
            body += request.body;
            response.setContentType("text/plain");
        }
    }

    void complete(http::HttpExchange&, uint64_t) noexcept override { ++completed; }

private:
    std::mutex _mutex;
    std::condition_variable _cv;
    bool _released = false;
};

} // namespace serval::test
