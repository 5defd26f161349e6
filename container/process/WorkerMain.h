#pragma once

namespace serval::process {

/// `serval worker --control-fd N --parent PID`: the worker mode of the serval binary (a
/// Subcommand in startup/main.cpp), started by WorkerLauncher with posix_spawn. Never run by
/// hand: it reads its spec (WorkerSpec), crash page and channels from the control socket at fd
/// N, builds and starts the app's Context, says Ready, and serves until the server tells it to
/// drain or goes away.
///
/// Before any app code runs it asks to die with its parent (PR_SET_PDEATHSIG, then checks
/// that the parent is still PID: it may have died before the request took effect), sets
/// PR_SET_NO_NEW_PRIVS, and switches to the spec's user when started as root.
/// Exit status: 0 after a drain, 1 start-up failure (the reason went to the server as Failed),
/// 2 usage.
int workerMain(int argc, char** argv);

} // namespace serval::process
