#include "engine/model.h"

namespace dispatchd::engine {

uint32_t Policy::SlaMinutes(Urgency u) const {
  switch (u) {
    case Urgency::kEmergency:
      return sla_minutes_emergency;
    case Urgency::kUrgent:
      return sla_minutes_urgent;
    case Urgency::kNormal:
      return sla_minutes_normal;
    case Urgency::kLow:
      return sla_minutes_low;
  }
  return sla_minutes_normal;
}

}  // namespace dispatchd::engine
