#include "bench/server_figures.h"

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "bench/child_process.h"
#include "bench/engine_figures.h"
#include "bench/rpc_figures.h"
#include "dispatch/v1/technicians.grpc.pb.h"
#include "journal/file_journal.h"
#include "services/event_codec.h"
#include "services/journal_event_log.h"
#include "services/memory_event_log.h"
#include "services/server.h"
#include "services/snapshot_store.h"
#include "services/snapshotter.h"

namespace dispatchd::bench {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::dispatch::v1;
using Steady = std::chrono::steady_clock;

double Ms(Steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Appends batches to an EventLog and waits until all are durable.
class LogWriter {
 public:
  explicit LogWriter(services::EventLog* log) : log_(log) {}
  void Add(const std::vector<engine::Event>& events) {
    for (const engine::Event& e : events) pending_.push_back(services::EventToProto(e));
    if (pending_.size() >= 4096) Flush();
  }
  void Flush() {
    if (pending_.empty()) return;
    {
      absl::MutexLock lock(&mu_);
      ++outstanding_;
    }
    log_->Append(std::move(pending_), [this](absl::Status s) {
      absl::MutexLock lock(&mu_);
      if (!s.ok() && status_.ok()) status_ = s;
      --outstanding_;
    });
    pending_.clear();
  }
  absl::Status Wait() {
    Flush();
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int* n) { return *n == 0; }, &outstanding_));
    return status_;
  }

 private:
  services::EventLog* const log_;
  std::vector<v1::Event> pending_;
  absl::Mutex mu_;
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<std::unique_ptr<services::JournalEventLog>> OpenJournalLog(
    const std::string& data_dir) {
  journal::FileJournalOptions options;
  options.dir = (fs::path(data_dir) / "journal").string();
  journal::RecoveryReport report;
  absl::StatusOr<std::unique_ptr<journal::FileJournal>> opened =
      journal::FileJournal::Open(options, &report);
  if (!opened.ok()) return opened.status();
  return std::make_unique<services::JournalEventLog>(*std::move(opened));
}

absl::Status FreshDir(const std::string& dir) {
  std::error_code error;
  fs::remove_all(dir, error);
  fs::create_directories(dir, error);
  if (error) return absl::UnavailableError(absl::StrCat("cannot create ", dir));
  return absl::OkStatus();
}

// When each offer became durable (engine thread, server process).
class DurableOffers {
 public:
  void Durable(uint64_t sequence) {
    const Steady::time_point now = Steady::now();
    absl::MutexLock lock(&mu_);
    at_[sequence] = now;
  }
  std::optional<Steady::time_point> At(uint64_t sequence) {
    absl::MutexLock lock(&mu_);
    auto it = at_.find(sequence);
    if (it == at_.end()) return std::nullopt;
    return it->second;
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, Steady::time_point> at_ ABSL_GUARDED_BY(mu_);
};

// When each offer reached its technician's stream (client process).
class Arrivals {
 public:
  void Received(uint64_t sequence) {
    const Steady::time_point now = Steady::now();
    absl::MutexLock lock(&mu_);
    received_.push_back({sequence, now});
  }
  // Writes "<sequence> <steady ns>" for every arrival.
  absl::Status Write(const std::string& path) {
    std::ofstream out(path, std::ios::trunc);
    absl::MutexLock lock(&mu_);
    for (const auto& [sequence, at] : received_) out << sequence << ' ' << Nanos(at) << '\n';
    out.close();
    if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
    return absl::OkStatus();
  }
  static int64_t Nanos(Steady::time_point at) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count();
  }

 private:
  absl::Mutex mu_;
  std::vector<std::pair<uint64_t, Steady::time_point>> received_ ABSL_GUARDED_BY(mu_);
};

// Runs callbacks when they fall due, on a thread of its own: a technician
// who takes a moment before answering an offer.
class Later {
 public:
  Later() : thread_([this] { Loop(); }) {}
  ~Later() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    thread_.join();
  }
  void At(Steady::time_point due, std::function<void()> fn) {
    absl::MutexLock lock(&mu_);
    due_.emplace(due, std::move(fn));
  }

 private:
  void Loop() {
    while (true) {
      std::vector<std::function<void()>> ready;
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return;
        const Steady::time_point now = Steady::now();
        while (!due_.empty() && due_.begin()->first <= now) {
          ready.push_back(std::move(due_.begin()->second));
          due_.erase(due_.begin());
        }
      }
      for (std::function<void()>& fn : ready) fn();
      absl::SleepFor(absl::Microseconds(500));
    }
  }
  absl::Mutex mu_;
  std::multimap<Steady::time_point, std::function<void()>> due_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// One technician's WatchAssignments stream; declines every offer after
