// servalctl: pack, inspect and verify bundles, and manage a running server through the
// manager's JSON API (docs/manager-api.md).
#include "Command.h"

#include <iostream>

int main(int argc, char** argv)
{
    serval::ctl::Io io{std::cout, std::cerr};
    return serval::ctl::runServalctl(argc, argv, io);
}
