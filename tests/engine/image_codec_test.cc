// The canonical image encoding as a file format: version first, exact
// round trips (times included), and garbage — truncations, flipped bytes,
// random bytes — rejected with DATA_LOSS or decoded into an image that
// LoadImage either refuses or loads into a working engine. Never a crash
// (these also run under -DDISPATCHD_SANITIZE=ON).
#include <random>

#include "absl/strings/str_cat.h"
#include "engine/state_image.h"
#include "tests/engine/test_util.h"

namespace dispatchd::engine::testing {
namespace {

class ImageCodecTest : public EngineTest {
 protected:
  // A small site with an offer, a wait, a job on hold, a scheduled job and
  // an alert, so that every part of the format has bytes to damage.
  std::string SmallImage() {
    Zone("A");
    Zone("B", {{"A", 7}});
    Tech("E1", "A", "electrical:2");
    Tech("P1", "B", "plumbing:1,electrical:1");
    Do(cmd::AdjustStock{"B", "PIPE", 2, "delivery"});
    const std::string busy = Submit("A", "electrical:1");
    Accept("E1", busy);
    Submit("A", "electrical:1", Urgency::kUrgent);  // Waits for E1.
    const std::string hold = Submit("B", "plumbing:1");
    Accept("P1", hold);
    Do(cmd::StartWork{"P1", hold});
    Do(cmd::PutOnHold{"P1", hold, "parts"});
    RequestSpec later = Spec("B", "plumbing:1");
    later.not_before = clock_.Now() + absl::Hours(1);
    later.idempotency_key = "k";
    Do(cmd::SubmitRequest{later});
    Do(cmd::RaiseAlert{"gas", "s", "gas", "B", "", 3, 1, "", Skills("plumbing")});
    return EncodeImageCanonical(engine_.ExportImage());
  }

