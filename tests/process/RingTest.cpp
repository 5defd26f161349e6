// The shared-memory ring and channel (container/process/Ring.h, Channel.h): records in order
// across the wrap, full and empty, the wake-up flags, and a reader that survives anything a
// hostile peer can write into the shared pages.
#include "process/Ring.h"

#include "process/Channel.h"
#include "process/Messages.h"

#include <cstring>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <random>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace serval::process;
using serval::util::FileDescriptor;

namespace {

/// A ring over plain memory (one process, both ends).
struct LocalRing
{
    explicit LocalRing(uint32_t capacity = 4096, uint32_t maxPayload = 1024)
        : data(capacity), writer(&control, data.data(), capacity, maxPayload),
          reader(&control, data.data(), capacity, maxPayload)
    {}
    RingControl control;
    std::vector<char> data;
    RingWriter writer;
    RingReader reader;
};

/// The worker end of `server`, mapped a second time in this process (as the worker would).
void attachWorkerEnd(Channel& server, Channel& worker)
{
    worker.attach(FileDescriptor(::fcntl(server.memoryFd(), F_DUPFD_CLOEXEC, 0)),
                  FileDescriptor(::fcntl(server.serverWakeFd(), F_DUPFD_CLOEXEC, 0)),
                  FileDescriptor(::fcntl(server.workerWakeFd(), F_DUPFD_CLOEXEC, 0)), server.capacity());
}

bool readable(int fd)
{
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
}

} // namespace

TEST(RingTest, RecordsArriveInOrderAcrossTheWrap)
{
    LocalRing ring;
    RecordHeader header;
    std::string payload;
    for (uint32_t i = 0; i < 500; ++i) {
        std::string text(i % 300, static_cast<char>('a' + i % 26));
        ASSERT_EQ(ring.writer.write(7, 1, i, text, "!"), RingWriter::Result::Written) << i;
        EXPECT_EQ(ring.reader.read(header, payload), RingReader::Result::Empty)
            << "unpublished records stay hidden";
        ASSERT_TRUE(ring.writer.publish());
        ASSERT_EQ(ring.reader.read(header, payload), RingReader::Result::Record);
        EXPECT_EQ(header.type, 7);
        EXPECT_EQ(header.flags, 1);
        EXPECT_EQ(header.stream, i);
        EXPECT_EQ(payload, text + "!");
    }
    EXPECT_EQ(ring.reader.read(header, payload), RingReader::Result::Empty);
}

TEST(RingTest, FullUntilTheReaderMovesOn)
{
    LocalRing ring;
    std::string block(1000, 'x');
    int written = 0;
    while (ring.writer.write(1, 0, 0, block) == RingWriter::Result::Written)
        ++written;
    EXPECT_EQ(written, 4); // 4 x 1016 bytes of 4096
    EXPECT_EQ(ring.writer.write(1, 0, 0, block), RingWriter::Result::Full);
    ring.writer.publish();
    RecordHeader header;
    std::string payload;
    ASSERT_EQ(ring.reader.read(header, payload), RingReader::Result::Record);
    EXPECT_EQ(ring.writer.write(1, 0, 0, block), RingWriter::Result::Written);
}

TEST(RingTest, RefusesRecordsAboveTheLimit)
{
    LocalRing ring;
    EXPECT_EQ(ring.writer.write(1, 0, 0, std::string(1025, 'x')), RingWriter::Result::TooLarge);
    EXPECT_EQ(ring.writer.write(1, 0, 0, std::string(1024, 'x')), RingWriter::Result::Written);
}

TEST(RingTest, ImpossibleIndicesAreCorrupt)
{
    {
        LocalRing ring;
        ring.control.head.store(5000); // more than the capacity ahead of the tail
        RecordHeader header;
        std::string payload;
        EXPECT_EQ(ring.reader.read(header, payload), RingReader::Result::Corrupt);
        EXPECT_EQ(ring.reader.read(header, payload), RingReader::Result::Corrupt) << "stays corrupt";
    }
    {
        LocalRing ring;
        ring.writer.write(1, 0, 0, "abc");
        ring.writer.publish();
        ring.control.tail.store(1u << 20); // the consumer claims to have read what was never written
        EXPECT_EQ(ring.writer.write(1, 0, 0, std::string(4000, 'x')), RingWriter::Result::TooLarge);
        EXPECT_LT(ring.writer.freeSpace(), 0);
    }
}

TEST(RingTest, AReaderSurvivesAnythingThePeerWrites)
{
    // A hostile worker controls the bytes and the head index: the server's reader must return
    // Corrupt (or bounded records) and never read outside the ring (ASan checks the latter).
    std::mt19937 random(1234);
    int corrupt = 0;
    for (int round = 0; round < 2000; ++round) {
        LocalRing ring(4096, 1024);
        for (char& c : ring.data)
            c = static_cast<char>(random());
        if (round % 3 == 0) { // a plausible header with garbage after it
            RecordHeader fake;
            fake.length = random() % 5000;
            fake.type = 16;
            fake.check = recordCheck(fake.length, fake.type, 0);
            std::memcpy(ring.data.data(), &fake, sizeof fake);
        }
        ring.control.head.store(round % 5 == 0 ? random() : random() % 8192);
        RecordHeader header;
        std::string payload;
        for (int i = 0; i < 8; ++i) {
            RingReader::Result result = ring.reader.read(header, payload);
            if (result == RingReader::Result::Corrupt) {
                ++corrupt;
                break;
            }
            if (result == RingReader::Result::Empty) break;
            ASSERT_LE(payload.size(), 1024u);
        }
    }
    EXPECT_GT(corrupt, 1000);
}

