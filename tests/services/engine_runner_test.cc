// The engine runner's strand: where a command runs, where its reply is
// sent from, in what order queued work runs, and that nothing runs after
// Stop. These are what keep a call to an idle daemon free of thread
// switches (docs/architecture.md, "The single writer").
#include "services/engine_runner.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "engine/clock.h"
#include "engine/commands.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/event_log.h"
#include "services/memory_event_log.h"
#include "tests/services/held_history_log.h"

namespace dispatchd::services {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

engine::Command ZoneCommand(const std::string& id) {
  return engine::cmd::UpsertZone{engine::Zone{id, id, {}}};
}

// A log that holds each batch until Release(), which makes them durable on
// a "writer" thread of its own, as the file journal does after fdatasync.
class WriterThreadLog final : public EventLog {
 public:
  void Append(std::vector<::dispatch::v1::Event> events, DurableCallback done) override {
    absl::MutexLock lock(&mu_);
    next_ += events.size();
    held_.push_back(std::move(done));
  }
  // Acknowledges what is held on a new thread; returns that thread's id.
  std::thread::id Release() {
    std::vector<DurableCallback> held;
    {
      absl::MutexLock lock(&mu_);
      held.swap(held_);
      durable_ = next_ - 1;
    }
    std::thread writer([&held] {
      for (DurableCallback& done : held) done(absl::OkStatus());
    });
    const std::thread::id id = writer.get_id();
    writer.join();
    return id;
  }
  uint64_t next_sequence() const override {
    absl::MutexLock lock(&mu_);
    return next_;
  }
  uint64_t durable_sequence() const override {
    absl::MutexLock lock(&mu_);
    return durable_;
  }
  absl::StatusOr<std::vector<::dispatch::v1::Event>> Read(uint64_t, size_t) const override {
    return std::vector<::dispatch::v1::Event>();
  }