  // Decodes `bytes`; if that works, the image must re-encode to the same
  // bytes, and LoadImage must refuse it or give an engine that answers
  // queries, ticks and exports the same image. Returns whether it loaded.
  bool DecodeAndUse(const std::string& bytes) {
    absl::StatusOr<StateImage> image = DecodeImageCanonical(bytes);
    if (!image.ok()) {
      EXPECT_THAT(image, StatusIs(absl::StatusCode::kDataLoss));
      return false;
    }
    EXPECT_EQ(EncodeImageCanonical(*image), bytes);
    Engine loaded(&clock_);
    const absl::Status status = loaded.LoadImage(*image);
    if (!status.ok()) {
      EXPECT_THAT(status, StatusIs(absl::StatusCode::kDataLoss));
      EXPECT_EQ(loaded.last_sequence(), 0u);
      return false;
    }
    EXPECT_EQ(EncodeImageCanonical(loaded.ExportImage()), bytes);
    Dump(loaded);
    EXPECT_TRUE(loaded.Handle(cmd::Tick{}).ok());
    loaded.Digest();
    return true;
  }
};

TEST_F(ImageCodecTest, EncodingStartsWithTheFormatVersion) {
  const std::string bytes = EncodeImageCanonical(StateImage{});
  ASSERT_GE(bytes.size(), 4u);
  EXPECT_EQ(bytes.substr(0, 4), std::string("\x04\x00\x00\x00", 4));
  EXPECT_EQ(kImageFormatVersion, 4u);
}

// Pins the format and both hashes: the value was computed independently
// (FNV-1a-64 and CRC-64/XZ in Python over the bytes documented in
// state_image.h). If this changes, bump kImageFormatVersion.
TEST_F(ImageCodecTest, DigestOfTheEmptyImageIsPinned) {
  EXPECT_EQ(ImageDigest(StateImage{}), "69c3f8ecb303883ca6b9453294b2e3df");
}

TEST_F(ImageCodecTest, SmallImageRoundTripsExactly) {
  const std::string bytes = SmallImage();
  EXPECT_TRUE(DecodeAndUse(bytes));
  absl::StatusOr<StateImage> image = DecodeImageCanonical(bytes);
  ASSERT_TRUE(image.ok());
  Engine copy(&clock_);
  ASSERT_TRUE(copy.LoadImage(*image).ok());
  EXPECT_EQ(Dump(copy), Dump(engine_));
  EXPECT_EQ(copy.Digest(), engine_.Digest());
}

TEST_F(ImageCodecTest, EveryTruncationIsDataLoss) {
  const std::string bytes = SmallImage();
  for (size_t size = 0; size < bytes.size(); ++size) {
    EXPECT_THAT(DecodeImageCanonical(std::string_view(bytes).substr(0, size)),
                StatusIs(absl::StatusCode::kDataLoss))
        << "size " << size;
  }
}

TEST_F(ImageCodecTest, TrailingBytesAndOtherVersionsAreDataLoss) {
  const std::string bytes = SmallImage();
  EXPECT_THAT(DecodeImageCanonical(bytes + '\0'), StatusIs(absl::StatusCode::kDataLoss));
  std::string v1 = bytes;
  v1[0] = 1;  // The format before reservations: not read.
  EXPECT_THAT(DecodeImageCanonical(v1), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(DecodeImageCanonical(""), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(ImageCodecTest, HugeCountsAndLengthsAreDataLossWithoutAllocating) {
  std::string bytes = EncodeImageCanonical(StateImage{});
  // The skills count follows version, sequence, time, sweep flag, policy.
  const size_t skills_at = 4 + 8 + 12 + 1 + 9 * 4 + 1 + 4 + 1;
  ASSERT_EQ(bytes.substr(skills_at, 4), std::string(4, '\0'));
  bytes.replace(skills_at, 4, "\xff\xff\xff\xff");
  EXPECT_THAT(DecodeImageCanonical(bytes), StatusIs(absl::StatusCode::kDataLoss));
  bytes.replace(skills_at, 4, std::string("\x01\x00\x00\x00", 4));
  bytes.insert(skills_at + 4, "\xff\xff\xff\x7f");  // One skill, 2 GB long.
  EXPECT_THAT(DecodeImageCanonical(bytes), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(ImageCodecTest, BadBoolsEnumsAndNanosecondsAreDataLoss) {
  const std::string good = EncodeImageCanonical(StateImage{});
  std::string bad_bool = good;
  bad_bool[4 + 8 + 12] = 2;  // sweep_pending.
  EXPECT_THAT(DecodeImageCanonical(bad_bool), StatusIs(absl::StatusCode::kDataLoss));
  std::string bad_nanos = good;
  bad_nanos.replace(4 + 8 + 8, 4, std::string("\x00\xca\x9a\x3b", 4));  // 1e9.
  EXPECT_THAT(DecodeImageCanonical(bad_nanos), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(ImageCodecTest, TimesRoundTripAcrossTheJournalsRange) {
  for (absl::Time t :
       {absl::UnixEpoch(), absl::UnixEpoch() - absl::Nanoseconds(1),
        absl::FromUnixNanos(1'234'567'890'123'456'789),
        absl::FromUnixSeconds(-62135596800),                                   // 0001-01-01.
        absl::FromUnixSeconds(253402300799) + absl::Nanoseconds(999'999'999),  // 9999.
        absl::InfiniteFuture(), absl::InfinitePast()}) {
    StateImage image;
    image.last_event_time = t;
    absl::StatusOr<StateImage> back = DecodeImageCanonical(EncodeImageCanonical(image));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->last_event_time, t);
  }
  // And through an engine: a window far in the past, a far-away due date.
  Zone("A");
  RequestSpec spec = Spec("A", "hvac");
  spec.not_before = absl::FromUnixSeconds(-62135596800);
  spec.due_by = absl::FromUnixSeconds(253402300799);
  const std::string id = Do(cmd::SubmitRequest{spec}).request_id;
  absl::StatusOr<StateImage> back =
      DecodeImageCanonical(EncodeImageCanonical(engine_.ExportImage()));
  ASSERT_TRUE(back.ok());
  Engine copy(&clock_);
  ASSERT_TRUE(copy.LoadImage(*back).ok());
  EXPECT_EQ(copy.FindRequest(id)->spec, spec);
  EXPECT_EQ(copy.Digest(), engine_.Digest());
}

TEST_F(ImageCodecTest, FlippedBytesAreRejectedOrLoadIntoAWorkingEngine) {
  const std::string bytes = SmallImage();
  int loaded = 0, refused = 0;
  for (size_t at = 0; at < bytes.size(); ++at) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      std::string bad = bytes;
      bad[at] = static_cast<char>(bad[at] ^ mask);
      (DecodeAndUse(bad) ? loaded : refused) += 1;
      if (HasFailure()) FAIL() << "offset " << at << " mask " << int{mask};
    }
  }
  EXPECT_GT(loaded, 0);  // Free text (names, reasons) may change freely.
  EXPECT_GT(refused, 0);
}

TEST_F(ImageCodecTest, RandomBytesNeverCrash) {
  std::mt19937 rng(4242);
  const std::string version("\x01\x00\x00\x00", 4);
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = i % 2 ? version : "";
    const size_t size = rng() % 200;
    for (size_t j = 0; j < size; ++j) {
      // Mostly small values, so counts and lengths sometimes fit.
      bytes.push_back(static_cast<char>(rng() % 4 ? rng() % 3 : rng()));
    }
    DecodeAndUse(bytes);
  }
}

}  // namespace
}  // namespace dispatchd::engine::testing
