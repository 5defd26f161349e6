#include "bundle/ElfInspector.h"

#include "util/FileDescriptor.h"

#include <cerrno>
#include <cstring>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

namespace serval::bundle {

namespace {

#if defined(__x86_64__)
constexpr uint16_t kHostMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr uint16_t kHostMachine = EM_AARCH64;
#elif defined(__riscv) && __riscv_xlen == 64
constexpr uint16_t kHostMachine = EM_RISCV;
#else
#error "Serval's ELF check does not know this machine: add its EM_ constant"
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
constexpr unsigned char kHostData = ELFDATA2LSB;
#else
constexpr unsigned char kHostData = ELFDATA2MSB;
#endif

std::string machineName(uint16_t machine)
{
    switch (machine) {
    case EM_X86_64:
        return "x86-64";
    case EM_386:
        return "i386";
    case EM_AARCH64:
        return "AArch64";
    case EM_ARM:
        return "ARM";
    case EM_RISCV:
        return "RISC-V";
    case EM_PPC64:
        return "PowerPC64";
    case EM_S390:
        return "s390";
    default:
        return "machine " + std::to_string(machine);
    }
}

/// A read-only mapping of the whole file; unmapped on destruction.
class Mapping
{
public:
    Mapping(const void* data, size_t size) : _data(data), _size(size) {}
    ~Mapping()
    {
        if (_data != nullptr && _size > 0) ::munmap(const_cast<void*>(_data), _size);
    }
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    const unsigned char* bytes() const { return static_cast<const unsigned char*>(_data); }
    size_t size() const { return _size; }
    /// True if [offset, offset + length) lies inside the file.
    bool contains(uint64_t offset, uint64_t length) const
    {
        return offset <= _size && length <= _size - offset;
    }

private:
    const void* _data;
    size_t _size;
};

bool findEntry(const Mapping& file, std::string_view entrySymbol, std::string& otherEntry)
{
    Elf64_Ehdr header;
    std::memcpy(&header, file.bytes(), sizeof header);
    if (header.e_shoff == 0 || header.e_shnum == 0 || header.e_shentsize != sizeof(Elf64_Shdr)) return false;
    if (!file.contains(header.e_shoff, uint64_t(header.e_shnum) * sizeof(Elf64_Shdr))) return false;
    auto section = [&](size_t i) {
        Elf64_Shdr s;
        std::memcpy(&s, file.bytes() + header.e_shoff + i * sizeof(Elf64_Shdr), sizeof s);
        return s;
    };
    for (size_t i = 0; i < header.e_shnum; ++i) {
        Elf64_Shdr symtab = section(i);
        if (symtab.sh_type != SHT_DYNSYM) continue;
        if (symtab.sh_entsize != sizeof(Elf64_Sym) || symtab.sh_link >= header.e_shnum) return false;
        if (!file.contains(symtab.sh_offset, symtab.sh_size)) return false;
        Elf64_Shdr strtab = section(symtab.sh_link);
        if (!file.contains(strtab.sh_offset, strtab.sh_size)) return false;
        const char* strings = reinterpret_cast<const char*>(file.bytes() + strtab.sh_offset);
        size_t count = symtab.sh_size / sizeof(Elf64_Sym);
        for (size_t k = 1; k < count; ++k) {
            Elf64_Sym sym;
            std::memcpy(&sym, file.bytes() + symtab.sh_offset + k * sizeof(Elf64_Sym), sizeof sym);
            if (sym.st_shndx == SHN_UNDEF || sym.st_name >= strtab.sh_size) continue;
            unsigned bind = ELF64_ST_BIND(sym.st_info);
            unsigned type = ELF64_ST_TYPE(sym.st_info);
            if ((bind != STB_GLOBAL && bind != STB_WEAK) || type != STT_FUNC) continue;
            if (ELF64_ST_VISIBILITY(sym.st_other) != STV_DEFAULT &&
                ELF64_ST_VISIBILITY(sym.st_other) != STV_PROTECTED) {
                continue;
            }
            size_t maxLen = strtab.sh_size - sym.st_name;
            const char* name = strings + sym.st_name;
            size_t len = ::strnlen(name, maxLen);
            if (len >= maxLen) continue;
            std::string_view symbol(name, len);
            if (symbol == entrySymbol) return true;
            if (symbol.rfind("serval_app_init_v", 0) == 0) otherEntry = std::string(symbol);
        }
    }
    return false;
}

} // namespace

std::string ElfInspector::hostMachineName()
{
    return machineName(kHostMachine);
}

util::Expected<ElfInfo> ElfInspector::inspect(const std::string& path, std::string_view entrySymbol)
{
    using util::failure;
    ElfInfo info;
    util::FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return failure(std::string("cannot be opened (") + std::strerror(errno) + ")");
    struct stat st;
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
        return failure("is not a regular file; a library must be a plain file");
    if (st.st_size < static_cast<off_t>(EI_NIDENT))
        return failure(
            "is not an ELF file (too short); put only shared libraries built for Serval in WEB-INF/lib");
    void* data = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (data == MAP_FAILED) return failure(std::string("cannot be read (") + std::strerror(errno) + ")");
    Mapping file(data, static_cast<size_t>(st.st_size));
    const unsigned char* ident = file.bytes();
    if (std::memcmp(ident, ELFMAG, SELFMAG) != 0)
        return failure("is not an ELF file; put only shared libraries built for Serval in WEB-INF/lib");
    bool is64 = ident[EI_CLASS] == ELFCLASS64;
    bool sameOrder = ident[EI_DATA] == kHostData;
    if (!is64 || !sameOrder || file.size() < sizeof(Elf64_Ehdr)) {
        // Read e_machine from the 32-bit or foreign-endian header just to name it.
        uint16_t machine = 0;
        if (file.size() >= 20) {
            machine = ident[EI_DATA] == ELFDATA2LSB ? uint16_t(ident[18] | (ident[19] << 8))
                                                    : uint16_t((ident[18] << 8) | ident[19]);
        }
        uint16_t type = 0;
        if (file.size() >= 18) {
            type = ident[EI_DATA] == ELFDATA2LSB ? uint16_t(ident[16] | (ident[17] << 8))
                                                 : uint16_t((ident[16] << 8) | ident[17]);
        }
        info.sharedObject = type == ET_DYN;
        info.machineName = std::string(is64 ? "64-bit " : "32-bit ") + machineName(machine);
        info.hostMachine = false;
        return info;
    }
    Elf64_Ehdr header;
    std::memcpy(&header, file.bytes(), sizeof header);
    info.sharedObject = header.e_type == ET_DYN;
    info.hostMachine = header.e_machine == kHostMachine;
    info.machineName = machineName(header.e_machine);
    if (info.sharedObject && info.hostMachine)
        info.exportsEntry = findEntry(file, entrySymbol, info.otherEntry);
    return info;
}

util::Outcome ElfInspector::check(const std::string& path, bool requireEntry)
{
    util::Expected<ElfInfo> info = inspect(path, kEntrySymbol);
    if (!info) return info.failure();
    return check(*info, requireEntry);
}

util::Outcome ElfInspector::check(const ElfInfo& info, bool requireEntry)
{
    using util::failure;
    if (!info.hostMachine) {
        return failure("is built for " + info.machineName + ", this container runs on 64-bit " +
                       hostMachineName() + ": rebuild it for " + hostMachineName());
    }
    if (!info.sharedObject) {
        return failure(
            "is an ELF file but not a shared library; build it as a MODULE library (serval_add_bundle does)");
    }
    if (requireEntry && !info.exportsEntry && !info.otherEntry.empty()) {
        return failure("exports " + info.otherEntry + " (ABI " + info.otherEntry.substr(17) +
                       ".x) instead of " + std::string(kEntrySymbol) +
                       "; this container provides ABI 1: rebuild it "
                       "against SDK 1.x");
    }
    if (requireEntry && !info.exportsEntry) {
        return failure(
            "does not export " + std::string(kEntrySymbol) +
            "; export the app with the SDK's SERVAL_APP macro (or define the entry in C) and rebuild");
    }
    return {};
}

} // namespace serval::bundle