 private:
  mutable absl::Mutex mu_;
  uint64_t next_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t durable_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<DurableCallback> held_ ABSL_GUARDED_BY(mu_);
};

EngineRunner::Options NoTimers() {
  EngineRunner::Options options;
  options.run_timers = false;
  return options;
}

// After a long stop more timers may be due than one Tick fires (1,024):
// the runner's own timer works the backlog off, one bounded Tick after
// another, each its own batch, with nobody asking for more.
TEST(EngineRunnerTest, ABacklogOfTimersIsWorkedOffOneBoundedTickAfterAnother) {
  MemoryEventLog log;
  engine::ManualClock clock;
  EngineRunner::Options options;
  options.clock = &clock;
  EngineRunner runner(&log, options);
  absl::Mutex mu;
  std::vector<size_t> batches;
  runner.AddBatchObserver([&](const EventBatch& batch) {
    absl::MutexLock lock(&mu);
    batches.push_back(batch->size());
  });
  runner.Start();
  auto handle = [&](engine::Command command) {
    absl::Notification answered;
    absl::Status answer;
    runner.Submit(
        std::move(command),
        [](const absl::StatusOr<engine::Outcome>& outcome, const engine::Engine&) {
          return outcome.status();
        },
        [&](absl::Status status) {
          answer = status;
          answered.Notify();
        });
    answered.WaitForNotification();
    return answer;
  };
  ASSERT_TRUE(handle(ZoneCommand("north")).ok());
  engine::Policy policy;
  policy.aging_promote_minutes = 60;
  ASSERT_TRUE(handle(engine::cmd::SetPolicy{policy}).ok());
  constexpr int kJobs = 2500;
  for (int i = 0; i < kJobs; ++i) {
    engine::RequestSpec spec;
    spec.zone_id = "north";
    spec.location = "Room 1";
    spec.required_skills = {{"electrical", 1}};
    spec.urgency = engine::Urgency::kLow;
    spec.estimated_minutes = 30;
    ASSERT_TRUE(handle(engine::cmd::SubmitRequest{spec}).ok());
  }
  {
    absl::MutexLock lock(&mu);
    batches.clear();
  }
  runner.RunOnEngineThread([&clock] { clock.Advance(absl::Minutes(61)); });
  runner.FireTimersNow();  // The first Tick; the runner's timer does the rest.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  size_t promoted = 0;
  while (promoted < kJobs && absl::Now() < deadline) {
    absl::MutexLock lock(&mu);
    promoted = 0;
    for (size_t n : batches) promoted += n;
    if (promoted < kJobs) mu.AwaitWithTimeout(absl::Condition::kTrue, absl::Milliseconds(10));
  }
  runner.Stop();
  absl::MutexLock lock(&mu);
  EXPECT_THAT(batches, ElementsAre(1024, 1024, kJobs - 2048));
}

TEST(EngineRunnerTest, AnIdleRunnerHandlesAndAnswersACallOnTheCallersThread) {
  MemoryEventLog log;
  EngineRunner runner(&log, NoTimers());
  runner.Start();
  const std::thread::id caller = std::this_thread::get_id();
  std::thread::id built_on;
  std::thread::id answered_on;
  absl::Status answer = absl::UnknownError("not answered");
  runner.Submit(
      ZoneCommand("north"),
      [&](const absl::StatusOr<engine::Outcome>& outcome, const engine::Engine&) {
        built_on = std::this_thread::get_id();
        return outcome.status();
      },
      [&](absl::Status status) {
        answered_on = std::this_thread::get_id();
        answer = status;
      });
  // Answered before Submit returned: no hand-off to another thread.
  EXPECT_TRUE(answer.ok()) << answer;
  EXPECT_EQ(built_on, caller);
  EXPECT_EQ(answered_on, caller);
  runner.Stop();
}

TEST(EngineRunnerTest, ADurableBatchIsAnsweredByTheLogsWriterThread) {
  WriterThreadLog log;
  EngineRunner runner(&log, NoTimers());
  runner.Start();
  std::atomic<bool> answered{false};
  std::thread::id answered_on;
  runner.Submit(ZoneCommand("north"), nullptr, [&](absl::Status status) {
    EXPECT_TRUE(status.ok()) << status;
    answered_on = std::this_thread::get_id();
    answered = true;
  });
  EXPECT_FALSE(answered) << "answered before the batch was durable";
  const std::thread::id writer = log.Release();
  // Answered before the writer's callback returned, on the writer's thread.
  EXPECT_TRUE(answered);
  EXPECT_EQ(answered_on, writer) << "the reply waited for another thread";
  runner.Stop();
}

TEST(EngineRunnerTest, BatchesMadeDurableTogetherAreAllAnsweredByTheWriterInOrder) {
  // Three calls whose batches one fdatasync covers: the writer answers all
  // three itself, in order, however its per-append callbacks are combined.
  WriterThreadLog log;
  EngineRunner runner(&log, NoTimers());
  runner.Start();
  absl::Mutex mu;
  std::vector<std::string> answers;
  std::vector<std::thread::id> answered_on;
  for (const std::string zone : {"north", "south", "east"}) {
    runner.Submit(ZoneCommand(zone), nullptr, [&, zone](absl::Status status) {
      absl::MutexLock lock(&mu);
      answers.push_back(status.ok() ? zone : std::string(status.message()));
      answered_on.push_back(std::this_thread::get_id());
    });
  }
  const std::thread::id writer = log.Release();
  absl::MutexLock lock(&mu);
  EXPECT_THAT(answers, ElementsAre("north", "south", "east"));
  EXPECT_THAT(answered_on, ElementsAre(writer, writer, writer))
      << "a reply waited for another thread";
  runner.Stop();
}

TEST(EngineRunnerTest, WorkQueuedFromACallbackRunsAfterItInOrder) {
  MemoryEventLog log;
  EngineRunner runner(&log, NoTimers());
  runner.Start();
  // Builds run on the strand, in order; each reply goes out once its round
  // is over, from the thread that ran it, while the strand may already run
  // the next round elsewhere: replies of different rounds have no order.
  absl::Mutex mu;
  std::vector<std::string> order;
  auto note = [&](const char* what) {
    absl::MutexLock lock(&mu);
    order.push_back(what);
  };
  runner.Query(
      [&](const EngineView&) {
        note("first built");
        runner.Submit(
            ZoneCommand("north"),
            [&](const absl::StatusOr<engine::Outcome>& outcome, const engine::Engine&) {
              note("second built");
              return outcome.status();
            },
            [&](absl::Status) { note("second answered"); });
        runner.Query(
            [&](const EngineView& view) {
              note(view.engine.FindZone("north") != nullptr ? "third sees north"
                                                            : "third misses north");
              return absl::OkStatus();
            },
            [&](absl::Status) { note("third answered"); });
        return absl::OkStatus();
      },
      [&](absl::Status) { note("first answered"); });
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](std::vector<std::string>* v) { return v->size() == 6; }, &order));
  }
  runner.Stop();  // Nothing is left to note.
  std::vector<std::string> built;
  std::vector<std::string> answered;
  for (const std::string& o : order) {
    (absl::EndsWith(o, "answered") ? answered : built).push_back(o);
  }
  EXPECT_THAT(built, ElementsAre("first built", "second built", "third sees north"));
  EXPECT_THAT(answered,
              UnorderedElementsAre("first answered", "second answered", "third answered"));
  auto at = [&](const char* what) { return std::find(order.begin(), order.end(), what); };
  EXPECT_LT(at("first built"), at("first answered"));
  EXPECT_LT(at("second built"), at("second answered"));
  EXPECT_LT(at("third sees north"), at("third answered"));
}

