// TechnicianPlayer: plays one technician the way the phone app would be
// used. It keeps a WatchAssignments stream open and reacts to what arrives:
// an offer is accepted after a short delay (sometimes declined with a
// reason, rarely left to lapse); an accepted or assigned job is started after
// the walk plus the travel the offer's decision names; work is completed
// after the job's estimated minutes (give or take), resolved most of the
// time, using the request's materials; the requester then rates it. It also
// starts and ends the technician's shift as the demo clock passes the shift
// hours, finishing the job in hand before leaving.
//
// Two threads meet here: the watcher thread only reads the stream and hands
// each update to the scheduler; everything else runs on the scheduler
// thread, which owns the player's state.
//
// Thread safety: StartWatching and JoinWatcher from the owner's thread;
// CheckShift on the scheduler thread.
#ifndef DISPATCHD_CLIENTS_DEMO_TECHNICIAN_PLAYER_H_
#define DISPATCHD_CLIENTS_DEMO_TECHNICIAN_PLAYER_H_

#include <cstdint>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "clients/demo/demo_context.h"
#include "dispatch/v1/technicians.pb.h"

namespace dispatchd::demo {

class TechnicianPlayer {
 public:
  // "tech" and "ctx" must outlive the player. `on_shift`: whether the daemon
  // has the technician on shift now.
  TechnicianPlayer(const DemoContext& ctx, const dispatch::demo::DemoTechnician& tech,
                   bool on_shift);
  // REQUIRES: JoinWatcher has returned, or StartWatching was never called.
  ~TechnicianPlayer() = default;
  TechnicianPlayer(const TechnicianPlayer&) = delete;
  TechnicianPlayer& operator=(const TechnicianPlayer&) = delete;

  // Starts the watcher thread: it holds the stream open, reconnecting after
  // errors, until the demo stops.
  void StartWatching();
  // Waits for the watcher thread. REQUIRES: the demo is stopping (the
  // stopping notification is notified and the daemon's calls cancelled).
  void JoinWatcher();

  // Starts or ends the shift as the demo clock says. Scheduler thread.
  void CheckShift();

 private:
  // Where the technician's current job stands, as far as the player knows.
  enum class Stage { kNone, kOffered, kAssigned, kWorking };
  struct Job {
    std::string request_id;
    Stage stage = Stage::kNone;
    uint64_t token = 0;  // Actions scheduled for an older stage carry another.
    dispatch::v1::Request request;
    uint32_t travel_minutes = 0;  // From the offer's decision.
  };
  using Action = void (TechnicianPlayer::*)();

  void WatchLoop();
  void OnUpdate(const dispatch::v1::AssignmentUpdate& update);
  void LogUpdate(const dispatch::v1::AssignmentUpdate& update);
  Stage StageOf(const dispatch::v1::Request& request) const;
  // Folds what the daemon says of a request into job_, scheduling the next
  // action when the job moves to a new stage. `decision` may be null.
  void Observe(const dispatch::v1::Request& request, const dispatch::v1::Decision* decision);
  void ScheduleAction(absl::Duration delay, Action action);
  void ActionFailed(uint64_t token, const absl::Status& status);

  void Reply();
  void Accept();
  void Decline(const std::string& reason);
  void StartWork();
  void Complete();
  void GiveFeedback(const std::string& request_id);
  void StartShift();
  void EndShiftIfDue();

  const DemoContext ctx_;
  const dispatch::demo::DemoTechnician& tech_;
  const std::string& id_;  // tech_.technician_id().
  std::thread watcher_;

  // Scheduler thread only.
  Job job_;
  uint64_t next_token_ = 0;
  bool on_shift_;
  bool shift_over_ = false;  // The shift's hours are over: leave once free.
  absl::Time next_shift_attempt_ = absl::InfinitePast();
  std::string declined_request_id_;  // Its WITHDRAWN echo is not news.
};

}  // namespace dispatchd::demo

#endif  // DISPATCHD_CLIENTS_DEMO_TECHNICIAN_PLAYER_H_
