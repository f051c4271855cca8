// The journal's on-disk format, shared by the writer and the reader.
// docs/journal_format.md explains every byte; keep the two in step.
//
// A data directory holds segment files named "seg-<first sequence, 20
// digits>.log". Each segment is a header followed by records:
//
//   segment header (32 bytes)
//     magic            4  "DJNL"
//     version          4  kFormatVersion
//     first_sequence   8  sequence of the first record in this segment
//     created_micros   8  wall clock at creation, Unix microseconds
//     reserved         4  zero
//     header_crc       4  CRC-32C of the 28 bytes before it
//
//   record (17-byte header + payload)
//     crc              4  CRC-32C of everything after it: length, type,
//                         sequence and payload
//     length           4  payload bytes
//     type             1  RecordType; in version 2 its top bits mark the
//                         first (kWriteStartFlag) and the last
//                         (kWriteEndFlag) record of each write
//     sequence         8  1, 2, 3, ... without gaps across segments
//     payload     length  opaque to the journal (a serialized event)
//
// Version 2 segments are preallocated: zeros follow the last record, and
// a write is made durable before the next one starts. So a write is
// whole only up to a record marked as its end, and a valid record marked
// as starting a later write vouches for everything before it
// (segment_reader.h says how recovery uses this). Version 1 segments end
// at their last record and have no marks; they are still read.
//
// All integers are little-endian and fixed-size.
#ifndef DISPATCHD_JOURNAL_RECORD_FORMAT_H_
#define DISPATCHD_JOURNAL_RECORD_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dispatchd::journal {

inline constexpr char kSegmentMagic[4] = {'D', 'J', 'N', 'L'};
inline constexpr uint32_t kFormatVersion = 2;        // What the writer writes.
inline constexpr uint32_t kOldestFormatVersion = 1;  // Still read.
inline constexpr size_t kSegmentHeaderSize = 32;
inline constexpr size_t kRecordHeaderSize = 17;
// A record's payload may not exceed this; a larger length field is corrupt.
inline constexpr uint32_t kMaxPayloadSize = 16u << 20;

enum class RecordType : uint8_t {
  kEvent = 1,  // A serialized dispatch.v1.Event.
};

// In a version 2 segment, set in the type byte of the first and of the
// last record of each write (FileJournal writes what is queued with one
// write and one fdatasync); a write of one record has both.
inline constexpr uint8_t kWriteStartFlag = 0x80;
inline constexpr uint8_t kWriteEndFlag = 0x40;

// The record type in a type byte, without the write flags.
inline uint8_t RecordTypeOf(uint8_t type_byte) {
  return type_byte & static_cast<uint8_t>(~(kWriteStartFlag | kWriteEndFlag));
}
inline bool IsKnownRecordType(uint8_t t) { return t == 1; }

// Marks the first and the last of the framed records in records[0, size)
// (one write; a record alone is both): sets the flags in their type bytes
// and computes their checksums again. Walks the headers to the last.
// REQUIRES: size > 0, whole framed records back to back.
void MarkWrite(char* records, size_t size);

// CRC-32C (Castagnoli) over `data`, continuing from `crc` (0 to start).
// Uses the CPU's crc32 instruction where there is one (x86-64 with
// SSE4.2: several GB/s), Boost.CRC's table otherwise (about 0.2 GB/s);
// both give the same value.
uint32_t Crc32c(std::string_view data, uint32_t crc = 0);

namespace internal {
// The two ways Crc32c computes, for tests that compare them.
uint32_t Crc32cByTable(std::string_view data, uint32_t crc);
// Only where HasCrc32cInstruction() is true.
uint32_t Crc32cByInstruction(std::string_view data, uint32_t crc);
bool HasCrc32cInstruction();
}  // namespace internal

void PutFixed32(std::string* dst, uint32_t v);
void PutFixed64(std::string* dst, uint64_t v);
uint32_t DecodeFixed32(const char* p);
uint64_t DecodeFixed64(const char* p);

// A record's header fields, as framed (see the layout above).
struct RecordHeader {
  uint32_t crc = 0;
  uint32_t length = 0;  // Payload bytes; may be anything in damaged data.
  uint8_t type = 0;     // May be unknown in damaged data.
  uint64_t sequence = 0;
};

// Reads the header at `p`. REQUIRES: kRecordHeaderSize readable bytes.
RecordHeader DecodeRecordHeader(const char* p);

// True if the checksum of the record at `p`, whose header says `h`, matches
// its bytes. REQUIRES: kRecordHeaderSize + h.length readable bytes.
bool RecordChecksumMatches(const char* p, const RecordHeader& h);

// Appends one framed record to `*dst`.
void EncodeRecord(RecordType type, uint64_t sequence, std::string_view payload,
                  std::string* dst);

// Frames a record whose payload was written in place: `record` points to
// kRecordHeaderSize + `payload_size` bytes with the payload already in the
// last `payload_size` of them; fills in the header and the checksum. The
// bytes are exactly those EncodeRecord appends, so a writer can serialise
// a payload straight into its buffer instead of copying it there.
void FrameRecord(RecordType type, uint64_t sequence, uint32_t payload_size, char* record);

// Appends a segment header to `*dst`.
void EncodeSegmentHeader(uint64_t first_sequence, int64_t created_micros,
                         std::string* dst);

// "seg-00000000000000000001.log" for first_sequence 1.
std::string SegmentFileName(uint64_t first_sequence);
// Parses a segment file name; false if `name` is not one.
bool ParseSegmentFileName(std::string_view name, uint64_t* first_sequence);

}  // namespace dispatchd::journal

#endif  // DISPATCHD_JOURNAL_RECORD_FORMAT_H_
