// The real dispatchd binary as a child process: it says where it listens,
// reports SERVING on the standard health service, lists the dispatch.v1
// services over server reflection, logs events, and exits 0 on SIGTERM.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "dispatch/v1/admin.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "gtest/gtest.h"
#include "journal/file_system.h"
#include "journal/record_format.h"
#include "tests/services/daemon_process.h"

extern char** environ;

namespace dispatchd::services::testing {
namespace {

using ::testing::IsSupersetOf;

// Waits for the next completion on `cq`; true if it is `tag` and ok.
bool Await(grpc::CompletionQueue* cq, int tag) {
  void* got = nullptr;
  bool ok = false;
  return cq->Next(&got, &ok) && got == reinterpret_cast<void*>(tag) && ok;
}

// Service names from grpc.reflection.v1alpha list_services, decoding the
// wire format by hand (no reflection headers are installed).
std::set<std::string> ReflectedServices(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  auto call = stub.PrepareCall(
      &ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  grpc::Slice list_services(std::string("\x3a\x00", 2));  // list_services: "".
  grpc::ByteBuffer request(&list_services, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  std::set<std::string> names;
  call->StartCall(reinterpret_cast<void*>(1));
  if (Await(&cq, 1)) {
    call->Write(request, reinterpret_cast<void*>(2));
    if (Await(&cq, 2)) {
      call->Read(&response, reinterpret_cast<void*>(3));
      if (Await(&cq, 3)) {
        std::vector<grpc::Slice> slices;
        response.Dump(&slices);
        std::string bytes;
        for (const grpc::Slice& s : slices) bytes.append(s.begin(), s.end());
        google::protobuf::UnknownFieldSet top;
        top.ParseFromString(bytes);
        for (int i = 0; i < top.field_count(); ++i) {
          if (top.field(i).number() != 6) continue;  // list_services_response.
          google::protobuf::UnknownFieldSet list;
          list.ParseFromString(top.field(i).length_delimited());
          for (int j = 0; j < list.field_count(); ++j) {  // repeated service = 1.
            google::protobuf::UnknownFieldSet service;
            service.ParseFromString(list.field(j).length_delimited());
            if (service.field_count() > 0) names.insert(service.field(0).length_delimited());
          }
        }
      }
    }
  }
  ctx.TryCancel();
  call->Finish(&status, reinterpret_cast<void*>(4));
  void* tag;
  bool ok;
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return names;
}

TEST(DispatchdProcessTest, ServesHealthAndReflectionLogsEventsAndStopsOnSigterm) {
  const std::string data_dir =
      absl::StrCat(::testing::TempDir(), "/dispatchd-test-", getpid(), "/var");
  Daemon daemon({"--listen=127.0.0.1:0", "--data_dir=" + data_dir});

  std::optional<std::string> listening = daemon.LineWith("dispatchd listening on ");
  ASSERT_TRUE(listening.has_value()) << "no listening line on stdout";
  const std::string address = listening->substr(listening->rfind(' ') + 1);
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &port)) << address;
  EXPECT_GT(port, 0);
  EXPECT_TRUE(std::filesystem::is_directory(data_dir));

  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  EXPECT_TRUE(HealthServing(channel));
  EXPECT_THAT(ReflectedServices(channel),
              IsSupersetOf({"dispatch.v1.RequestService", "dispatch.v1.TechnicianService",
                            "dispatch.v1.AlertService", "dispatch.v1.InventoryService",
                            "dispatch.v1.ConsoleService", "dispatch.v1.AdminService",
                            "grpc.health.v1.Health"}));

  // A command shows up as one event line.
  auto admin = v1::AdminService::NewStub(channel);
  v1::UpsertZoneRequest zone;
  zone.set_zone_id("north");
  zone.set_name("North campus");
  v1::UpsertZoneResponse upserted;
  ASSERT_TRUE(Call(admin.get(), &v1::AdminService::Stub::UpsertZone, zone, &upserted).ok());
  EXPECT_TRUE(daemon.LineWith("#1 ZoneUpserted north").has_value());

  std::optional<int> status = daemon.Stop(SIGTERM);
  ASSERT_TRUE(status.has_value()) << "dispatchd did not stop on SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  std::filesystem::remove_all(std::filesystem::path(data_dir).parent_path());
}

// A restart of the real daemon from the snapshot its follower took: the
// banner names the snapshot, only the tail is replayed, and the state is
// the one it stopped with. The journal segments the snapshot covers are
// read only once the daemon serves: damage in one (here, to the first
// event) does not stop the start, and is reported while it serves.
TEST(DispatchdProcessTest, RestartsFromItsSnapshotWithTheStateItStoppedWith) {
  const std::string data_dir =
      absl::StrCat(::testing::TempDir(), "/dispatchd-snap-", getpid(), "/var");
  const std::vector<std::string> flags = {
      "--listen=127.0.0.1:0",      "--data_dir=" + data_dir,     "--log_events=false",
      "--snapshot_every_events=8", "--snapshot_every_minutes=0", "--journal_segment_bytes=1024"};
  std::string digest;
  uint64_t last_sequence = 0;
  {
    Daemon daemon(flags);
    std::optional<std::string> address = ListenAddress(daemon);
    ASSERT_TRUE(address.has_value());
    auto channel = grpc::CreateChannel(*address, grpc::InsecureChannelCredentials());
    auto admin = v1::AdminService::NewStub(channel);
    auto requests = v1::RequestService::NewStub(channel);
    ASSERT_TRUE(AddZone(channel, "north").ok());
    auto submit = [&](int i) {
      v1::SubmitRequestRequest req;
      req.set_idempotency_key(absl::StrCat("k", i));
      req.set_zone_id("north");
      req.set_location(absl::StrCat("Room ", i));
      req.add_required_skills()->set_skill("electrical");
      req.set_urgency(v1::URGENCY_NORMAL);
      req.set_estimated_minutes(30);
      v1::SubmitRequestResponse submitted;
      return Call(requests.get(), &v1::RequestService::Stub::SubmitRequest, req, &submitted);
    };
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(submit(i).ok());
    // The follower trails the engine a little: wait for a snapshot.
    const std::filesystem::path snapshots = std::filesystem::path(data_dir) / "snapshots";
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline &&
           (!std::filesystem::exists(snapshots) || std::filesystem::is_empty(snapshots))) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    ASSERT_FALSE(std::filesystem::is_empty(snapshots)) << "no snapshot was taken";
    // A tail after it, shorter than the 8 events that bring the next one.
    for (int i = 20; i < 23; ++i) ASSERT_TRUE(submit(i).ok());
    v1::GetStateDigestResponse live;
    ASSERT_TRUE(Call(admin.get(), &v1::AdminService::Stub::GetStateDigest,
                     v1::GetStateDigestRequest(), &live)
                    .ok());
    digest = live.digest();
    last_sequence = live.last_sequence();
    // Clients gone first: with a connection still open, gRPC's shutdown
    // waits out the daemon's whole 5 s grace, which only slows the test.
    admin.reset();
    requests.reset();
    channel.reset();
    ASSERT_TRUE(daemon.Stop(SIGTERM).has_value());
  }
  const std::string first_segment =
      (std::filesystem::path(data_dir) / "journal" / journal::SegmentFileName(1)).string();
  {
    absl::StatusOr<std::string> bytes = journal::PosixFileSystem()->ReadFile(first_segment);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    (*bytes)[journal::kSegmentHeaderSize + journal::kRecordHeaderSize + 2] ^= 0x01;
    ASSERT_TRUE(
        journal::WriteFileAtomically(journal::PosixFileSystem(), first_segment, *bytes).ok());
  }
  Daemon again(flags, /*with_stderr=*/true);
  std::optional<std::string> address = ListenAddress(again);
  ASSERT_TRUE(address.has_value());
  std::optional<std::string> store = again.LineWith("store:");
  ASSERT_TRUE(store.has_value());
  EXPECT_THAT(*store, ::testing::HasSubstr("from snapshot"));
  EXPECT_THAT(*store, ::testing::HasSubstr("covered by the snapshot, checked while serving"));
  // The banner names the file, snap-<its last event, 20 digits>.snap; the
  // daemon replays only the events after it.
  const size_t name = store->rfind("snap-");
  uint64_t snapshot_sequence = 0;
  ASSERT_NE(name, std::string::npos) << *store;
  ASSERT_TRUE(absl::SimpleAtoi(store->substr(name + 5, 20), &snapshot_sequence)) << *store;
  ASSERT_GT(snapshot_sequence, 0u);
  ASSERT_LT(snapshot_sequence, last_sequence);
  std::optional<std::string> recovered = again.LineWith("recovered ");
  ASSERT_TRUE(recovered.has_value());
  EXPECT_THAT(*recovered, ::testing::HasSubstr(absl::StrCat(
                              "recovered ", last_sequence - snapshot_sequence, " events")));
  auto channel = grpc::CreateChannel(*address, grpc::InsecureChannelCredentials());
  auto admin = v1::AdminService::NewStub(channel);
  v1::GetStateDigestResponse restarted;
  ASSERT_TRUE(Call(admin.get(), &v1::AdminService::Stub::GetStateDigest,
                   v1::GetStateDigestRequest(), &restarted)
                  .ok());
  EXPECT_EQ(restarted.digest(), digest);
  std::optional<std::string> damage = again.LineWith("journal damaged");
  ASSERT_TRUE(damage.has_value());
  EXPECT_THAT(*damage, ::testing::HasSubstr(absl::StrCat(journal::SegmentFileName(1), " at offset ",
                                                         journal::kSegmentHeaderSize)));
  EXPECT_THAT(*damage, ::testing::HasSubstr("the state served is intact"));
  admin.reset();
  channel.reset();
  ASSERT_TRUE(again.Stop(SIGTERM).has_value());
  std::filesystem::remove_all(std::filesystem::path(data_dir).parent_path());
}

}  // namespace
}  // namespace dispatchd::services::testing