// `think` (so that offers keep coming without the declines becoming a
// saturating load of their own).
class Watcher : public grpc::ClientReadReactor<v1::AssignmentUpdates> {
 public:
  Watcher(v1::TechnicianService::Stub* stub, std::string technician_id, Arrivals* log,
          Later* later, absl::Duration think)
      : stub_(stub),
        technician_id_(std::move(technician_id)),
        log_(log),
        later_(later),
        think_(std::chrono::nanoseconds(absl::ToInt64Nanoseconds(think))) {
    request_.set_technician_id(technician_id_);
    stub_->async()->WatchAssignments(&ctx_, &request_, this);
    StartRead(&message_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    for (const v1::AssignmentUpdate& update : message_.updates()) {
      if (update.change() != v1::ASSIGNMENT_CHANGE_OFFERED || update.snapshot()) continue;
      log_->Received(update.sequence());
      declines_.fetch_add(1);
      later_->At(Steady::now() + think_,
                 [this, request_id = update.request().request_id()] { Decline(request_id); });
    }
    StartRead(&message_);
  }
  void OnDone(const grpc::Status&) override { done_.Notify(); }
  void Cancel() { ctx_.TryCancel(); }
  void Wait() {
    done_.WaitForNotification();
    while (declines_.load() > 0) absl::SleepFor(absl::Milliseconds(1));
  }

 private:
  void Decline(const std::string& request_id) {
    struct Call {
      grpc::ClientContext ctx;
      v1::DeclineAssignmentRequest req;
      v1::DeclineAssignmentResponse resp;
    };
    auto* call = new Call;
    call->req.set_technician_id(technician_id_);
    call->req.set_request_id(request_id);
    call->req.set_reason("on another job");
    stub_->async()->DeclineAssignment(&call->ctx, &call->req, &call->resp,
                                      [this, call](grpc::Status) {
                                        delete call;
                                        declines_.fetch_sub(1);
                                      });
  }

  v1::TechnicianService::Stub* const stub_;
  const std::string technician_id_;
  Arrivals* const log_;
  Later* const later_;
  const Steady::duration think_;
  grpc::ClientContext ctx_;
  v1::WatchAssignmentsRequest request_;
  v1::AssignmentUpdates message_;
  absl::Notification done_;
  std::atomic<int> declines_{0};  // Scheduled or in flight.
};

}  // namespace

