// Codec between engine::Event and dispatch.v1.Event, both ways. The proto
// form is what the event log stores and consoles watch; decoding it and
// calling Engine::Apply rebuilds the state that produced it, so for every
// event e: EventFromProto(EventToProto(e)) == e.
//
// Thread safety: stateless functions; safe from any thread.
#ifndef DISPATCHD_SERVICES_EVENT_CODEC_H_
#define DISPATCHD_SERVICES_EVENT_CODEC_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dispatch/v1/events.pb.h"
#include "engine/engine.h"
#include "engine/events.h"

namespace dispatchd::services {

void EventToProto(const engine::Event& event, ::dispatch::v1::Event* out);
::dispatch::v1::Event EventToProto(const engine::Event& event);
std::vector<::dispatch::v1::Event> EventsToProto(const std::vector<engine::Event>& events);

// INVALID_ARGUMENT naming the field when the proto cannot be an engine
// event: no kind set, an unset or unknown enum, a malformed timestamp.
absl::StatusOr<engine::Event> EventFromProto(const ::dispatch::v1::Event& event);

// Decodes `event` and folds it into `engine`: how a recorded log rebuilds
// state (recovery, the snapshot follower, the journal tool). The status of
// EventFromProto or Engine::Apply.
absl::Status ApplyRecorded(const ::dispatch::v1::Event& event, engine::Engine& engine);

// The request an event concerns, or "" for events about no single request
// (zones, policy, shifts, stock).
const std::string& RequestIdOf(const ::dispatch::v1::Event& event);

// The event kind's name as in events.proto, e.g. "OfferMade".
const std::string& EventKindName(const ::dispatch::v1::Event& event);

}  // namespace dispatchd::services

#endif  // DISPATCHD_SERVICES_EVENT_CODEC_H_
