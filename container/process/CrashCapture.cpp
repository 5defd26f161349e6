#include "process/CrashCapture.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <execinfo.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

namespace serval::process {
namespace {

CrashPage* g_page = nullptr;
std::atomic<bool> g_exitArmed{false};
thread_local int t_slot = -1;

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS, SIGTRAP};
constexpr size_t kAltStackBytes = 64 * 1024;

/// The signal a request thread receives to dump its own stack: an RT signal glibc leaves free.
int stackSignal() noexcept
{
    return SIGRTMIN + 3;
}

int32_t currentTid() noexcept
{
    return static_cast<int32_t>(::syscall(SYS_gettid));
}

/// backtrace() into `frames`, with `pc` (the interrupted instruction, when known) first.
/// backtrace() is async-signal-safe once libgcc's unwinder is loaded (install() does that).
void recordFrames(CrashPage::Frames& frames, uint64_t pc) noexcept
{
    frames.tid = currentTid();
    void* raw[CrashPage::kMaxFrames];
    int n = ::backtrace(raw, static_cast<int>(CrashPage::kMaxFrames));
    uint32_t count = 0;
    if (pc != 0) frames.pcs[count++] = pc;
    // The first frames are this handler and the kernel's signal trampoline: skip up to the
    // interrupted PC when it is in the list.
    int first = 0;
    if (pc != 0) {
        for (int i = 0; i < n; ++i) {
            if (reinterpret_cast<uint64_t>(raw[i]) == pc) {
                first = i + 1;
                break;
            }
        }
    }
    for (int i = first; i < n && count < CrashPage::kMaxFrames; ++i)
        frames.pcs[count++] = reinterpret_cast<uint64_t>(raw[i]);
    frames.count = count;
}

uint64_t interruptedPc(void* context) noexcept
{
#if defined(__x86_64__)
    return static_cast<uint64_t>(static_cast<ucontext_t*>(context)->uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
    return static_cast<uint64_t>(static_cast<ucontext_t*>(context)->uc_mcontext.pc);
#else
    (void)context;
    return 0;
#endif
}

void onFatalSignal(int sig, siginfo_t* info, void* context)
{
    if (g_page != nullptr) {
        uint32_t expected = CrashPage::Empty;
        CrashPage::Fault& fault = g_page->fault;
        if (fault.state.compare_exchange_strong(expected, CrashPage::Writing)) {
            fault.kind = CrashPage::Signal;
            fault.signal = sig;
            fault.code = info != nullptr ? info->si_code : 0;
            fault.address = info != nullptr ? reinterpret_cast<uint64_t>(info->si_addr) : 0;
            recordFrames(fault.frames, interruptedPc(context));
            fault.state.store(CrashPage::Complete, std::memory_order_release);
        }
    }
    // SA_RESETHAND restored the default action: once this handler returns, the signal raised
    // here is delivered and the process dies of it (a fault would also recur on its own).
    ::syscall(SYS_tgkill, ::getpid(), currentTid(), sig);
}

void onStackSignal(int, siginfo_t*, void*)
{
    if (g_page == nullptr) return;
    CrashPage::Frames& frames = g_page->stack.frames;
    if (frames.state.load(std::memory_order_acquire) != CrashPage::Requested || frames.tid != currentTid())
        return;
    recordFrames(frames, 0);
    frames.tid = currentTid();
    frames.state.store(CrashPage::Complete, std::memory_order_release);
}

void onExit()
{
    if (g_page == nullptr || !g_exitArmed.load()) return;
    uint32_t expected = CrashPage::Empty;
    CrashPage::Fault& fault = g_page->fault;
    if (!fault.state.compare_exchange_strong(expected, CrashPage::Writing)) return;
    fault.kind = CrashPage::Exit;
    recordFrames(fault.frames, 0);
    fault.state.store(CrashPage::Complete, std::memory_order_release);
}

int addModule(dl_phdr_info* info, size_t, void* data)
{
    CrashPage* page = static_cast<CrashPage*>(data);
    if (page->moduleCount >= CrashPage::kMaxModules) return 1;
    uint64_t low = UINT64_MAX;
    uint64_t high = 0;
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        if (ph.p_type != PT_LOAD) continue;
        low = std::min<uint64_t>(low, info->dlpi_addr + ph.p_vaddr);
        high = std::max<uint64_t>(high, info->dlpi_addr + ph.p_vaddr + ph.p_memsz);
    }
    if (high <= low) return 0;
    CrashPage::Module& m = page->modules[page->moduleCount];
    m.base = info->dlpi_addr;
    m.start = low;
    m.end = high;
    const char* name = info->dlpi_name;
    char self[CrashPage::kPathBytes] = {};
    if (name == nullptr || name[0] == '\0') { // the executable itself
        ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
        if (n > 0) self[n] = '\0';
        name = self;
    }
    size_t length = std::min(std::strlen(name), sizeof m.path - 1);
    std::memcpy(m.path, name, length);
    m.path[length] = '\0';
    ++page->moduleCount;
    return 0;
}

} // namespace

