#include "process/Symbolizer.h"

#include <cstdio>
#include <cstdlib>
#include <cxxabi.h>
#include <elfutils/libdwfl.h>
#include <memory>

namespace serval::process {
namespace {

std::string baseName(const std::string& path)
{
    size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string demangle(const char* name)
{
    if (name == nullptr) return {};
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> demangled(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                                     &std::free);
    return status == 0 && demangled ? std::string(demangled.get()) : std::string(name);
}

struct DwflDeleter
{
    void operator()(Dwfl* dwfl) const noexcept { dwfl_end(dwfl); }
};

} // namespace

std::string Frame::describe(size_t index) const
{
    char pcText[32];
    std::snprintf(pcText, sizeof pcText, "0x%llx", static_cast<unsigned long long>(pc));
    std::string out = "#" + std::to_string(index) + " " + pcText + " " + (function.empty() ? "??" : function);
    if (!file.empty()) out += " at " + baseName(file) + ":" + std::to_string(line);
    if (!module.empty()) {
        char offsetText[32];
        std::snprintf(offsetText, sizeof offsetText, "+0x%llx", static_cast<unsigned long long>(offset));
        out += " (" + module + offsetText + ")";
    }
    return out;
}

std::vector<Frame> Symbolizer::symbolize(const CrashSnapshot& crash)
{
    static char* debuginfoPath = nullptr;
    static const Dwfl_Callbacks callbacks = {
        nullptr, // find_elf: every module is reported with its file name
        dwfl_standard_find_debuginfo,
        dwfl_offline_section_address,
        &debuginfoPath,
    };
    std::unique_ptr<Dwfl, DwflDeleter> dwfl(dwfl_begin(&callbacks));
    if (dwfl) {
        dwfl_report_begin(dwfl.get());
        for (const CrashSnapshot::Module& m : crash.modules) {
            if (m.path.empty() || m.path.front() != '/') continue; // [vdso] and the like
            dwfl_report_elf(dwfl.get(), baseName(m.path).c_str(), m.path.c_str(), -1, m.base, false);
        }
        dwfl_report_end(dwfl.get(), nullptr, nullptr);
    }
    std::vector<Frame> frames;
    for (size_t i = 0; i < crash.frames.size(); ++i) {
        Frame frame;
        frame.pc = crash.frames[i];
        for (const CrashSnapshot::Module& m : crash.modules) {
            if (frame.pc >= m.start && frame.pc < m.end) {
                frame.module = baseName(m.path);
                frame.modulePath = m.path;
                frame.offset = frame.pc - m.base;
                break;
            }
        }
        // A return address points after the call: look up the call itself (the interrupted
        // PC of a fault, frame 0, is exact).
        uint64_t lookup = i == 0 || frame.pc == 0 ? frame.pc : frame.pc - 1;
        if (dwfl) {
            if (Dwfl_Module* module = dwfl_addrmodule(dwfl.get(), lookup)) {
                GElf_Off offset = 0;
                GElf_Sym sym;
                const char* name =
                    dwfl_module_addrinfo(module, lookup, &offset, &sym, nullptr, nullptr, nullptr);
                frame.function = demangle(name);
                if (Dwfl_Line* line = dwfl_module_getsrc(module, lookup)) {
                    int lineNumber = 0;
                    const char* file = dwfl_lineinfo(line, nullptr, &lineNumber, nullptr, nullptr, nullptr);
                    if (file != nullptr) {
                        frame.file = file;
                        frame.line = lineNumber;
                    }
                }
            }
        }
        frames.push_back(std::move(frame));
    }
    return frames;
}

const Frame* Symbolizer::culprit(const std::vector<Frame>& frames, const std::string& appDirectory)
{
    std::string prefix =
        appDirectory.empty() || appDirectory.back() == '/' ? appDirectory : appDirectory + "/";
    // The app's own code first: its first frame that is not the standard library's (a template
    // such as std::this_thread::sleep_for, instantiated inside the app's library when not
    // inlined, is where the thread waits, not what the operator must look at), then any frame of
    // the app's library.
    auto inApp = [&](const Frame& f) { return !prefix.empty() && f.modulePath.rfind(prefix, 0) == 0; };
    auto standardLibrary = [](const Frame& f) {
        for (const char* std : {"std::", "void std::", "__gnu_cxx::", "serval::detail::"})
            if (f.function.rfind(std, 0) == 0) return true;
        return false;
    };
    for (const Frame& f : frames) {
        if (inApp(f) && !standardLibrary(f)) return &f;
    }
    for (const Frame& f : frames) {
        if (inApp(f)) return &f;
    }
    for (const Frame& f : frames) {
        if (!f.function.empty()) return &f;
    }
    return frames.empty() ? nullptr : &frames.front();
}

} // namespace serval::process