TEST(ChannelTest, BothEndsSeeEachOthersRecords)
{
    Channel server;
    server.create(8192);
    Channel worker;
    attachWorkerEnd(server, worker);
    ASSERT_EQ(server.writer().write(uint16_t(RecordType::RequestHead), kEndStream, 1, "GET"),
              RingWriter::Result::Written);
    server.publish();
    RecordHeader header;
    std::string payload;
    ASSERT_EQ(worker.reader().read(header, payload), RingReader::Result::Record);
    EXPECT_EQ(payload, "GET");
    ASSERT_EQ(worker.writer().write(uint16_t(RecordType::ResponseHead), kEndStream, 1, "200"),
              RingWriter::Result::Written);
    worker.publish();
    ASSERT_EQ(server.reader().read(header, payload), RingReader::Result::Record);
    EXPECT_EQ(payload, "200");
}

TEST(ChannelTest, WakesThePeerOnlyWhenItSleeps)
{
    Channel server;
    server.create(8192);
    Channel worker;
    attachWorkerEnd(server, worker);

    server.writer().write(1, 0, 1, "a");
    server.publish();
    EXPECT_FALSE(readable(worker.wakeFd())) << "the worker was not asleep: no system call";

    RecordHeader header;
    std::string payload;
    ASSERT_EQ(worker.reader().read(header, payload), RingReader::Result::Record);
    ASSERT_TRUE(worker.prepareToSleep());
    server.writer().write(1, 0, 2, "b");
    server.publish();
    EXPECT_TRUE(readable(worker.wakeFd())) << "asleep: woken once";
    worker.drainWake();
    server.writer().write(1, 0, 3, "c");
    server.publish();
    EXPECT_FALSE(readable(worker.wakeFd())) << "the flag was cleared by the first wake-up";

    EXPECT_FALSE(worker.prepareToSleep()) << "records are waiting: do not sleep";
}

TEST(ChannelTest, AWriterWaitingForSpaceIsWokenWhenThePeerConsumes)
{
    Channel server;
    server.create(4096);
    Channel worker;
    attachWorkerEnd(server, worker);
    std::string block(900, 'x');
    while (worker.writer().write(17, 0, 1, block) == RingWriter::Result::Written) {
    }
    worker.publish();
    EXPECT_FALSE(worker.prepareToWaitForSpace(recordSize(900)));
    RecordHeader header;
    std::string payload;
    ASSERT_EQ(server.reader().read(header, payload), RingReader::Result::Record);
    server.consumed();
    EXPECT_TRUE(readable(worker.wakeFd()));
    EXPECT_EQ(worker.writer().write(17, 0, 1, block), RingWriter::Result::Written);
}

TEST(ChannelTest, TheMemoryCannotShrinkUnderTheServer)
{
    Channel server;
    server.create(8192);
    EXPECT_NE(::ftruncate(server.memoryFd(), 4096), 0) << "sealed: a worker cannot make the server fault";
}

TEST(ChannelTest, StreamsBetweenThreadsWithBackPressure)
{
    Channel server;
    server.create(4096);
    Channel worker;
    attachWorkerEnd(server, worker);
    constexpr uint32_t kRecords = 20000;
    std::thread producer([&] {
        for (uint32_t i = 0; i < kRecords;) {
            std::string text = std::to_string(i);
            RingWriter::Result r = worker.writer().write(17, 0, i, text, std::string(i % 500, 'p'));
            if (r == RingWriter::Result::Written) {
                worker.publish();
                ++i;
                continue;
            }
            ASSERT_EQ(r, RingWriter::Result::Full);
            if (!worker.prepareToWaitForSpace(recordSize(600))) {
                pollfd p{worker.wakeFd(), POLLIN, 0};
                ::poll(&p, 1, 100);
                worker.drainWake();
            }
        }
    });
    RecordHeader header;
    std::string payload;
    for (uint32_t expected = 0; expected < kRecords;) {
        RingReader::Result r = server.reader().read(header, payload);
        ASSERT_NE(r, RingReader::Result::Corrupt);
        if (r == RingReader::Result::Empty) {
            if (server.prepareToSleep()) {
                pollfd p{server.wakeFd(), POLLIN, 0};
                ::poll(&p, 1, 100);
                server.drainWake();
            }
            continue;
        }
        server.consumed();
        ASSERT_EQ(header.stream, expected);
        ASSERT_EQ(payload.substr(0, std::to_string(expected).size()), std::to_string(expected));
        ++expected;
    }
    producer.join();
}
