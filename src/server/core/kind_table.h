// The call kinds a session serves, as the session core sees them: which frames are a kind's, and
// how it serves them. The composition root (server/kinds.cpp) fills the table; the core never
// knows what is in it, so a new kind of remote call is a new folder plus one line there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/frame.h"

namespace rcpu::server {

class Session;

// One call kind's part of one session: serves the REQUESTs its kind claims, one after another,
// and keeps what it needs from one call to the next (the FFT plans). Destroyed with the session.
class KindSession {
 public:
  virtual ~KindSession() = default;
  // Serves one REQUEST (its header is read, its body not). Throws as Session::run expects:
  // CloseSession after an ERROR that ends the session, protocol and transport errors as they come.
  virtual void serve(const protocol::FrameHeader& request) = 0;
};

struct CallKind {
  // "blas", "lapack", "fftw": for logs, and the namespace of its striped calls' tokens in the
  // stripe registry (core/striping.h).
  std::string name;
  // Whether a REQUEST frame is this kind's (opcode and flags). The first kind that claims it serves it.
  std::function<bool(const protocol::FrameHeader&)> claims_request;
  // Opens this kind's part of a session, at the session's first request of the kind.
  std::function<std::unique_ptr<KindSession>(Session&)> open;
  // Whether a JOIN frame joins one of this kind's striped calls; empty: the kind has none.
  std::function<bool(const protocol::FrameHeader&)> claims_join;
  // What errors about such a JOIN call it ("JOIN", "striped FFT JOIN").
  std::string join_name;
  // The handshake's capability bits of the kind (protocol/messages.h: kCapLevel3 ...).
  std::uint64_t capabilities = 0;
};

class KindTable {
 public:
  // Requests are offered to the kinds in the order they were added.
  void add(CallKind kind) { kinds_.push_back(std::move(kind)); }
  std::size_t size() const { return kinds_.size(); }
  const CallKind& at(std::size_t i) const { return kinds_.at(i); }

  // The first kind claiming a REQUEST, by index; nothing when none does.
  std::optional<std::size_t> for_request(const protocol::FrameHeader& h) const {
    for (std::size_t i = 0; i < kinds_.size(); ++i)
      if (kinds_[i].claims_request && kinds_[i].claims_request(h)) return i;
    return std::nullopt;
  }
  // What the server offers in the handshake: every kind's capabilities.
  std::uint64_t capabilities() const {
    std::uint64_t caps = 0;
    for (const CallKind& k : kinds_) caps |= k.capabilities;
    return caps;
  }
  // The kind whose striped call a JOIN joins; null when none claims it.
  const CallKind* for_join(const protocol::FrameHeader& h) const {
    for (const CallKind& k : kinds_)
      if (k.claims_join && k.claims_join(h)) return &k;
    return nullptr;
  }

 private:
  std::vector<CallKind> kinds_;
};

}  // namespace rcpu::server
