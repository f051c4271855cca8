#include "journal/record_format.h"

#include <boost/crc.hpp>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

namespace dispatchd::journal {
namespace {

using Crc32cComputer = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

constexpr std::string_view kSegmentPrefix = "seg-";
constexpr std::string_view kSegmentSuffix = ".log";
constexpr size_t kSequenceDigits = 20;

void StoreFixed32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

void StoreFixed64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

}  // namespace

namespace internal {

uint32_t Crc32cByTable(std::string_view data, uint32_t crc) {
  // checksum() is the remainder reflected, then XORed; the constructor
  // takes a remainder unreflected. Undo both to continue from `crc`.
  uint32_t remainder = 0;
  for (uint32_t bits = crc ^ 0xFFFFFFFFu, i = 0; i < 32; ++i, bits >>= 1) {
    remainder = (remainder << 1) | (bits & 1);
  }
  Crc32cComputer c(remainder);
  c.process_bytes(data.data(), data.size());
  return c.checksum();
}

#if defined(__x86_64__)
// SSE4.2's crc32 instruction computes CRC-32C (the reflected 0x1EDC6F41)
// on the raw register: the XORs before and after are ours to apply.
//
// The instruction can start one per cycle but takes three to finish, so
// one chain of them uses a third of it. Long inputs run three chains side
// by side, over three lanes of kLane bytes, and join them: the raw state
// is linear, so the state after lanes A, B, C from state s is
// Z2(f(s, A)) ^ Z1(f(0, B)) ^ f(0, C), where Z1 and Z2 are the states
// reached from a given one through kLane and 2 * kLane zero bytes, each a
// fixed linear map, applied by table a byte at a time.
namespace {

constexpr size_t kLane = 4096;

__attribute__((target("sse4.2"))) uint32_t ThroughZeros(uint32_t state, size_t bytes) {
  uint64_t s = state;
  for (size_t i = 0; i < bytes / 8; ++i) s = _mm_crc32_u64(s, 0);
  return static_cast<uint32_t>(s);
}

// The map from a raw state to the state after `bytes` zero bytes, one
// table per byte of the state.
struct ZerosMap {
  explicit ZerosMap(size_t bytes) {
    uint32_t bit_image[32];
    for (int i = 0; i < 32; ++i) bit_image[i] = ThroughZeros(uint32_t{1} << i, bytes);
    for (int k = 0; k < 4; ++k) {
      for (uint32_t b = 0; b < 256; ++b) {
        uint32_t image = 0;
        for (int j = 0; j < 8; ++j) {
          if (b >> j & 1) image ^= bit_image[8 * k + j];
        }
        table[k][b] = image;
      }
    }
  }
  uint32_t operator()(uint32_t s) const {
    return table[0][s & 0xFF] ^ table[1][s >> 8 & 0xFF] ^ table[2][s >> 16 & 0xFF] ^
           table[3][s >> 24];
  }
  uint32_t table[4][256];
};

uint64_t Load64(const char* p) {
  uint64_t word;
  std::memcpy(&word, p, 8);  // Little-endian, as the instruction expects.
  return word;
}

}  // namespace

__attribute__((target("sse4.2"))) uint32_t Crc32cByInstruction(std::string_view data,
                                                                uint32_t crc) {
  const char* p = data.data();
  size_t n = data.size();
  uint64_t state = ~crc;
  if (n >= 3 * kLane) {
    static const ZerosMap one_lane(kLane);
    static const ZerosMap two_lanes(2 * kLane);
    for (; n >= 3 * kLane; p += 3 * kLane, n -= 3 * kLane) {
      uint64_t a = state;
      uint64_t b = 0;
      uint64_t c = 0;
      for (size_t i = 0; i < kLane; i += 8) {
        a = _mm_crc32_u64(a, Load64(p + i));
        b = _mm_crc32_u64(b, Load64(p + kLane + i));
        c = _mm_crc32_u64(c, Load64(p + 2 * kLane + i));
      }
      state = two_lanes(static_cast<uint32_t>(a)) ^ one_lane(static_cast<uint32_t>(b)) ^
              static_cast<uint32_t>(c);
    }
  }
  for (; n >= 8; p += 8, n -= 8) state = _mm_crc32_u64(state, Load64(p));
  uint32_t low = static_cast<uint32_t>(state);
  for (; n > 0; ++p, --n) low = _mm_crc32_u8(low, static_cast<uint8_t>(*p));
  return ~low;
}

bool HasCrc32cInstruction() {
  static const bool has = __builtin_cpu_supports("sse4.2");
  return has;
}
#else
uint32_t Crc32cByInstruction(std::string_view data, uint32_t crc) {
  return Crc32cByTable(data, crc);
}
bool HasCrc32cInstruction() { return false; }
#endif

}  // namespace internal

uint32_t Crc32c(std::string_view data, uint32_t crc) {
  return internal::HasCrc32cInstruction() ? internal::Crc32cByInstruction(data, crc)
                                          : internal::Crc32cByTable(data, crc);
}

void PutFixed32(std::string* dst, uint32_t v) {
  char buf[4];
  for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  dst->append(buf, 4);
}

void PutFixed64(std::string* dst, uint64_t v) {
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  dst->append(buf, 8);
}

uint32_t DecodeFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint64_t DecodeFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

RecordHeader DecodeRecordHeader(const char* p) {
  return RecordHeader{DecodeFixed32(p), DecodeFixed32(p + 4), static_cast<uint8_t>(p[8]),
                      DecodeFixed64(p + 9)};
}

bool RecordChecksumMatches(const char* p, const RecordHeader& h) {
  return Crc32c(std::string_view(p + 4, kRecordHeaderSize - 4 + h.length)) == h.crc;
}

namespace {

// The CRC covers everything after it: length, type, sequence, payload.
void StoreChecksum(char* record, uint32_t payload_size) {
  StoreFixed32(record, Crc32c(std::string_view(record + 4, kRecordHeaderSize - 4 + payload_size)));
}

}  // namespace

void FrameRecord(RecordType type, uint64_t sequence, uint32_t payload_size, char* record) {
  StoreFixed32(record + 4, payload_size);
  record[8] = static_cast<char>(type);
  StoreFixed64(record + 9, sequence);
  StoreChecksum(record, payload_size);
}

void MarkWrite(char* records, size_t size) {
  char* const first = records;
  char* last = records;
  for (size_t at = 0; at < size; at += kRecordHeaderSize + DecodeFixed32(records + at + 4)) {
    last = records + at;
  }
  first[8] = static_cast<char>(static_cast<uint8_t>(first[8]) | kWriteStartFlag);
  last[8] = static_cast<char>(static_cast<uint8_t>(last[8]) | kWriteEndFlag);
  StoreChecksum(first, DecodeFixed32(first + 4));
  if (last != first) StoreChecksum(last, DecodeFixed32(last + 4));
}

void EncodeRecord(RecordType type, uint64_t sequence, std::string_view payload,
                  std::string* dst) {
  const size_t start = dst->size();
  dst->resize(start + kRecordHeaderSize + payload.size());
  char* record = dst->data() + start;
  if (!payload.empty()) std::memcpy(record + kRecordHeaderSize, payload.data(), payload.size());
  FrameRecord(type, sequence, static_cast<uint32_t>(payload.size()), record);
}

void EncodeSegmentHeader(uint64_t first_sequence, int64_t created_micros, std::string* dst) {
  const size_t start = dst->size();
  dst->append(kSegmentMagic, 4);
  PutFixed32(dst, kFormatVersion);
  PutFixed64(dst, first_sequence);
  PutFixed64(dst, static_cast<uint64_t>(created_micros));
  PutFixed32(dst, 0);
  PutFixed32(dst, Crc32c(std::string_view(*dst).substr(start, 28)));
}

std::string SegmentFileName(uint64_t first_sequence) {
  return absl::StrFormat("seg-%020u.log", first_sequence);
}

bool ParseSegmentFileName(std::string_view name, uint64_t* first_sequence) {
  if (name.size() != kSegmentPrefix.size() + kSequenceDigits + kSegmentSuffix.size() ||
      name.substr(0, kSegmentPrefix.size()) != kSegmentPrefix ||
      name.substr(name.size() - kSegmentSuffix.size()) != kSegmentSuffix) {
    return false;
  }
  std::string_view digits = name.substr(kSegmentPrefix.size(), kSequenceDigits);
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
  }
  return absl::SimpleAtoi(absl::string_view(digits.data(), digits.size()), first_sequence);
}

}  // namespace dispatchd::journal
