#pragma once

#include "util/Expected.h"

#include <string>
#include <string_view>

namespace serval::bundle {

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

    /// What the file says; fails with a sentence fragment ("is not an ELF file; ...") when it
    /// cannot be read or is not ELF at all.
    static util::Expected<ElfInfo> inspect(const std::string& path, std::string_view entrySymbol);

    /// Every check the container makes on one app library; a refusal is one actionable
    /// sentence fragment ("is built for AArch64, this container runs on 64-bit x86-64: rebuild
    /// it for x86-64"). `requireEntry`: the library must export the entry symbol.
    static util::Outcome check(const std::string& path, bool requireEntry);
    /// The same checks on what inspect() found.
    static util::Outcome check(const ElfInfo& info, bool requireEntry);

    static std::string hostMachineName();
};

} // namespace serval::bundle
