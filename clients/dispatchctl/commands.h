// dispatchctl's commands, one Add* function per area. AllCommands() is the
// whole table, in the order `dispatchctl --help` lists it.
//
// Thread safety: the table is plain data, built on each call.
#ifndef DISPATCHD_CLIENTS_DISPATCHCTL_COMMANDS_H_
#define DISPATCHD_CLIENTS_DISPATCHCTL_COMMANDS_H_

#include <vector>

#include "clients/dispatchctl/cli.h"

namespace dispatchd::ctl {

// submit, list, show, cancel, urgency, assign, feedback.
void AddRequestCommands(std::vector<Command>* commands);
// board [--watch], events [--follow], explain, stats.
void AddConsoleCommands(std::vector<Command>* commands);
// technicians list/show/register/update/location, technicians shift start/end.
void AddTechnicianCommands(std::vector<Command>* commands);
// tech watch, and tech accept/decline/start/complete/hold one at a time.
void AddTechWatchCommands(std::vector<Command>* commands);
// zones, policy, digest, stock, alert, journal verify.
void AddAdminCommands(std::vector<Command>* commands);

std::vector<Command> AllCommands();

}  // namespace dispatchd::ctl

#endif  // DISPATCHD_CLIENTS_DISPATCHCTL_COMMANDS_H_
