// WebSocket load generator for tests/perf/bench.py's websocket phase (no Debian package offers
// one). Two modes:
//   wsbench --port P --path /echo --conns N --seconds S [--size B] [--threads T] [--warmup W]
//           [--server-pids PID,PID...]
//       N connections, each a closed loop: send one masked text message of B bytes, wait for
//       its echo, send the next. Prints one JSON line: messages/s, latency percentiles, and the
//       CPU seconds (utime + stime) of this client and of the listed server processes (every
//       thread) over the measured seconds only, so CPU per message excludes the warm-up.
//   wsbench --port P --path /echo --idle N
//       opens N WebSocket connections, prints "READY ok=K failed=F", holds them until stdin
//       closes (holdconns.py's contract, for the idle-connection RSS figure).
#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

uint64_t nowNanos()
{
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

struct Options
{
    int port = 0;
    std::string path = "/echo";
    int conns = 128;
    int seconds = 10;
    int warmup = 2;
    size_t size = 32;
    int threads = 1;
    int idle = 0;
    std::vector<int> serverPids;
};

/// utime + stime of `pids` (every thread: /proc/PID/stat), in seconds; a pid gone counts 0.
double processCpuSeconds(const std::vector<int>& pids)
{
    double ticks = 0;
    for (int pid : pids) {
        char path[64];
        std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
        FILE* f = std::fopen(path, "r");
        if (!f) continue;
        char buf[1024];
        size_t n = std::fread(buf, 1, sizeof buf - 1, f);
        std::fclose(f);
        buf[n] = 0;
        const char* p = std::strrchr(buf, ')');
        unsigned long long utime = 0, stime = 0;
        // After ")": state, then fields 4..13, then utime (14) and stime (15).
        if (p &&
            std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) == 2)
            ticks += static_cast<double>(utime + stime);
    }
    return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double selfCpuSeconds()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/// Blocking connect + handshake; returns the fd (non-blocking afterwards) or -1.
int openWebSocket(const Options& o)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(o.port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        close(fd);
        return -1;
    }
    std::string request = "GET " + o.path +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
        close(fd);
        return -1;
    }
    std::string head;
    char c;
    while (head.size() < 4096 && head.find("\r\n\r\n") == std::string::npos) {
        if (recv(fd, &c, 1, 0) != 1) {
            close(fd);
            return -1;
        }
        head.push_back(c);
    }
    if (head.compare(0, 12, "HTTP/1.1 101") != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

std::string maskedText(size_t size)
{
    std::string payload(size, 'x');
    std::string out;
    out.push_back(static_cast<char>(0x81));
    if (size < 126) {
        out.push_back(static_cast<char>(0x80 | size));
    } else {
        out.push_back(static_cast<char>(0x80 | 126));
        out.push_back(static_cast<char>(size >> 8));
        out.push_back(static_cast<char>(size & 0xFF));
    }
    const char mask[4] = {0x11, 0x22, 0x33, 0x44};
    out.append(mask, 4);
    for (size_t i = 0; i < size; ++i)
        out.push_back(static_cast<char>(payload[i] ^ mask[i & 3]));
    return out;
}

struct Conn
{
    int fd = -1;
    uint64_t sentAt = 0;
    size_t have = 0; ///< bytes of the current echo received
};

struct ThreadResult
{
    uint64_t messages = 0;
    uint64_t errors = 0;
    std::vector<uint32_t> latencies; ///< microseconds, measured phase only
};

void runLoad(const Options& o, std::vector<Conn>& conns, std::atomic<int>& phase, ThreadResult& result)
{
    const std::string frame = maskedText(o.size);
    const size_t echoSize = o.size + (o.size < 126 ? 2 : 4); // server frames are unmasked
    int ep = epoll_create1(0);
    for (size_t i = 0; i < conns.size(); ++i) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
        conns[i].sentAt = nowNanos();
        if (send(conns[i].fd, frame.data(), frame.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(frame.size()))
            ++result.errors;
    }
    std::vector<epoll_event> events(256);
    std::vector<char> buffer(65536);
    result.latencies.reserve(1 << 20);
    while (phase.load(std::memory_order_relaxed) < 2) {
        int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
        for (int k = 0; k < n; ++k) {
            Conn& c = conns[events[k].data.u64];
            ssize_t got = recv(c.fd, buffer.data(), buffer.size(), 0);
            if (got <= 0) {
                ++result.errors;
                epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
                continue;
            }
            c.have += static_cast<size_t>(got);
            while (c.have >= echoSize) { // closed loop: at most one echo in flight
                c.have -= echoSize;
                uint64_t now = nowNanos();
                if (phase.load(std::memory_order_relaxed) == 1) {
                    ++result.messages;
                    result.latencies.push_back(static_cast<uint32_t>((now - c.sentAt) / 1000));
                }
                c.sentAt = now;
                if (send(c.fd, frame.data(), frame.size(), MSG_NOSIGNAL) !=
                    static_cast<ssize_t>(frame.size()))
                    ++result.errors;
            }
        }
    }
    close(ep);
}

Options parse(int argc, char** argv)
{
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i];
        const char* v = argv[i + 1];
        if (k == "--port")
            o.port = std::atoi(v);
        else if (k == "--path")
            o.path = v;
        else if (k == "--conns")
            o.conns = std::atoi(v);
        else if (k == "--seconds")
            o.seconds = std::atoi(v);
        else if (k == "--warmup")
            o.warmup = std::atoi(v);
        else if (k == "--size")
            o.size = static_cast<size_t>(std::atol(v));
        else if (k == "--threads")
            o.threads = std::max(1, std::atoi(v));
        else if (k == "--idle")
            o.idle = std::atoi(v);
        else if (k == "--server-pids")
            for (const char* q = v; *q;) {
                o.serverPids.push_back(std::atoi(q));
                const char* comma = std::strchr(q, ',');
                q = comma ? comma + 1 : q + std::strlen(q);
            }
    }
    return o;
}

} // namespace

