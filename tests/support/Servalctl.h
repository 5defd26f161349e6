#pragma once

#include "support/TempDir.h"

#include <string>
#include <vector>

namespace serval::test {

/// What one servalctl run left behind.
struct CtlRun
{
    int exit = -1; ///< exit status, -1 if it did not exit normally
    std::string out;
    std::string err;
};

/// Runs $SERVAL_BIN/servalctl (build/bin/servalctl) with `args` and waits for it, capturing
/// stdout and stderr through files in `tmp`.
CtlRun runServalctl(const TempDir& tmp, const std::vector<std::string>& args);

/// Runs `argv` (argv[0] is the program's path) the same way, with `input` as its stdin
/// (`serval passwd USER --stdin`, say).
CtlRun runProgram(const TempDir& tmp, std::vector<std::string> argv, const std::string& input = "");

} // namespace serval::test
