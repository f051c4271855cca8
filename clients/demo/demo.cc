// Demo::Start and the running demo: connects, loads the campus if the site
// is empty, then runs the parts — the trickle of requests, one player per
// technician, the shift roster and the depot deliveries — until Stop.
#include "clients/demo/demo.h"

#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "clients/demo/daemon_client.h"
#include "clients/demo/demo_clock.h"
#include "clients/demo/demo_config.h"
#include "clients/demo/demo_context.h"
#include "clients/demo/demo_log.h"
#include "clients/demo/scheduler.h"
#include "clients/demo/site_loader.h"
#include "clients/demo/technician_player.h"
#include "clients/demo/trickle.h"

namespace dispatchd::demo {
namespace {

namespace v1 = dispatch::v1;

// How long Start waits for the daemon's channel to be ready.
constexpr absl::Duration kConnectTimeout = absl::Seconds(5);
// How often (wall time) the roster checks the shift hours.
constexpr absl::Duration kRosterPeriod = absl::Seconds(1);

class RunningDemo final : public Demo {
 public:
  RunningDemo(dispatch::demo::DemoCampus campus, const DemoOptions& options, int start_minute)
      : campus_(std::move(campus)),
        options_(options),
        clock_(absl::Now(), start_minute, options.minutes_per_second),
        log_(options.log != nullptr ? options.log : &std::cout, &clock_),
        rng_(options.seed),
        run_id_(absl::StrCat(absl::ToUnixSeconds(absl::Now()))) {}

  ~RunningDemo() override { Stop(); }

  // Connects, loads the site if it is empty, and starts the parts.
  absl::Status Begin();
  void Stop() override;

 private:
  absl::StatusOr<absl::flat_hash_map<std::string, v1::TechnicianState>> TechnicianStates();
  void RosterTick();
  void ScheduleDelivery();

  const dispatch::demo::DemoCampus campus_;
  const DemoOptions options_;
  const DemoClock clock_;
  DemoLog log_;
  std::mt19937 rng_;          // Scheduler thread only (after Begin).
  const std::string run_id_;  // Keeps this run's idempotency keys apart.
  absl::Notification stopping_;
  std::unique_ptr<DaemonClient> daemon_;
  Scheduler scheduler_;
  DemoContext ctx_{};     // Filled in by Begin once connected.
  bool started_ = false;  // Set by Begin once the threads run.
  std::unique_ptr<Trickle> trickle_;
  std::vector<std::unique_ptr<TechnicianPlayer>> players_;
  int deliveries_ = 0;  // Scheduler thread only.

  absl::Mutex stop_mu_;  // Held through Stop, so every caller waits for the end.
  bool stopped_ ABSL_GUARDED_BY(stop_mu_) = false;
};

absl::StatusOr<absl::flat_hash_map<std::string, v1::TechnicianState>>
RunningDemo::TechnicianStates() {
  ASSIGN_OR_RETURN(
      v1::ListTechniciansResponse list,
      (daemon_->Unary(daemon_->technicians(), &v1::TechnicianService::Stub::ListTechnicians,
                      v1::ListTechniciansRequest(), "ListTechnicians")));
  absl::flat_hash_map<std::string, v1::TechnicianState> states;
  for (const auto& t : list.technicians()) states[t.technician_id()] = t.state();
  return states;
}

absl::Status RunningDemo::Begin() {
  ASSIGN_OR_RETURN(daemon_,
                   DaemonClient::Connect(options_.target, kConnectTimeout, options_.token));
  ctx_ =
      DemoContext{&campus_, &clock_, &log_, daemon_.get(), &scheduler_, &rng_, &stopping_, run_id_};
  log_.Printf("demo: %s from %s; the demo clock runs %g minutes per second", campus_.name(),
              options_.config_path, options_.minutes_per_second);
  RETURN_IF_ERROR(LoadSiteIfEmpty(ctx_).status());
  ASSIGN_OR_RETURN(auto states, TechnicianStates());
  for (const auto& tech : campus_.technicians()) {
    auto it = states.find(tech.technician_id());
    if (it == states.end()) {
      log_.Printf("! %s is not on this site: not playing them", tech.technician_id());
      continue;
    }
    const bool on_shift = it->second != v1::TECHNICIAN_STATE_OFF_SHIFT &&
                          it->second != v1::TECHNICIAN_STATE_UNSPECIFIED;
    players_.push_back(std::make_unique<TechnicianPlayer>(ctx_, tech, on_shift));
  }
  trickle_ = std::make_unique<Trickle>(ctx_);

  started_ = true;
  for (auto& player : players_) player->StartWatching();
  scheduler_.Start();
  // Everything that draws on rng_ runs on the scheduler thread from now on.
  scheduler_.Post([this] {
    RosterTick();
    trickle_->Start();
  });
  ScheduleDelivery();
  log_.Printf("demo: playing %d technicians; about %g requests per demo hour (busier at times)",
              static_cast<int>(players_.size()), campus_.trickle().requests_per_hour());
  return absl::OkStatus();
}

void RunningDemo::RosterTick() {
  for (auto& player : players_) player->CheckShift();
  scheduler_.PostAfter(kRosterPeriod, [this] { RosterTick(); });
}

void RunningDemo::ScheduleDelivery() {
  const uint32_t every = campus_.trickle().restock_every_minutes();
  if (every == 0) return;
  scheduler_.PostAfter(clock_.WallDuration(every), [this] {
    Restock(ctx_, ++deliveries_);
    ScheduleDelivery();
  });
}

void RunningDemo::Stop() {
  absl::MutexLock lock(&stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  stopping_.Notify();
  // Cancelling first ends the streams and any call a task is blocked in, so
  // the scheduler and the watchers come back promptly.
  if (daemon_ != nullptr) daemon_->CancelAll();
  scheduler_.Stop();
  for (auto& player : players_) player->JoinWatcher();
  if (started_) log_.Line("demo: stopped");
}

}  // namespace

absl::StatusOr<std::unique_ptr<Demo>> Demo::Start(const DemoOptions& options) {
  if (!(options.minutes_per_second > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("demo minutes per second must be above 0, not ", options.minutes_per_second));
  }
  ASSIGN_OR_RETURN(dispatch::demo::DemoCampus campus, LoadDemoConfig(options.config_path));
  ASSIGN_OR_RETURN(int start_minute, ParseClockTime(campus.start_time()));
  auto demo = std::make_unique<RunningDemo>(std::move(campus), options, start_minute);
  RETURN_IF_ERROR(demo->Begin());
  return demo;
}

}  // namespace dispatchd::demo
