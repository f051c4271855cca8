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

namespace dispatchd::engine::internal {

// "D-" + at least 6 digits, like request ids.
std::string FormatDeliveryId(uint32_t number);
// The number of a well-formed delivery id (as FormatDeliveryId writes it).
std::optional<uint32_t> ParseDeliveryId(std::string_view id);

// Where an open delivery goes: (depot zone, destination zone, location).
using DeliveryPlace = std::tuple<std::string, std::string, std::string>;

}  // namespace dispatchd::engine::internal

#endif  // DISPATCHD_ENGINE_INTERNAL_DELIVERIES_H_
