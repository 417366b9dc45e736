// The byte-stream transport under the protocol. The protocol only needs an ordered, reliable stream
// with scatter-gather writes and exact reads, so that is all this interface offers. Each transport
// implements it in its own file (TCP today: tcp.cpp; shared memory, RDMA/UCX can slot in behind the
// same interface), listed in registry.cpp; callers pick one by address (connect.h), and link
// emulation wraps any of them (emulated_link.h).
//
// Every failure is a TransportError carrying a message that names the peer and the cause
// ("connect 127.0.0.1:7001: Connection refused"), so callers can pass it on unchanged.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

namespace rcpu::transport {

struct TransportError : std::runtime_error {
  enum class Kind {
    refused,    // nobody listens there (connect)
    timeout,    // connect or a read/write made no progress within the time-out
    closed,     // the peer closed the stream (EOF) or reset it
    io,         // any other system error
    resolve,    // the host name or address could not be resolved / parsed
    handshake,  // the TLS handshake failed: an untrusted or missing certificate, a peer without TLS
  };
  Kind kind;
  TransportError(Kind k, const std::string& what) : std::runtime_error(what), kind(k) {}
};

class Connection {
 public:
  virtual ~Connection() = default;

  // Writes every byte or throws. Never raises SIGPIPE, whatever the peer did.
  virtual void send_all(const void* data, std::size_t size) = 0;
  // Writes the buffers in order as one stream (scatter-gather: operand columns go straight from the
  // application's memory). Any count of buffers; the array itself is left untouched.
  virtual void send_vec(const iovec* iov, std::size_t count) = 0;
  // Reads exactly `size` bytes or throws (TransportError::Kind::closed on EOF).
  virtual void recv_exact(void* data, std::size_t size) = 0;

  // Time-outs for any single read or write making no progress; 0 = wait forever.
  virtual void set_timeouts(int read_ms, int write_ms) = 0;
  // Every read from now on must be complete within `ms` of now, however the bytes trickle in
  // (TransportError::Kind::timeout after that); 0 clears it. A per-read time-out restarts with
  // every byte, so a peer sending one byte at a time would hold the reader forever without this.
  virtual void set_read_deadline(int ms) = 0;
  // True when the stream has data waiting or the peer has gone: an idle pooled connection that
  // reports this is stale. Never blocks.
  virtual bool readable_or_closed() = 0;
  // Wakes any thread blocked in this connection (used at shutdown); later I/O fails.
  virtual void shutdown() = 0;
  // Half-closes, then discards what the peer still sends (at most about drain_ms, a few MiB) until
  // it closes too. Used after a final ERROR frame: closing with unread input would make the kernel
  // send a reset, which can destroy that ERROR before the peer reads it.
  virtual void hang_up(int drain_ms) = 0;
  // Half-closes and nothing more: the peer reads everything sent so far, then the end of the
  // stream, while this side goes on reading. Used when a streamed reply breaks off midway and the
  // peer may still be sending: shutdown() would make the kernel answer those bytes with a reset,
  // and a reset throws away what is still queued for the peer, the partial reply included.
  virtual void end_sending() = 0;
  // Closes without sending anything (used in a child after fork: the parent still owns the session).
  virtual void abandon() = 0;

  virtual std::string peer() const = 0;  // "127.0.0.1:7000"
  // Who the peer proved to be below the protocol: the subject of the certificate it presented in a
  // TLS handshake this side verified (tls.h), "" when none.
  virtual std::string verified_peer() const { return {}; }
};

class Listener {
 public:
  virtual ~Listener() = default;
  // Waits up to timeout_ms (-1 = forever) for a connection; returns null on time-out or after
  // shutdown(). Throws only for errors other than transient ones.
  virtual std::unique_ptr<Connection> accept(int timeout_ms) = 0;
  // The bound address as a client would write it (address.h): "127.0.0.1:40123", with the real
  // port when 0 was asked for.
  virtual std::string address() const = 0;
  virtual void shutdown() = 0;  // wakes accept(); later calls return null
};

}  // namespace rcpu::transport
