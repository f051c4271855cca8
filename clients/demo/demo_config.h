// Loading and checking the demo campus config (a dispatch.demo.DemoCampus
// written as proto3 JSON; see clients/demo/demo_config.proto).
//
// Thread safety: free functions on values; safe from any thread.
#ifndef DISPATCHD_CLIENTS_DEMO_DEMO_CONFIG_H_
#define DISPATCHD_CLIENTS_DEMO_DEMO_CONFIG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "clients/demo/demo_config.pb.h"

namespace dispatchd::demo {

// Reads, parses and validates the config at `path`. Every failure is
// INVALID_ARGUMENT with a message that starts with the path: the file cannot
// be read, is not JSON of the schema (an unknown field, a wrong type), or
// breaks a rule of the schema (an unknown zone, a disconnected zone graph,
// a skill level outside 1..5, ...; the message names the offending item).
absl::StatusOr<dispatch::demo::DemoCampus> LoadDemoConfig(const std::string& path);

// As LoadDemoConfig, from JSON text; `source` names it in messages.
absl::StatusOr<dispatch::demo::DemoCampus> ParseDemoConfig(absl::string_view json,
                                                           absl::string_view source);

// Checks the rules the schema's comments state. OK, or INVALID_ARGUMENT
// naming the first item that breaks one.
absl::Status ValidateDemoCampus(const dispatch::demo::DemoCampus& campus);

// "HH:MM" (24 h) as minutes after midnight, 0..1439; INVALID_ARGUMENT
// otherwise.
absl::StatusOr<int> ParseClockTime(absl::string_view hh_mm);

// True if `minute_of_day` (0..1440) falls in [start_hour, end_hour), where a
// window whose end is not after its start runs past midnight.
bool HoursCover(uint32_t start_hour, uint32_t end_hour, double minute_of_day);

}  // namespace dispatchd::demo

#endif  // DISPATCHD_CLIENTS_DEMO_DEMO_CONFIG_H_
