#include "util/CrashHandler.h"

#include "util/Log.h"
#include "util/Redact.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <elf.h>
#include <execinfo.h>
#include <fcntl.h>
#include <mutex>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <vector>

namespace serval::util {
namespace {

// Everything the handler touches is static: no allocation, no locks, no stdio.

constexpr int kSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS};
constexpr size_t kReportBytes = 32 * 1024;
constexpr size_t kMaxFrames = 64;
constexpr size_t kMapsBytes = 256 * 1024;
constexpr size_t kMaxMappings = 1024;
constexpr size_t kAltStackBytes = 64 * 1024;

struct Sink
{
    std::atomic<bool> serverLog{false};
    std::atomic<int> fd{-1};
    std::atomic<char*> page{nullptr};
    std::atomic<size_t> pageSize{0};
};
Sink g_sink;
std::atomic<bool> g_installed{false};
std::atomic<bool> g_crashing{false};
char g_report[kReportBytes];
char g_maps[kMapsBytes];

/// One executable mapping of /proc/self/maps.
struct Mapping
{
    uintptr_t start;
    uintptr_t end;
    uintptr_t offset;
    const char* path; ///< into g_maps, NUL-terminated; "" for anonymous memory
};
Mapping g_mappings[kMaxMappings];
size_t g_mappingCount = 0;

/// One thread's note, in the executable's static TLS: the handler reads its own thread's without
/// a lock or an allocation. `sequence` is odd while the fields change (a seqlock), so
/// CrashHandler::running() can read another thread's consistently.
struct ThreadNote
{
    std::atomic<uint32_t> sequence{0};
    CrashNote::Fields fields{};
    pid_t thread = 0;
};
__attribute__((tls_model("initial-exec"))) thread_local ThreadNote t_note;

/// The notes of every thread that ever set one, for running(); a thread takes its own out when
/// it exits, under the mutex, so a reader never sees a note whose thread is gone.
std::mutex g_notesMutex;
std::vector<ThreadNote*>* g_notes = nullptr; ///< behind g_notesMutex; never freed (no global destructor)

void publish(const CrashNote::Fields& fields) noexcept
{
    uint32_t sequence = t_note.sequence.load(std::memory_order_relaxed);
    t_note.sequence.store(sequence + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    t_note.fields = fields;
    t_note.sequence.store(sequence + 2, std::memory_order_release);
}

/// What prepareThread() gave a thread (its alternate signal stack, its place in g_notes),
/// given back when the thread exits.
struct ThreadResources
{
    void* stack = nullptr;
    size_t stackSize = 0;
    bool listed = false;
    ~ThreadResources()
    {
        if (listed) {
            std::lock_guard<std::mutex> lock(g_notesMutex);
            g_notes->erase(std::remove(g_notes->begin(), g_notes->end(), &t_note), g_notes->end());
        }
        if (stack == nullptr) return;
        stack_t disable{};
        disable.ss_flags = SS_DISABLE;
        ::sigaltstack(&disable, nullptr);
        ::munmap(stack, stackSize);
    }
};
thread_local bool t_prepared = false;
thread_local ThreadResources t_resources;

// ---- formatting into g_report -------------------------------------------------------------------

class Report
{
public:
    void put(std::string_view text) noexcept
    {
        size_t room = kReportBytes - 1 - _size;
        size_t n = text.size() < room ? text.size() : room;
        std::memcpy(g_report + _size, text.data(), n);
        _size += n;
    }
    void put(char c) noexcept { put(std::string_view(&c, 1)); }
    void number(uint64_t value) noexcept
    {
        char digits[24];
        size_t n = 0;
        do {
            digits[sizeof digits - ++n] = static_cast<char>('0' + value % 10);
            value /= 10;
        } while (value != 0);
        put(std::string_view(digits + sizeof digits - n, n));
    }
    void hex(uint64_t value, int minDigits = 1) noexcept
    {
        static const char kHex[] = "0123456789abcdef";
        char digits[16];
        int n = 0;
        do {
            digits[15 - n++] = kHex[value & 0xf];
            value >>= 4;
        } while (value != 0 || n < minDigits);
        put("0x");
        put(std::string_view(digits + 16 - n, static_cast<size_t>(n)));
    }
    void padded(uint64_t value, int width) noexcept
    {
        char digits[8];
        for (int i = width - 1; i >= 0; --i) {
            digits[i] = static_cast<char>('0' + value % 10);
            value /= 10;
        }
        put(std::string_view(digits, static_cast<size_t>(width)));
    }
    /// "2026-11-25T20:55:01.123Z ERROR [crash] ", as util::Log writes (the Logs tab parses it).
    void beginLine() noexcept
    {
        timespec now{};
        ::clock_gettime(CLOCK_REALTIME, &now);
        // Civil date from days since the epoch (Howard Hinnant's algorithm): gmtime_r is not
        // async-signal-safe.
        int64_t days = now.tv_sec / 86400;
        int64_t secondOfDay = now.tv_sec % 86400;
        days += 719468;
        int64_t era = days / 146097;
        int64_t dayOfEra = days - era * 146097;
        int64_t yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146096) / 365;
        int64_t dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100);
        int64_t monthIndex = (5 * dayOfYear + 2) / 153;
        int64_t day = dayOfYear - (153 * monthIndex + 2) / 5 + 1;
        int64_t month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9;
        int64_t year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
        padded(static_cast<uint64_t>(year), 4);
        put('-');
        padded(static_cast<uint64_t>(month), 2);
        put('-');
        padded(static_cast<uint64_t>(day), 2);
        put('T');
        padded(static_cast<uint64_t>(secondOfDay / 3600), 2);
        put(':');
        padded(static_cast<uint64_t>(secondOfDay / 60 % 60), 2);
        put(':');
        padded(static_cast<uint64_t>(secondOfDay % 60), 2);
        put('.');
        padded(static_cast<uint64_t>(now.tv_nsec / 1000000), 3);
        put("Z ERROR [crash] ");
    }
    void endLine() noexcept { put('\n'); }
    std::string_view text() const noexcept { return std::string_view(g_report, _size); }

private:
    size_t _size = 0;
};

