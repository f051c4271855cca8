// Delivery ids and the key of the open-delivery index (deliveries.cc).
//
// Thread safety: plain values and pure functions.
#ifndef DISPATCHD_ENGINE_INTERNAL_DELIVERIES_H_
#define DISPATCHD_ENGINE_INTERNAL_DELIVERIES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include "engine/internal/records.h"

namespace dispatchd::engine::internal {

// "D-" + at least 6 digits, like request ids.
inline std::string FormatDeliveryId(uint32_t number) { return FormatNumberedId('D', number); }
// The number of a well-formed delivery id (as FormatDeliveryId writes it).
inline std::optional<uint32_t> ParseDeliveryId(std::string_view id) {
  return ParseNumberedId('D', id);
}

// Where an open delivery goes: (depot zone, destination zone, location).
using DeliveryPlace = std::tuple<std::string, std::string, std::string>;

}  // namespace dispatchd::engine::internal

#endif  // DISPATCHD_ENGINE_INTERNAL_DELIVERIES_H_
