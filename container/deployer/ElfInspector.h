#pragma once

#include <string>
#include <string_view>

namespace serval::deployer {

/// What the ELF header and dynamic symbol table of a library say.
struct ElfInfo
{
    bool sharedObject = false; ///< ET_DYN
    bool hostMachine = false;  ///< 64-bit, this machine's byte order and e_machine
    bool exportsEntry = false; ///< the entry symbol is defined, global or weak, in .dynsym
    std::string machineName;   ///< "x86-64", "AArch64", "machine 40" ...
    std::string otherEntry;    ///< another generation's entry ("serval_app_init_v2"), if exported
};

/// Reads an ELF file's header and `.dynsym` by hand (no dlopen, so no constructor runs).
/// The file is hostile input: every offset and size is bounds-checked against the file.
/// Called on the deployer's control thread, by servalctl and by the preflight process.
class ElfInspector
{
public:
    /// The ABI entry symbol every app library exports (sdk/include/serval/abi.h).
    static constexpr std::string_view kEntrySymbol = "serval_app_init_v1";

    /// Fills `info`. Returns false with `reason` (a sentence fragment: "is not an ELF file")
    /// when the file cannot be read or is not ELF at all.
    static bool inspect(const std::string& path, std::string_view entrySymbol, ElfInfo& info,
                        std::string& reason);

    /// Every check the container makes on one app library, as one actionable sentence
    /// fragment in `reason` ("is built for AArch64, this container runs on x86-64: rebuild it
    /// for x86-64"). `requireEntry`: the library must export the entry symbol.
    static bool check(const std::string& path, bool requireEntry, std::string& reason);

    static std::string hostMachineName();
};

} // namespace serval::deployer