std::string_view signalName(int signal) noexcept
{
    switch (signal) {
    case SIGSEGV:
        return "SIGSEGV (invalid memory access)";
    case SIGBUS:
        return "SIGBUS (bus error)";
    case SIGILL:
        return "SIGILL (illegal instruction)";
    case SIGFPE:
        return "SIGFPE (arithmetic error)";
    case SIGABRT:
        return "SIGABRT (abort)";
    case SIGTRAP:
        return "SIGTRAP (trap)";
    case SIGSYS:
        return "SIGSYS (bad system call)";
    default:
        return "a fatal signal";
    }
}

std::string_view codeName(int signal, int code) noexcept
{
    if (code <= 0) return "sent by a process";
    switch (signal) {
    case SIGSEGV:
        return code == SEGV_MAPERR ? "address not mapped" : code == SEGV_ACCERR ? "no access" : "";
    case SIGBUS:
        return code == BUS_ADRALN ? "misaligned" : code == BUS_ADRERR ? "no such address" : "";
    case SIGFPE:
        return code == FPE_INTDIV ? "integer divide by zero" : code == FPE_INTOVF ? "integer overflow" : "";
    case SIGILL:
        return code == ILL_ILLOPC ? "illegal opcode" : "";
    default:
        return "";
    }
}

/// Copies `length` bytes at `from` (a note's view) without trusting the pointer: the kernel
/// reports a bad address as an error instead of a fault. Returns the bytes copied.
size_t safeCopy(char* to, const char* from, size_t length) noexcept
{
    if (from == nullptr || length == 0) return 0;
    iovec local{to, length};
    iovec remote{const_cast<char*>(from), length};
    ssize_t n = ::process_vm_readv(::getpid(), &local, 1, &remote, 1, 0);
    return n > 0 ? static_cast<size_t>(n) : 0;
}

void putNoteField(Report& report, const char* from, size_t length, size_t limit) noexcept
{
    char copy[512];
    length = length < limit ? length : limit;
    length = length < sizeof copy ? length : sizeof copy;
    size_t got = safeCopy(copy, from, length);
    if (got == 0 && length > 0) {
        report.put("(unreadable)");
        return;
    }
    for (size_t i = 0; i < got; ++i) { // one line, printable
        if (static_cast<unsigned char>(copy[i]) < 0x20 || copy[i] == 0x7f) copy[i] = '?';
    }
    report.put(std::string_view(copy, got));
}

// ---- modules and symbols ---------------------------------------------------------------------------

uintptr_t parseHex(const char*& p, const char* end) noexcept
{
    uintptr_t value = 0;
    for (; p < end; ++p) {
        char c = *p;
        int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (digit < 0) break;
        value = value * 16 + static_cast<uintptr_t>(digit);
    }
    return value;
}

