// Durable before visible: with a log that acknowledges only when told to,
// no reply, console event or technician update leaves the server early; a
// failing log makes the server refuse work instead of acknowledging it.
#include <functional>
#include <future>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/event_log.h"
#include "tests/services/test_server.h"

namespace dispatchd::services::testing {
namespace {

// An EventLog that holds batches until Release(), or fails every append.
class HeldEventLog final : public EventLog {
 public:
  explicit HeldEventLog(absl::Status fail_with = absl::OkStatus())
      : fail_with_(std::move(fail_with)) {}

  void Append(std::vector<v1::Event> events, DurableCallback done) override {
    if (!fail_with_.ok()) return done(fail_with_);
    absl::MutexLock lock(&mu_);
    for (v1::Event& e : events) appended_.push_back(std::move(e));
    held_.push_back({appended_.size(), std::move(done)});
  }

  // Makes everything appended so far durable and acknowledges it.
  void Release() {
    std::vector<DurableCallback> callbacks;
    {
      absl::MutexLock lock(&mu_);
      for (Held& h : held_) {
        durable_ = h.last;
        callbacks.push_back(std::move(h.done));
      }
      held_.clear();
    }
    for (DurableCallback& done : callbacks) done(absl::OkStatus());
  }

  uint64_t next_sequence() const override {
    absl::MutexLock lock(&mu_);
    return appended_.size() + 1;
  }
  uint64_t durable_sequence() const override {
    absl::MutexLock lock(&mu_);
    return durable_;
  }
  absl::StatusOr<std::vector<v1::Event>> Read(uint64_t from, size_t max) const override {
    absl::MutexLock lock(&mu_);
    std::vector<v1::Event> out;
    for (uint64_t s = std::max<uint64_t>(from, 1); s <= durable_ && out.size() < max; ++s) {
      out.push_back(appended_[s - 1]);
    }
    return out;
  }

 private:
  struct Held {
    uint64_t last;
    DurableCallback done;
  };
  const absl::Status fail_with_;
  mutable absl::Mutex mu_;
  std::vector<v1::Event> appended_ ABSL_GUARDED_BY(mu_);
  std::vector<Held> held_ ABSL_GUARDED_BY(mu_);
  uint64_t durable_ ABSL_GUARDED_BY(mu_) = 0;
};

class HeldLogTest : public ServerTest {
 protected:
  void SetUp() override {
    auto log = std::make_unique<HeldEventLog>();
    log_ = log.get();
    ServerOptions options;
    options.log = std::move(log);
    StartServer(std::move(options));
  }

  // Starts UpsertZone(`id`) on another thread.
  std::future<grpc::Status> UpsertZoneAsync(const std::string& id) {
    return std::async(std::launch::async, [this, id] {
      v1::UpsertZoneRequest req;
      req.set_zone_id(id);
      v1::UpsertZoneResponse resp;
      return Call(admin_.get(), &v1::AdminService::Stub::UpsertZone, req, &resp);
    });
  }

  HeldEventLog* log_ = nullptr;
};

TEST_F(HeldLogTest, ReplyAndConsoleEventWaitUntilTheLogIsDurable) {
  auto events = WatchEvents(1);
  std::future<grpc::Status> reply = UpsertZoneAsync("north");

  EXPECT_EQ(reply.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout)
      << "replied before the event was durable";
  EXPECT_FALSE(events->Next(absl::Milliseconds(100)).has_value())
      << "streamed an event before it was durable";

  log_->Release();
  ASSERT_EQ(reply.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_TRUE(reply.get().ok());
  std::optional<v1::Event> e = events->Next();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->sequence(), 1u);
}

TEST_F(HeldLogTest, QueriesWaitForTheEventsTheirAnswerShows) {
  std::future<grpc::Status> upsert = UpsertZoneAsync("north");
  std::future<v1::ListZonesResponse> zones = std::async(std::launch::async, [this] {
    while (log_->next_sequence() == 1) {  // Until the upsert is handled.
      absl::SleepFor(absl::Milliseconds(1));
    }
    v1::ListZonesResponse resp;
    EXPECT_TRUE(Call(admin_.get(), &v1::AdminService::Stub::ListZones, v1::ListZonesRequest(),
                     &resp).ok());
    return resp;
  });
  EXPECT_EQ(zones.wait_for(std::chrono::milliseconds(400)), std::future_status::timeout)
      << "a query showed state that was not yet durable";
  log_->Release();
  EXPECT_EQ(zones.get().zones_size(), 1);
  EXPECT_TRUE(upsert.get().ok());
}

class FailingLogTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.log = std::make_unique<HeldEventLog>(absl::DataLossError("disk on fire"));
    StartServer(std::move(options));
  }
};

TEST_F(FailingLogTest, AFailedAppendIsNeverAcknowledgedAndStopsAllWork) {
  v1::UpsertZoneRequest req;
  req.set_zone_id("north");
  v1::UpsertZoneResponse resp;
  EXPECT_THAT(Call(admin_.get(), &v1::AdminService::Stub::UpsertZone, req, &resp),
              StatusIs(grpc::StatusCode::UNAVAILABLE, "event log failed: disk on fire"));
  v1::ListZonesResponse zones;
  EXPECT_THAT(Call(admin_.get(), &v1::AdminService::Stub::ListZones, v1::ListZonesRequest(),
                   &zones),
              StatusIs(grpc::StatusCode::UNAVAILABLE, "event log failed"));
}

}  // namespace
}  // namespace dispatchd::services::testing
