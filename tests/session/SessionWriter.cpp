// A child process for SessionDurabilityTest: writes attributes of one session through a
// SqliteSessionStore from several threads, and prints "ack NAME" once a write is acknowledged
// (commitAndWait returned Ok). Killed with SIGKILL by the test, or exits after --writes each.
//
//   session_writer DB SCOPE SESSION_ID PREFIX THREADS WRITES_PER_THREAD(0: until killed)
#include "session/SqliteSessionStore.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace serval::session;

int main(int argc, char** argv)
{
    if (argc != 7) {
        std::fprintf(stderr, "usage: session_writer DB SCOPE SESSION_ID PREFIX THREADS WRITES\n");
        return 2;
    }
    SqliteSessionStore::Options options;
    options.path = argv[1];
    const std::string scope = argv[2];
    const std::string id = argv[3];
    const std::string prefix = argv[4];
    const int threads = std::atoi(argv[5]);
    const long writes = std::atol(argv[6]);
    try {
        SqliteSessionStore store(options);
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t) {
            workers.emplace_back([&, t] {
                for (long i = 0; writes == 0 || i < writes; ++i) {
                    std::string name = prefix + "-" + std::to_string(t) + "-" + std::to_string(i);
                    CommitResult r =
                        store.commitAndWait(scope, {SessionOp::setAttribute(id, name, "value of " + name)});
                    if (r.status != StoreStatus::Ok) {
                        std::string line = "error " + r.error + "\n";
                        (void)!::write(1, line.data(), line.size());
                        continue;
                    }
                    // One write() per line: lines from different threads never interleave.
                    std::string line = "ack " + name + "\n";
                    (void)!::write(1, line.data(), line.size());
                }
            });
        }
        for (auto& w : workers)
            w.join();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "session_writer: %s\n", e.what());
        return 1;
    }
    return 0;
}