/// Reads /proc/self/maps into g_maps and keeps the executable mappings.
void readMappings() noexcept
{
    g_mappingCount = 0;
    int fd = ::open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    size_t size = 0;
    while (size < kMapsBytes - 1) {
        ssize_t n = ::read(fd, g_maps + size, kMapsBytes - 1 - size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        size += static_cast<size_t>(n);
    }
    ::close(fd);
    g_maps[size] = '\0';
    // "start-end perms offset dev inode   path"
    char* line = g_maps;
    char* end = g_maps + size;
    while (line < end && g_mappingCount < kMaxMappings) {
        char* newline = static_cast<char*>(std::memchr(line, '\n', static_cast<size_t>(end - line)));
        char* lineEnd = newline != nullptr ? newline : end;
        *lineEnd = '\0';
        const char* p = line;
        Mapping m{};
        m.start = parseHex(p, lineEnd);
        if (p < lineEnd && *p == '-') ++p;
        m.end = parseHex(p, lineEnd);
        while (p < lineEnd && *p == ' ')
            ++p;
        bool executable = p + 4 <= lineEnd && p[2] == 'x'; // "r-xp"
        while (p < lineEnd && *p != ' ')
            ++p;
        while (p < lineEnd && *p == ' ')
            ++p;
        m.offset = parseHex(p, lineEnd);
        // Skip dev and inode to the path (the sixth field, if any).
        for (int field = 0; field < 2 && p < lineEnd; ++field) {
            while (p < lineEnd && *p == ' ')
                ++p;
            while (p < lineEnd && *p != ' ')
                ++p;
        }
        while (p < lineEnd && *p == ' ')
            ++p;
        m.path = p;
        if (executable) g_mappings[g_mappingCount++] = m;
        line = lineEnd + 1;
    }
}

const Mapping* mappingOf(uintptr_t pc) noexcept
{
    for (size_t i = 0; i < g_mappingCount; ++i) {
        if (pc >= g_mappings[i].start && pc < g_mappings[i].end) return &g_mappings[i];
    }
    return nullptr;
}

/// A module file mapped read-only for the symbol lookup; unmapped on destruction.
class MappedFile
{
public:
    explicit MappedFile(const char* path) noexcept
    {
        int fd = ::open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return;
        struct stat st;
        if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
            void* data = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
            if (data != MAP_FAILED) {
                _data = static_cast<const unsigned char*>(data);
                _size = static_cast<size_t>(st.st_size);
            }
        }
        ::close(fd);
    }
    ~MappedFile()
    {
        if (_data != nullptr) ::munmap(const_cast<unsigned char*>(_data), _size);
    }
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    /// A T at `offset` if it lies wholly inside the file.
    template <typename T> const T* at(uint64_t offset, uint64_t count = 1) const noexcept
    {
        if (_data == nullptr || offset > _size || count > (_size - offset) / sizeof(T)) return nullptr;
        return reinterpret_cast<const T*>(_data + offset);
    }
    size_t size() const noexcept { return _size; }

private:
    const unsigned char* _data = nullptr;
    size_t _size = 0;
};

/// The virtual address (as addr2line wants it) of `fileOffset` in an ELF64 file; false if the
/// file is not one or no PT_LOAD covers it.
bool virtualAddress(const MappedFile& file, uint64_t fileOffset, uint64_t& vaddr) noexcept
{
    const auto* header = file.at<Elf64_Ehdr>(0);
    if (header == nullptr || std::memcmp(header->e_ident, ELFMAG, SELFMAG) != 0 ||
        header->e_ident[EI_CLASS] != ELFCLASS64 || header->e_phentsize != sizeof(Elf64_Phdr))
        return false;
    const auto* programs = file.at<Elf64_Phdr>(header->e_phoff, header->e_phnum);
    if (programs == nullptr) return false;
    for (unsigned i = 0; i < header->e_phnum; ++i) {
        const Elf64_Phdr& ph = programs[i];
        if (ph.p_type == PT_LOAD && fileOffset >= ph.p_offset && fileOffset < ph.p_offset + ph.p_filesz) {
            vaddr = fileOffset - ph.p_offset + ph.p_vaddr;
            return true;
        }
    }
    return false;
}