int main(int argc, char** argv)
{
    Options o = parse(argc, argv);
    if (o.port == 0 || o.size > 65535) {
        std::fprintf(stderr, "usage: wsbench --port P [--path /echo] (--conns N --seconds S [--size B<65536] "
                             "[--threads T] [--warmup W] | --idle N)\n");
        return 2;
    }
    if (o.idle > 0) {
        std::vector<int> fds;
        int failed = 0;
        for (int i = 0; i < o.idle; ++i) {
            int fd = openWebSocket(o);
            if (fd < 0)
                ++failed;
            else
                fds.push_back(fd);
        }
        std::printf("READY ok=%zu failed=%d\n", fds.size(), failed);
        std::fflush(stdout);
        char c;
        while (read(0, &c, 1) > 0) {
        }
        for (int fd : fds)
            close(fd);
        return 0;
    }
    std::vector<std::vector<Conn>> perThread(static_cast<size_t>(o.threads));
    int failed = 0;
    for (int i = 0; i < o.conns; ++i) {
        int fd = openWebSocket(o);
        if (fd < 0) {
            ++failed;
            continue;
        }
        perThread[static_cast<size_t>(i % o.threads)].push_back(Conn{fd});
    }
    std::atomic<int> phase{0};
    std::vector<ThreadResult> results(static_cast<size_t>(o.threads));
    std::vector<std::thread> threads;
    for (int t = 0; t < o.threads; ++t)
        threads.emplace_back([&, t] {
            runLoad(o, perThread[static_cast<size_t>(t)], phase, results[static_cast<size_t>(t)]);
        });
    std::this_thread::sleep_for(std::chrono::seconds(o.warmup));
    double server0 = processCpuSeconds(o.serverPids), client0 = selfCpuSeconds();
    phase = 1;
    uint64_t t0 = nowNanos();
    std::this_thread::sleep_for(std::chrono::seconds(o.seconds));
    phase = 2;
    double elapsed = static_cast<double>(nowNanos() - t0) / 1e9;
    double serverCpu = processCpuSeconds(o.serverPids) - server0, clientCpu = selfCpuSeconds() - client0;
    for (auto& t : threads)
        t.join();
    uint64_t messages = 0, errors = 0;
    std::vector<uint32_t> all;
    for (auto& r : results) {
        messages += r.messages;
        errors += r.errors;
        all.insert(all.end(), r.latencies.begin(), r.latencies.end());
    }
    std::sort(all.begin(), all.end());
    auto pct = [&all](double p) {
        return all.empty()
                   ? 0u
                   : all[std::min(all.size() - 1, static_cast<size_t>(p * static_cast<double>(all.size())))];
    };
    std::printf("{\"conns\": %d, \"failed_handshakes\": %d, \"messages\": %llu, \"seconds\": %.2f, "
                "\"msgs_per_s\": %.0f, \"p50_us\": %u, \"p99_us\": %u, \"errors\": %llu, "
                "\"client_cpu_s\": %.2f, \"server_cpu_s\": %.2f}\n",
                o.conns, failed, static_cast<unsigned long long>(messages), elapsed,
                static_cast<double>(messages) / elapsed, pct(0.50), pct(0.99),
                static_cast<unsigned long long>(errors), clientCpu, serverCpu);
    for (auto& v : perThread)
        for (Conn& c : v)
            close(c.fd);
    return 0;
}
