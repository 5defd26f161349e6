#include "process/Channel.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <new>
#include <stdexcept>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace serval::process {
namespace {

constexpr size_t kHeaderBytes = 4096;
static_assert(sizeof(ChannelHeader) <= kHeaderBytes);

std::runtime_error systemError(const std::string& what)
{
    return std::runtime_error(what + ": " + std::strerror(errno));
}

bool isPowerOfTwo(uint32_t value) noexcept
{
    return value != 0 && (value & (value - 1)) == 0;
}

} // namespace

Channel::~Channel()
{
    if (_base != nullptr) ::munmap(_base, _size);
}

void Channel::map(uint32_t capacity)
{
    _capacity = capacity;
    _size = kHeaderBytes + 2 * size_t(capacity);
    _base = ::mmap(nullptr, _size, PROT_READ | PROT_WRITE, MAP_SHARED, _memory.get(), 0);
    if (_base == MAP_FAILED) {
        _base = nullptr;
        throw systemError("cannot map a worker channel");
    }
    _header = static_cast<ChannelHeader*>(_base);
    char* requests = static_cast<char*>(_base) + kHeaderBytes;
    char* responses = requests + capacity;
    uint32_t maxPayload = capacity / 4;
    if (_side == Side::Server) {
        _writer = RingWriter(&_header->requests, requests, capacity, maxPayload);
        _reader = RingReader(&_header->responses, responses, capacity, maxPayload);
    } else {
        _writer = RingWriter(&_header->responses, responses, capacity, maxPayload);
        _reader = RingReader(&_header->requests, requests, capacity, maxPayload);
    }
}

void Channel::create(uint32_t capacity)
{
    if (!isPowerOfTwo(capacity) || capacity < 4096) throw std::invalid_argument("bad channel capacity");
    _side = Side::Server;
    _memory.reset(::memfd_create("serval-channel", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!_memory) throw systemError("cannot create a worker channel (memfd_create)");
    if (::ftruncate(_memory.get(), static_cast<off_t>(kHeaderBytes + 2 * size_t(capacity))) != 0)
        throw systemError("cannot size a worker channel");
    // The worker gets this descriptor: without the seals it could shrink the file and every
    // server access past the new end would die of SIGBUS.
    if (::fcntl(_memory.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
        throw systemError("cannot seal a worker channel");
    _serverWake.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    _workerWake.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!_serverWake || !_workerWake) throw systemError("cannot create a worker channel's eventfd");
    map(capacity);
    new (_header) ChannelHeader();
    _header->capacity = capacity;
}

void Channel::attach(util::FileDescriptor memory, util::FileDescriptor serverWake,
                     util::FileDescriptor workerWake, uint32_t capacity)
{
    if (!isPowerOfTwo(capacity) || capacity < 4096) throw std::invalid_argument("bad channel capacity");
    _side = Side::Worker;
    _memory = std::move(memory);
    _serverWake = std::move(serverWake);
    _workerWake = std::move(workerWake);
    struct stat st;
    if (::fstat(_memory.get(), &st) != 0 ||
        static_cast<size_t>(st.st_size) != kHeaderBytes + 2 * size_t(capacity))
        throw std::runtime_error("the worker channel has the wrong size");
    map(capacity);
    if (_header->magic != ChannelHeader::kMagic || _header->version != ChannelHeader::kVersion)
        throw std::runtime_error("the worker channel has the wrong magic or version");
}

void Channel::signalIf(std::atomic<uint32_t>& flag) noexcept
{
    if (flag.load(std::memory_order_seq_cst) == 0 || flag.exchange(0, std::memory_order_seq_cst) == 0) return;
    uint64_t one = 1;
    int fd = _side == Side::Server ? _workerWake.get() : _serverWake.get();
    ssize_t ignored = ::write(fd, &one, sizeof one); // EAGAIN: a wake-up is pending anyway
    (void)ignored;
}

void Channel::publish() noexcept
{
    if (_writer.publish()) signalIf(peer().data);
}

void Channel::consumed() noexcept
{
    signalIf(peer().space);
}

bool Channel::prepareToSleep() noexcept
{
    own().data.store(1, std::memory_order_seq_cst);
    if (!_reader.pending()) return true;
    own().data.store(0, std::memory_order_relaxed);
    return false;
}

bool Channel::prepareToWaitForSpace(uint64_t bytes) noexcept
{
    own().space.store(1, std::memory_order_seq_cst);
    int64_t free = _writer.freeSpace();
    return free < 0 || static_cast<uint64_t>(free) >= bytes; // corrupt: the write says so
}

void Channel::drainWake() noexcept
{
    uint64_t value = 0;
    ssize_t ignored = ::read(wakeFd(), &value, sizeof value);
    (void)ignored;
}

} // namespace serval::process