/// The function covering `vaddr` in the ELF symbol table (.symtab: hidden symbols too; else
/// .dynsym), with the distance from its start.
bool functionAt(const MappedFile& file, uint64_t vaddr, std::string_view& name, uint64_t& distance) noexcept
{
    const auto* header = file.at<Elf64_Ehdr>(0);
    if (header == nullptr || header->e_shentsize != sizeof(Elf64_Shdr)) return false;
    const auto* sections = file.at<Elf64_Shdr>(header->e_shoff, header->e_shnum);
    if (sections == nullptr) return false;
    for (uint32_t wanted : {uint32_t(SHT_SYMTAB), uint32_t(SHT_DYNSYM)}) {
        for (unsigned i = 0; i < header->e_shnum; ++i) {
            const Elf64_Shdr& table = sections[i];
            if (table.sh_type != wanted || table.sh_entsize != sizeof(Elf64_Sym) ||
                table.sh_link >= header->e_shnum)
                continue;
            const Elf64_Shdr& strings = sections[table.sh_link];
            uint64_t count = table.sh_size / sizeof(Elf64_Sym);
            const auto* symbols = file.at<Elf64_Sym>(table.sh_offset, count);
            const auto* text = file.at<char>(strings.sh_offset, strings.sh_size);
            if (symbols == nullptr || text == nullptr) continue;
            for (uint64_t s = 0; s < count; ++s) {
                const Elf64_Sym& sym = symbols[s];
                if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_size == 0) continue;
                if (vaddr < sym.st_value || vaddr - sym.st_value >= sym.st_size) continue;
                if (sym.st_name >= strings.sh_size) continue;
                const char* start = text + sym.st_name;
                const void* nul = std::memchr(start, '\0', strings.sh_size - sym.st_name);
                if (nul == nullptr) continue;
                name = std::string_view(start, static_cast<size_t>(static_cast<const char*>(nul) - start));
                distance = vaddr - sym.st_value;
                return true;
            }
        }
    }
    return false;
}

/// "#3 0x00007f1234561139 libcrash.so+0x1139 crashHere+0x9"
void putFrame(Report& report, size_t index, uintptr_t pc) noexcept
{
    report.beginLine();
    report.put("  #");
    report.number(index);
    report.put(' ');
    report.hex(pc, 16);
    const Mapping* mapping = mappingOf(pc);
    if (mapping == nullptr || mapping->path[0] == '\0') {
        report.put(" ?");
        report.endLine();
        return;
    }
    uint64_t fileOffset = pc - mapping->start + mapping->offset;
    std::string_view path = mapping->path;
    size_t slash = path.rfind('/');
    report.put(' ');
    report.put(slash == std::string_view::npos ? path : path.substr(slash + 1));
    MappedFile file(mapping->path);
    uint64_t vaddr = fileOffset;
    bool elf = virtualAddress(file, fileOffset, vaddr);
    report.put('+');
    report.hex(vaddr);
    std::string_view function;
    uint64_t distance = 0;
    if (elf && functionAt(file, vaddr, function, distance)) {
        report.put(' ');
        report.put(function);
        report.put('+');
        report.hex(distance);
    }
    report.endLine();
}

uintptr_t contextPc(void* context) noexcept
{
    auto* uc = static_cast<ucontext_t*>(context);
    if (uc == nullptr) return 0;
#if defined(__x86_64__)
    return static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
    return static_cast<uintptr_t>(uc->uc_mcontext.pc);
#else
    return 0;
#endif
}

