// servalctl: pack, inspect and verify bundles (and, with the admin issue, manage a server).
#include "Command.h"

#include <iostream>

int main(int argc, char** argv)
{
    serval::ctl::Io io{std::cout, std::cerr};
    return serval::ctl::runServalctl(argc, argv, io);
}
