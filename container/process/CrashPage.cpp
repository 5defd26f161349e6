#include "process/CrashPage.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <new>
#include <stdexcept>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace serval::process {
namespace {

constexpr size_t kPageBytes = (sizeof(CrashPage) + 4095) & ~size_t(4095);

/// A NUL-terminated (or full) buffer written by the peer, as printable text.
template <size_t N> std::string textOf(const char (&buffer)[N])
{
    std::string out;
    for (size_t i = 0; i < N && buffer[i] != '\0'; ++i) {
        unsigned char c = static_cast<unsigned char>(buffer[i]);
        out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
    }
    return out;
}

void readFrames(const CrashPage::Frames& frames, CrashSnapshot& out)
{
    out.tid = frames.tid;
    uint32_t count = std::min<uint32_t>(frames.count, CrashPage::kMaxFrames);
    out.frames.assign(frames.pcs, frames.pcs + count);
}

void readCommon(const CrashPage& page, CrashSnapshot& out)
{
    uint32_t modules = std::min<uint32_t>(page.moduleCount, CrashPage::kMaxModules);
    for (uint32_t i = 0; i < modules; ++i) {
        const CrashPage::Module& m = page.modules[i];
        if (m.end <= m.start) continue;
        out.modules.push_back(CrashSnapshot::Module{m.base, m.start, m.end, textOf(m.path)});
    }
    for (const CrashPage::ThreadNote& note : page.threads) {
        int32_t tid = note.tid.load(std::memory_order_relaxed);
        if (tid == 0 || note.busy.load(std::memory_order_relaxed) == 0) continue;
        out.threads.push_back(CrashSnapshot::Thread{tid, textOf(note.request)});
    }
}

} // namespace

CrashPageMapping::~CrashPageMapping()
{
    if (_page != nullptr) ::munmap(_page, kPageBytes);
}

void CrashPageMapping::create()
{
    _fd.reset(::memfd_create("serval-crash", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!_fd || ::ftruncate(_fd.get(), kPageBytes) != 0 ||
        ::fcntl(_fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
        throw std::runtime_error(std::string("cannot create a worker crash page: ") + std::strerror(errno));
    void* base = ::mmap(nullptr, kPageBytes, PROT_READ | PROT_WRITE, MAP_SHARED, _fd.get(), 0);
    if (base == MAP_FAILED)
        throw std::runtime_error(std::string("cannot map a worker crash page: ") + std::strerror(errno));
    _page = new (base) CrashPage();
}

void CrashPageMapping::attach(util::FileDescriptor fd)
{
    struct stat st;
    if (!fd || ::fstat(fd.get(), &st) != 0 || static_cast<size_t>(st.st_size) != kPageBytes)
        throw std::runtime_error("the crash page has the wrong size");
    void* base = ::mmap(nullptr, kPageBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    if (base == MAP_FAILED)
        throw std::runtime_error(std::string("cannot map the crash page: ") + std::strerror(errno));
    _fd = std::move(fd);
    _page = static_cast<CrashPage*>(base);
    if (_page->magic != CrashPage::kMagic || _page->version != CrashPage::kVersion)
        throw std::runtime_error("the crash page has the wrong magic or version");
}

std::string CrashSnapshot::faultingRequest() const
{
    for (const Thread& t : threads) {
        if (t.tid == tid) return t.request;
    }
    return {};
}

CrashSnapshot CrashSnapshot::readFault(const CrashPage& page)
{
    CrashSnapshot out;
    uint32_t state = page.fault.state.load(std::memory_order_acquire);
    if (state != CrashPage::Writing && state != CrashPage::Complete) return out;
    out.kind = page.fault.kind == CrashPage::Exit ? CrashPage::Exit : CrashPage::Signal;
    out.signal = page.fault.signal;
    out.code = page.fault.code;
    out.address = page.fault.address;
    readFrames(page.fault.frames, out);
    readCommon(page, out);
    return out;
}

CrashSnapshot CrashSnapshot::readStack(const CrashPage& page)
{
    CrashSnapshot out;
    if (page.stack.frames.state.load(std::memory_order_acquire) != CrashPage::Complete) return out;
    readFrames(page.stack.frames, out);
    readCommon(page, out);
    return out;
}

} // namespace serval::process