void writeAll(int fd, std::string_view text) noexcept
{
    while (fd >= 0 && !text.empty()) {
        ssize_t n = ::write(fd, text.data(), text.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        text.remove_prefix(static_cast<size_t>(n));
    }
}

void deliver(std::string_view report) noexcept
{
    int logFd = g_sink.serverLog.load() ? Log::fileDescriptor() : -1;
    writeAll(logFd, report);
    bool toStderr = g_sink.serverLog.load() && (logFd < 0 || Log::writesToStderr());
    int fd = g_sink.fd.load();
    if (toStderr && fd != 2 && fd != logFd) writeAll(2, report);
    if (fd != logFd) writeAll(fd, report);
    char* page = g_sink.page.load();
    size_t pageSize = g_sink.pageSize.load();
    if (page != nullptr && pageSize > 0) {
        size_t n = report.size() < pageSize - 1 ? report.size() : pageSize - 1;
        std::memcpy(page, report.data(), n);
        page[n] = '\0';
    }
}

void onFatalSignal(int signal, siginfo_t* info, void* context)
{
    int savedErrno = errno;
    if (g_crashing.exchange(true)) {
        // Another thread is writing its report and will end the process: wait for that.
        for (;;)
            ::pause();
    }
    Report report;
    report.beginLine();
    report.put("fatal signal ");
    report.put(signalName(signal));
    std::string_view code = info != nullptr ? codeName(signal, info->si_code) : "";
    if (!code.empty()) {
        report.put(", ");
        report.put(code);
    }
    if (info != nullptr && info->si_code > 0 &&
        (signal == SIGSEGV || signal == SIGBUS || signal == SIGILL || signal == SIGFPE)) {
        report.put(", fault address ");
        report.hex(reinterpret_cast<uintptr_t>(info->si_addr));
    }
    report.put(", thread ");
    report.number(static_cast<uint64_t>(::syscall(SYS_gettid)));
    char threadName[17] = {};
    if (::prctl(PR_GET_NAME, threadName) == 0 && threadName[0] != '\0') {
        report.put(" \"");
        report.put(std::string_view(threadName));
        report.put('"');
    }
    report.endLine();

    report.beginLine();
    const CrashNote::Fields note = t_note.fields;
    if (note.app == nullptr && note.target == nullptr) {
        report.put("the thread was not serving an application request");
    } else {
        report.put("app ");
        putNoteField(report, note.app, note.appLength, 256);
        report.put(": ");
        if (note.methodLength == 0) {
            putNoteField(report, note.target, note.targetLength, 256); // an activity: "starting"
        } else {
            putNoteField(report, note.method, note.methodLength, 32);
            report.put(' ');
            char target[1024];
            char redacted[1024 + 256];
            size_t length = note.targetLength < sizeof target ? note.targetLength : sizeof target;
            size_t got = safeCopy(target, note.target, length);
            if (got == 0 && length > 0) {
                report.put("(unreadable)");
            } else {
                bool changed = false;
                size_t n = redactTarget(std::string_view(target, got), redacted, sizeof redacted, changed);
                for (size_t i = 0; i < n; ++i) {
                    if (static_cast<unsigned char>(redacted[i]) < 0x20 || redacted[i] == 0x7f)
                        redacted[i] = '?';
                }
                report.put(std::string_view(redacted, n));
            }
            report.put(" HTTP/1.");
            report.number(note.versionMinor > 0 ? static_cast<uint64_t>(note.versionMinor) : 0);
        }
    }
    report.endLine();

    void* frames[kMaxFrames];
    int count = ::backtrace(frames, static_cast<int>(kMaxFrames));
    // Frames above the fault are this handler's and the kernel's trampoline: start at the PC the
    // signal interrupted when the unwinder found it.
    uintptr_t pc = contextPc(context);
    int first = 0;
    for (int i = 0; i < count; ++i) {
        if (reinterpret_cast<uintptr_t>(frames[i]) == pc) {
            first = i;
            break;
        }
    }
    readMappings();
    report.beginLine();
    report.put("backtrace (module+offset for addr2line -e MODULE OFFSET):");
    report.endLine();
    if (pc != 0 && (count == 0 || reinterpret_cast<uintptr_t>(frames[first]) != pc)) putFrame(report, 0, pc);
    for (int i = first, index = pc != 0 && reinterpret_cast<uintptr_t>(frames[first]) != pc ? 1 : 0;
         i < count; ++i, ++index) {
        // Return addresses point after the call: one byte back lands inside the calling function.
        auto address = reinterpret_cast<uintptr_t>(frames[i]);
        putFrame(report, static_cast<size_t>(index), i == first && address == pc ? address : address - 1);
    }
    report.beginLine();
    report.put("the process ends with signal ");
    report.number(static_cast<uint64_t>(signal));
    report.put(" and its default action (a core dump where the system allows one)");
    report.endLine();
    deliver(report.text());

    // The default action, with the same signal: a fault the kernel raised recurs when the
    // handler returns (the core then shows the real fault); one sent by a process is sent again.
    struct sigaction defaults
    {
    };
    defaults.sa_handler = SIG_DFL;
    sigemptyset(&defaults.sa_mask);
    ::sigaction(signal, &defaults, nullptr);
    if (info == nullptr || info->si_code <= 0)
        ::syscall(SYS_tgkill, ::getpid(), ::syscall(SYS_gettid), signal);
    errno = savedErrno;
}

} // namespace

