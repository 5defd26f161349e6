// Test stand-in for `serval preflight`: the deployer tests must not depend on the server binary.
#include "deployer/PreflightLoad.h"

int main(int argc, char** argv)
{
    return serval::deployer::preflightMain(argc, argv);
}