absl::StatusOr<PushFigures> MeasurePush(const std::string& work_dir, PushClients clients,
                                        const StartPushClients& start) {
  const int zones = clients.zones;
  const std::string data_dir = (fs::path(work_dir) / "push").string();
  if (absl::Status s = FreshDir(data_dir); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<services::JournalEventLog>> log = OpenJournalLog(data_dir);
  if (!log.ok()) return log.status();

  // The site: `zones` zones, one technician each, all on shift.
  {
    SiteShape shape;
    shape.zones = zones;
    SiteGen gen(shape, 1);
    engine::ManualClock clock(absl::Now() - absl::Minutes(1));
    engine::Engine engine(&clock);
    LogWriter writer(log->get());
    std::vector<engine::Command> setup = gen.SetupCommands();
    for (int z = 0; z < zones; ++z) {
      setup.push_back(engine::cmd::RegisterTechnician{SiteGen::TechId(z), "Technician",
                                                      SiteGen::ZoneId(z), {{"skill00", 5}}});
      setup.push_back(engine::cmd::StartShift{SiteGen::TechId(z), ""});
    }
    for (const engine::Command& c : setup) {
      absl::StatusOr<engine::Outcome> out = engine.Handle(c);
      if (!out.ok()) return out.status();
      writer.Add(out->events);
    }
    if (absl::Status s = writer.Wait(); !s.ok()) return s;
  }

  DurableOffers durable;
  services::ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.log = *std::move(log);
  options.on_event = [&durable](const v1::Event& e) {
    if (e.has_offer_made()) durable.Durable(e.sequence());
  };
  absl::StatusOr<std::unique_ptr<services::Server>> server =
      services::Server::Start(std::move(options));
  if (!server.ok()) return server.status();

  clients.target = (*server)->address();
  clients.stamps_path = (fs::path(data_dir) / "arrivals.txt").string();
  absl::StatusOr<std::unique_ptr<ChildProcess>> technicians =
      start(clients, PushRole::kTechnicians);
  absl::StatusOr<std::unique_ptr<ChildProcess>> load =
      absl::UnavailableError("the push technicians did not subscribe");
  std::optional<std::string> ready, done;
  if (technicians.ok()) {
    ready = (*technicians)->LineWith("push technicians ready", absl::Seconds(60));
  }
  if (ready) {
    load = start(clients, PushRole::kLoad);
    if (load.ok()) {
      done = (*load)->LineWith("push load done ",
                               clients.warmup + clients.duration + absl::Seconds(60));
      (*load)->Stop(SIGTERM, absl::Seconds(10));
    }
  }
  std::optional<int> technicians_exit;
  if (technicians.ok()) technicians_exit = (*technicians)->Stop(SIGTERM, absl::Seconds(10));
  (*server)->Shutdown(absl::Seconds(2));
  if (!technicians.ok()) return technicians.status();
  if (!load.ok()) return load.status();
  PushFigures f;
  unsigned long long ok = 0, errors = 0;
  long long from = 0, until = 0;
  if (!done || std::sscanf(done->c_str() + done->find("done "), "done %llu %llu %lf %lld %lld", &ok,
                           &errors, &f.load.qps, &from, &until) != 5) {
    return absl::UnavailableError("the push load ended without reporting itself");
  }
  if (technicians_exit != 0) {
    return absl::UnavailableError("the push technicians did not write their arrivals");
  }
  f.load.ok = ok;
  f.load.errors = errors;
  std::sscanf(ready->c_str() + ready->find("at nice"), "at nice %d", &f.technicians_nice);

  std::vector<double> ms;
  std::ifstream in(clients.stamps_path);
  uint64_t sequence = 0;
  int64_t nanos = 0;
  while (in >> sequence >> nanos) {
    if (nanos < from || nanos >= until) continue;  // Outside the measured load.
    const std::optional<Steady::time_point> made = durable.At(sequence);
    if (!made) continue;
    ms.push_back(Ms(Steady::time_point(std::chrono::nanoseconds(nanos)) - *made));
  }
  f.pushes = ms.size();
  f.p50_ms = QuantileOf(ms, 0.50);
  f.p99_ms = QuantileOf(ms, 0.99);
  f.max_ms = ms.empty() ? 0 : ms.back();
  std::error_code error;
  fs::remove_all(data_dir, error);
  return f;
}

int RunPushTechnicians(const PushClients& clients) {
  // Blocked before gRPC starts its threads, so that only sigwait sees them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  // Before any thread starts, so that all of them inherit it (Linux
  // keeps a nice value per thread).
  int nice = 0;
  if (clients.technicians_nice != 0 &&
      setpriority(PRIO_PROCESS, 0, clients.technicians_nice) == 0) {
    nice = clients.technicians_nice;
  }

  auto channel = grpc::CreateChannel(clients.target, grpc::InsecureChannelCredentials());
  auto stub = v1::TechnicianService::NewStub(channel);
  Arrivals arrivals;
  Later later;  // Declared before the watchers: it outlives their declines.
  std::vector<std::unique_ptr<Watcher>> watchers;
  for (int z = 0; z < clients.zones; ++z) {
    watchers.push_back(std::make_unique<Watcher>(stub.get(), SiteGen::TechId(z), &arrivals,
                                                 &later, clients.think));
  }
  absl::SleepFor(absl::Milliseconds(200));  // Streams subscribed.
  std::printf("push technicians ready at nice %d\n", nice);
  std::fflush(stdout);
  int signal = 0;
  sigwait(&stop, &signal);
  for (auto& w : watchers) w->Cancel();
  for (auto& w : watchers) w->Wait();
  if (absl::Status s = arrivals.Write(clients.stamps_path); !s.ok()) {
    std::fprintf(stderr, "push technicians: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}

int RunPushLoad(const PushClients& clients) {
  LoadOptions load;
  load.target = clients.target;
  load.in_flight = clients.in_flight;
  load.warmup = clients.warmup;
  load.duration = clients.duration;
  const Steady::time_point from =
      Steady::now() + std::chrono::nanoseconds(absl::ToInt64Nanoseconds(clients.warmup));
  const Steady::time_point until =
      from + std::chrono::nanoseconds(absl::ToInt64Nanoseconds(clients.duration));
  const LoadResult result = RunLoad(load, SubmitMaker(clients.zones, "push-"));
  if (result.errors > 0) {
    std::fprintf(stderr, "push load: first error: %s\n", result.first_error.c_str());
  }
  std::printf("push load done %llu %llu %.1f %lld %lld\n",
              static_cast<unsigned long long>(result.ok),
              static_cast<unsigned long long>(result.errors), result.qps,
              static_cast<long long>(Arrivals::Nanos(from)),
              static_cast<long long>(Arrivals::Nanos(until)));
  std::fflush(stdout);
  return 0;
}

absl::StatusOr<StallFigures> MeasureSnapshotStall(const std::string& work_dir,
                                                  const SiteShape& shape, uint32_t seed) {
  const std::string snap_dir = (fs::path(work_dir) / "stall-snapshots").string();
  if (absl::Status s = FreshDir(snap_dir); !s.ok()) return s;
  auto memory_log = std::make_unique<services::MemoryEventLog>();
  StallFigures f;
  {
    SiteGen gen(shape, seed);
    engine::ManualClock clock(absl::Now() - absl::Minutes(1));
    engine::Engine engine(&clock);
    MixDriver driver(&gen, &clock);
    LogWriter writer(memory_log.get());
    if (absl::Status s = driver.Populate(engine, [&](const engine::Outcome& o) {
          writer.Add(o.events);
        });
        !s.ok()) {
      return s;
    }
    if (absl::Status s = writer.Wait(); !s.ok()) return s;
    absl::StatusOr<engine::Stats> stats = engine.GetStats("", "");
    if (stats.ok()) f.open_requests = stats->site.open;
  }

  services::SnapshotStore store(snap_dir, journal::PosixFileSystem(), 2);
  services::SnapshotterOptions snap_options;
  snap_options.every_events = 0;
  snap_options.every = absl::ZeroDuration();
  services::Snapshotter snapshotter(&store, snap_options);
  absl::Status primed;
  services::ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.log = std::move(memory_log);
  // No timers: the post-recovery sweep and offer expiries would keep the
  // engine thread busy and hide what the snapshot costs it.
  options.run_timers = false;
  options.on_recovered = [&](const engine::Engine& recovered) {
    primed = snapshotter.Prime(recovered.ExportImage());
  };
  options.on_batch = [&snapshotter](const services::EventBatch& b) { snapshotter.Follow(b); };
  absl::StatusOr<std::unique_ptr<services::Server>> server =
      services::Server::Start(std::move(options));
  if (!server.ok()) return server.status();
  if (!primed.ok()) return primed;
  snapshotter.Start();

  // Probes: an empty task posted to the engine thread; its delay is how
  // long the engine thread could not run.
  services::EngineRunner& runner = (*server)->runner();
  auto probe = [&runner]() {
    const Steady::time_point posted = Steady::now();
    Steady::time_point ran;
    runner.RunOnEngineThread([&ran] { ran = Steady::now(); });
    return Ms(ran - posted);
  };
  const absl::Time idle_until = absl::Now() + absl::Milliseconds(500);
  while (absl::Now() < idle_until) {
    f.idle_max_ms = std::max(f.idle_max_ms, probe());
    absl::SleepFor(absl::Microseconds(100));
  }
  std::atomic<bool> done{false};
  absl::Status snap_status;
  const Steady::time_point snap_start = Steady::now();
  std::thread taker([&] {
    snap_status = snapshotter.SnapshotNow();
    f.snapshot_s = std::chrono::duration<double>(Steady::now() - snap_start).count();
    done.store(true);
  });
  while (!done.load()) {
    f.stall_ms = std::max(f.stall_ms, probe());
    ++f.probes;
    absl::SleepFor(absl::Microseconds(100));
  }
  taker.join();
  (*server)->Shutdown(absl::Seconds(2));
  std::error_code error;
  fs::remove_all(snap_dir, error);
  if (!snap_status.ok()) return snap_status;
  return f;
}

absl::StatusOr<RestartFigures> MeasureRestart(const std::string& dispatchd,
                                              const std::string& work_dir,
                                              const SiteShape& shape, uint64_t events,
                                              uint64_t tail, uint32_t seed, bool keep) {
  const std::string data_dir = (fs::path(work_dir) / "restart").string();
  const std::string side = (fs::path(work_dir) / "restart-snapshots").string();
  if (absl::Status s = FreshDir(data_dir); !s.ok()) return s;
  if (absl::Status s = FreshDir(side); !s.ok()) return s;
  RestartFigures f;
  {
    absl::StatusOr<std::unique_ptr<services::JournalEventLog>> log = OpenJournalLog(data_dir);
    if (!log.ok()) return log.status();
    SiteGen gen(shape, seed);
    engine::ManualClock clock(absl::Now() - absl::Hours(24 * 30));
    engine::Engine engine(&clock);
    MixDriver driver(&gen, &clock);
    LogWriter writer(log->get());
    auto sink = [&](const engine::Outcome& o) { writer.Add(o.events); };
    if (absl::Status s = driver.Populate(engine, sink); !s.ok()) return s;
    const uint64_t snapshot_at = events > tail ? events - tail : 0;
    bool snapped = false;
    uint64_t snap_seq = 0;
    while (engine.last_sequence() < events) {
      if (!snapped && engine.last_sequence() >= snapshot_at) {
        services::SnapshotStore store(side, journal::PosixFileSystem(), 1);
        if (absl::Status s = store.Write(engine.last_sequence(), engine.ExportImage()); !s.ok()) {
          return s;
        }
        snap_seq = engine.last_sequence();
        snapped = true;
      }
      absl::StatusOr<engine::Outcome> out = engine.Handle(driver.Next(engine));
      if (out.ok()) sink(*out);
      driver.Saw(out);
    }
    if (!snapped) {
      return absl::FailedPreconditionError("restart: the site alone passed the snapshot point");
    }
    if (absl::Status s = writer.Wait(); !s.ok()) return s;
    f.events = engine.last_sequence();
    f.tail = f.events - snap_seq;
  }
  auto start_once = [&](double* seconds) -> absl::Status {
    const absl::Time t0 = absl::Now();
    absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(
        dispatchd, {"--listen=127.0.0.1:0", "--log_events=false",
                    absl::StrCat("--data_dir=", data_dir), "--snapshot_every_events=0",
                    "--snapshot_every_minutes=0"});
    if (!child.ok()) return child.status();
    if (!(*child)->LineWith("dispatchd listening on ", absl::Minutes(10))) {
      return absl::UnavailableError("restart: dispatchd did not come up on the journal");
    }
    *seconds = absl::ToDoubleSeconds(absl::Now() - t0);
    (*child)->Stop(SIGTERM);
    return absl::OkStatus();
  };
  // A started daemon appends (its first Tick fires what fell due), so the
  // second start gets the journal exactly as written here.
  std::error_code error;
  const fs::path journal = fs::path(data_dir) / "journal";
  const fs::path pristine = fs::path(work_dir) / "restart-journal";
  fs::remove_all(pristine, error);
  fs::copy(journal, pristine, fs::copy_options::recursive, error);
  if (error) return absl::UnavailableError("restart: cannot copy the journal aside");
  if (absl::Status s = start_once(&f.full_s); !s.ok()) return s;
  fs::remove_all(journal, error);
  if (keep) {  // The starts append (see above): keep the journal as written.
    fs::remove_all(fs::path(work_dir) / "restart-journal-as-written", error);
    fs::copy(pristine, fs::path(work_dir) / "restart-journal-as-written",
             fs::copy_options::recursive, error);
  }
  fs::rename(pristine, journal, error);
  const fs::path snapshots = fs::path(data_dir) / "snapshots";
  fs::remove_all(snapshots, error);
  fs::rename(side, snapshots, error);
  if (error) return absl::UnavailableError("restart: cannot move the snapshot in place");
  if (absl::Status s = start_once(&f.snapshot_s); !s.ok()) return s;
  f.replay_events_per_s = static_cast<double>(f.events) / std::max(f.full_s, 1e-9);
  f.ratio = f.snapshot_s / std::max(f.full_s, 1e-9);
  if (!keep) fs::remove_all(data_dir, error);
  return f;
}

}  // namespace dispatchd::bench