void CrashHandler::install(const CrashSink& sink) noexcept
{
    g_sink.serverLog.store(sink.serverLog);
    g_sink.fd.store(sink.fd);
    g_sink.pageSize.store(0);
    g_sink.page.store(sink.page);
    g_sink.pageSize.store(sink.page != nullptr ? sink.pageSize : 0);
    if (g_installed.exchange(true)) return;
    // backtrace() loads its unwinder (libgcc_s) with dlopen on first use: do that now, not in
    // the handler.
    void* warmUp[2];
    ::backtrace(warmUp, 2);
    for (int signal : kSignals) {
        struct sigaction action
        {
        };
        action.sa_sigaction = &onFatalSignal;
        action.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&action.sa_mask);
        ::sigaction(signal, &action, nullptr);
    }
    prepareThread();
}

void CrashHandler::prepareThread() noexcept
{
    if (t_prepared) return;
    t_prepared = true;
    try {
        std::lock_guard<std::mutex> lock(g_notesMutex);
        if (g_notes == nullptr) g_notes = new std::vector<ThreadNote*>();
        g_notes->push_back(&t_note);
        t_note.thread = static_cast<pid_t>(::syscall(SYS_gettid));
        t_resources.listed = true;
    } catch (...) {
        // Out of memory: this thread's notes still reach its own crash report.
    }
    stack_t current{};
    if (::sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return; // has one
    long page = ::sysconf(_SC_PAGESIZE);
    size_t guard = page > 0 ? static_cast<size_t>(page) : 4096;
    size_t size = kAltStackBytes + guard;
    void* memory =
        ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (memory == MAP_FAILED) return;
    ::mprotect(memory, guard, PROT_NONE); // an overflow of the handler's own stack faults, not corrupts
    stack_t stack{};
    stack.ss_sp = static_cast<char*>(memory) + guard;
    stack.ss_size = kAltStackBytes;
    if (::sigaltstack(&stack, nullptr) != 0) {
        ::munmap(memory, size);
        return;
    }
    t_resources.stack = memory;
    t_resources.stackSize = size;
}

std::vector<std::string> CrashHandler::running()
{
    std::vector<std::string> out;
    std::lock_guard<std::mutex> lock(g_notesMutex);
    if (g_notes == nullptr) return out;
    for (ThreadNote* note : *g_notes) {
        // Read the fields and the strings they view, then check nothing changed meanwhile; the
        // strings are copied with process_vm_readv, so a request that just ended reads as
        // changed (or unreadable), never as a fault.
        for (int attempt = 0; attempt < 8; ++attempt) {
            uint32_t before = note->sequence.load(std::memory_order_acquire);
            if (before % 2 != 0) continue;
            CrashNote::Fields fields = note->fields;
            if (fields.app == nullptr) break; // not serving anything
            char app[256];
            char method[32];
            char target[1024];
            char redacted[1024 + 256];
            size_t appLength = safeCopy(app, fields.app, std::min(fields.appLength, sizeof app));
            size_t methodLength =
                safeCopy(method, fields.method, std::min(fields.methodLength, sizeof method));
            size_t targetLength =
                safeCopy(target, fields.target, std::min(fields.targetLength, sizeof target));
            std::atomic_thread_fence(std::memory_order_acquire);
            if (note->sequence.load(std::memory_order_relaxed) != before) continue;
            bool changed = false;
            size_t redactedLength =
                redactTarget(std::string_view(target, targetLength), redacted, sizeof redacted, changed);
            std::string line = "app " + std::string(app, appLength) + ": ";
            if (fields.methodLength == 0) {
                line.append(target, targetLength);
            } else {
                line.append(method, methodLength).append(" ").append(redacted, redactedLength);
                line += " HTTP/1." + std::to_string(fields.versionMinor > 0 ? fields.versionMinor : 0);
            }
            out.push_back(line + " (thread " + std::to_string(note->thread) + ")");
            break;
        }
    }
    return out;
}

CrashNote::CrashNote(std::string_view app, std::string_view method, std::string_view target,
                     int versionMinor) noexcept
    : _previous(t_note.fields)
{
    CrashHandler::prepareThread();
    publish(Fields{app.data(), app.size(), method.data(), method.size(), target.data(), target.size(),
                   versionMinor});
}

CrashNote::~CrashNote()
{
    publish(_previous);
}

} // namespace serval::util