TEST(EngineRunnerTest, NothingRunsAfterStop) {
  MemoryEventLog log;
  EngineRunner runner(&log, NoTimers());
  runner.Start();
  runner.Stop();
  bool ran = false;
  runner.Submit(ZoneCommand("north"), nullptr, [&](absl::Status) { ran = true; });
  runner.Query([&](const EngineView&) {
    ran = true;
    return absl::OkStatus();
  }, [&](absl::Status) { ran = true; });
  EXPECT_FALSE(ran);
  EXPECT_EQ(log.next_sequence(), 1u) << "a command was handled after Stop";
}

// Fills `log` with a zone and a request; returns the request's id.
std::string LogOneRequest(MemoryEventLog* log) {
  EngineRunner runner(log, NoTimers());
  runner.Start();
  runner.Submit(ZoneCommand("north"), nullptr, [](absl::Status) {});
  engine::RequestSpec spec;
  spec.zone_id = "north";
  spec.required_skills = {engine::SkillLevel{"plumbing", 1}};
  spec.estimated_minutes = 30;
  spec.description = "a dripping tap";
  std::string id;
  runner.Submit(
      engine::cmd::SubmitRequest{spec},
      [&](const absl::StatusOr<engine::Outcome>& outcome, const engine::Engine&) {
        if (outcome.ok()) id = outcome->request_id;
        return outcome.status();
      },
      [](absl::Status) {});
  runner.Stop();
  return id;
}

// What a query on `runner` sees of the request index: how far it lacks the
// log's history, why (if it failed), and how many events of `id` it holds.
struct IndexLook {
  uint64_t unindexed_through = 0;
  std::string problem;
  size_t events_of_request = 0;
};
IndexLook LookAtIndex(EngineRunner& runner, const std::string& id) {
  IndexLook look;
  absl::Notification done;
  runner.Query(
      [&](const EngineView& view) {
        look.unindexed_through = view.unindexed.through;
        look.problem = view.unindexed.problem;
        look.events_of_request = view.requests.SequencesOf(id).size();
        return absl::OkStatus();
      },
      [&](absl::Status) { done.Notify(); });
  done.WaitForNotification();
  return look;
}

TEST(EngineRunnerTest, AStartServesBeforeTheHistoryIsIndexedAndSaysSoUntilItIs) {
  MemoryEventLog memory;
  const std::string id = LogOneRequest(&memory);
  ASSERT_FALSE(id.empty());
  const uint64_t logged = memory.durable_sequence();
  HeldHistoryLog log(&memory);
  EngineRunner runner(&log, NoTimers());
  ASSERT_TRUE(runner.Recover().ok());
  runner.Start();
  // Serving, with the replayed state, while the indexing is held.
  EXPECT_NE(runner.engine_before_start().FindZone("north"), nullptr);
  IndexLook held = LookAtIndex(runner, id);
  EXPECT_EQ(held.unindexed_through, logged);
  EXPECT_EQ(held.problem, "");
  EXPECT_EQ(held.events_of_request, 0u);

  log.Release();
  IndexLook after = LookAtIndex(runner, id);
  for (int i = 0; i < 500 && after.unindexed_through != 0; ++i) {
    absl::SleepFor(absl::Milliseconds(5));
    after = LookAtIndex(runner, id);
  }
  EXPECT_EQ(after.unindexed_through, 0u);
  EXPECT_EQ(after.events_of_request, 1u);  // Submitted (and queued: nobody on shift).
  runner.Stop();
}

TEST(EngineRunnerTest, HistoryThatCannotBeIndexedStaysMarkedWithTheReason) {
  MemoryEventLog memory;
  const std::string id = LogOneRequest(&memory);
  HeldHistoryLog log(&memory);
  log.scan_error = absl::DataLossError("record 2 damaged");
  EngineRunner runner(&log, NoTimers());
  ASSERT_TRUE(runner.Recover().ok());
  runner.Start();
  log.Release();
  IndexLook after = LookAtIndex(runner, id);
  for (int i = 0; i < 500 && after.problem.empty(); ++i) {
    absl::SleepFor(absl::Milliseconds(5));
    after = LookAtIndex(runner, id);
  }
  EXPECT_EQ(after.unindexed_through, memory.durable_sequence());
  EXPECT_THAT(after.problem, ::testing::HasSubstr("record 2 damaged"));
  runner.Stop();
}

}  // namespace
}  // namespace dispatchd::services
