// What the libFuzzer targets of tests/fuzz share: an in-memory transport::Connection that reads the
// fuzz input as the bytes the peer sends, helpers to build inputs, and the fixed test key of the
// handshake targets. The seed writer (write_seeds.cpp) builds its inputs with the same helpers.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "protocol/archive.h"
#include "protocol/frame.h"
#include "security/key_file.h"
#include "transport/transport.h"

namespace rcpu::fuzz {

// A check of the property a target states; unlike assert it stays in every build type.
#define RCPU_FUZZ_CHECK(cond)                                                                 \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      std::fprintf(stderr, "%s:%d: fuzz property violated: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)

// Reads `data` as the peer's byte stream (running out of it is the peer closing the stream);
// what this side sends is kept in `sent`, up to a bound (a decoder that answers with more than a
// handshake's worth of bytes is a bug too).
class InputConnection : public transport::Connection {
 public:
  InputConnection(const std::uint8_t* data, std::size_t size) : p_(data), left_(size) {}

  void send_all(const void* data, std::size_t size) override {
    if (sent.size() + size > kMaxSent)
      throw transport::TransportError(transport::TransportError::Kind::io, "sent too much");
    const auto* b = static_cast<const std::uint8_t*>(data);
    sent.insert(sent.end(), b, b + size);
  }
  void send_vec(const iovec* iov, std::size_t count) override {
    for (std::size_t i = 0; i < count; ++i) send_all(iov[i].iov_base, iov[i].iov_len);
  }
  void recv_exact(void* data, std::size_t size) override {
    if (size > left_) {
      left_ = 0;
      throw transport::TransportError(transport::TransportError::Kind::closed, "fuzz input ends");
    }
    if (size) std::memcpy(data, p_, size);
    p_ += size;
    left_ -= size;
  }
  void set_timeouts(int, int) override {}
  void set_read_deadline(int) override {}
  bool readable_or_closed() override { return true; }
  void shutdown() override {}
  void hang_up(int) override {}
  void end_sending() override {}
  void abandon() override {}
  std::string peer() const override { return "fuzz"; }

  std::size_t left() const { return left_; }
  std::vector<std::uint8_t> sent;
  static constexpr std::size_t kMaxSent = 1 << 20;

 private:
  const std::uint8_t* p_;
  std::size_t left_;
};

// The frames in `bytes` (as sent by this side): header and payload each.
struct SentFrame {
  protocol::FrameHeader header;
  std::vector<std::uint8_t> payload;
};
inline std::vector<SentFrame> split_frames(const std::vector<std::uint8_t>& bytes) {
  std::vector<SentFrame> out;
  std::size_t at = 0;
  while (at < bytes.size()) {
    RCPU_FUZZ_CHECK(bytes.size() - at >= protocol::kHeaderSize);
    SentFrame f{protocol::decode_header(bytes.data() + at), {}};
    at += protocol::kHeaderSize;
    RCPU_FUZZ_CHECK(f.header.payload_length <= bytes.size() - at);
    f.payload.assign(bytes.begin() + long(at), bytes.begin() + long(at + f.header.payload_length));
    at += f.header.payload_length;
    out.push_back(std::move(f));
  }
  return out;
}

// Little-endian fields of the targets' input prefixes.
inline std::uint64_t take_le(const std::uint8_t*& p, std::size_t& left, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n && left > 0; ++i, --left) v |= std::uint64_t(*p++) << (8 * i);
  return v;
}
inline void put_le(std::vector<std::uint8_t>& out, std::uint64_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out.push_back(std::uint8_t(v >> (8 * i)));
}

// One whole frame as it travels: header, then the payload.
inline void append_frame(std::vector<std::uint8_t>& out, protocol::Kind kind, std::uint64_t id, std::uint32_t opcode,
                         std::uint32_t flags, const std::vector<std::uint8_t>& payload) {
  protocol::FrameHeader h;
  h.kind = kind;
  h.request_id = id;
  h.opcode = opcode;
  h.flags = flags;
  h.payload_length = payload.size();
  const protocol::HeaderBytes hb = protocol::encode_header(h);
  out.insert(out.end(), hb.begin(), hb.end());
  out.insert(out.end(), payload.begin(), payload.end());
}
template <class Msg>
void append_message(std::vector<std::uint8_t>& out, protocol::Kind kind, std::uint64_t id, std::uint32_t opcode,
                    const Msg& m, std::uint32_t flags = 0) {
  append_frame(out, kind, id, opcode, flags, protocol::encode(m));
}

// The key both handshake targets hold (a fixed test key: the fuzzer must not learn it from the
// input, and runs must be reproducible).
inline security::SharedKey test_key() {
  return security::SharedKey{"fuzz-key", std::string(security::kKeyBytes, '\x5a')};
}

}  // namespace rcpu::fuzz