void CrashCapture::install(CrashPage* page)
{
    g_page = page;
    // backtrace() loads libgcc_s on first use (dlopen, malloc): never inside a handler.
    void* warm[4];
    ::backtrace(warm, 4);

    struct sigaction fatal
    {
    };
    fatal.sa_sigaction = &onFatalSignal;
    fatal.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
    sigemptyset(&fatal.sa_mask);
    for (int sig : kFatalSignals)
        ::sigaction(sig, &fatal, nullptr);

    struct sigaction dump
    {
    };
    dump.sa_sigaction = &onStackSignal;
    dump.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&dump.sa_mask);
    ::sigaction(stackSignal(), &dump, nullptr);

    std::atexit(&onExit);
    g_exitArmed.store(true);
    enterThread();
}

void CrashCapture::recordModules()
{
    if (g_page == nullptr) return;
    g_page->moduleCount = 0;
    ::dl_iterate_phdr(&addModule, g_page);
}

int CrashCapture::enterThread()
{
    // An alternate stack, so a stack overflow still reaches the handler. Leaked on purpose:
    // the thread may be in the handler on it when it dies.
    void* stack = ::mmap(nullptr, kAltStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stack != MAP_FAILED) {
        stack_t ss{};
        ss.ss_sp = stack;
        ss.ss_size = kAltStackBytes;
        ::sigaltstack(&ss, nullptr);
    }
    if (g_page == nullptr || t_slot >= 0) return t_slot;
    int32_t tid = currentTid();
    for (size_t i = 0; i < CrashPage::kMaxThreads; ++i) {
        int32_t free = 0;
        if (g_page->threads[i].tid.compare_exchange_strong(free, tid)) {
            t_slot = static_cast<int>(i);
            break;
        }
    }
    return t_slot;
}

void CrashCapture::beginRequest(uint32_t channel, uint32_t stream, std::string_view method,
                                std::string_view target) noexcept
{
    if (g_page == nullptr || t_slot < 0) return;
    CrashPage::ThreadNote& note = g_page->threads[t_slot];
    note.channel = channel;
    note.stream = stream;
    size_t n = 0;
    auto put = [&](std::string_view part) {
        size_t take = std::min(part.size(), sizeof note.request - 1 - n);
        if (take == 0) return; // an empty view's data() may be null
        std::memcpy(note.request + n, part.data(), take);
        n += take;
    };
    put(method);
    put(" ");
    put(target);
    note.request[n] = '\0';
    note.busy.store(1, std::memory_order_release);
}

void CrashCapture::endRequest() noexcept
{
    if (g_page == nullptr || t_slot < 0) return;
    g_page->threads[t_slot].busy.store(0, std::memory_order_release);
}

int32_t CrashCapture::threadServing(uint32_t channel, uint32_t stream) noexcept
{
    if (g_page == nullptr) return 0;
    for (const CrashPage::ThreadNote& note : g_page->threads) {
        if (note.busy.load(std::memory_order_acquire) != 0 && note.channel == channel &&
            note.stream == stream)
            return note.tid.load(std::memory_order_relaxed);
    }
    return 0;
}

bool CrashCapture::captureStack(int32_t tid, uint32_t channel, uint32_t stream, int timeoutMs) noexcept
{
    if (g_page == nullptr || tid == 0) return false;
    CrashPage::Stack& stack = g_page->stack;
    stack.channel = channel;
    stack.stream = stream;
    stack.frames.count = 0;
    stack.frames.tid = tid;
    stack.frames.state.store(CrashPage::Requested, std::memory_order_release);
    if (::syscall(SYS_tgkill, ::getpid(), tid, stackSignal()) != 0) return false;
    for (int waited = 0; waited < timeoutMs; ++waited) {
        if (stack.frames.state.load(std::memory_order_acquire) == CrashPage::Complete) return true;
        timespec ms{0, 1000 * 1000};
        ::nanosleep(&ms, nullptr);
    }
    return stack.frames.state.load(std::memory_order_acquire) == CrashPage::Complete;
}

void CrashCapture::disarmExitHook() noexcept
{
    g_exitArmed.store(false);
}

} // namespace serval::process
