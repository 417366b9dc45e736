// A connection under TLS (tls.h). OpenSSL reads ciphertext from an inbox and writes it to an
// outbox, both plain buffers of this object behind one minimal BIO (one copy each way, where
// OpenSSL's memory BIOs would add a second); this file moves whole TLS records between them and
// the wrapped connection.
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "transport/tls.h"

namespace rcpu::transport {
namespace {

using Kind = TransportError::Kind;

constexpr std::size_t kRecordHeader = 5;
// A TLS 1.3 record carries at most 2^14 bytes plus 256 of expansion (RFC 8446, 5.2).
constexpr std::size_t kMaxRecordBody = (1u << 14) + 256;
// Plaintext encrypted per lock: big enough that the lock costs nothing, small enough that a
// reader on the same connection never waits long for it.
constexpr std::size_t kWriteChunk = 256 * 1024;

std::string openssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(e, text, sizeof text);
    out += (out.empty() ? "" : "; ") + std::string(text);
  }
  return out.empty() ? "connection closed during the TLS handshake" : out;
}

// The BIO's view of a connection's buffers: OpenSSL calls it under the connection's ssl_mu_.
struct Buffers {
  std::vector<std::uint8_t> inbox;  // one record from the peer, served from `read_at`
  std::size_t read_at = 0;
  std::vector<std::uint8_t> outbox;  // records for the peer, in order
};

int inbox_read(BIO* b, char* out, std::size_t len, std::size_t* got) {
  auto* buf = static_cast<Buffers*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  const std::size_t left = buf->inbox.size() - buf->read_at;
  if (left == 0) {
    BIO_set_retry_read(b);  // "want read": the next record comes from the wrapped connection
    *got = 0;
    return 0;
  }
  const std::size_t n = std::min(left, len);
  std::copy_n(buf->inbox.data() + buf->read_at, n, reinterpret_cast<std::uint8_t*>(out));
  buf->read_at += n;
  *got = n;
  return 1;
}

int outbox_write(BIO* b, const char* data, std::size_t len, std::size_t* written) {
  auto* buf = static_cast<Buffers*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  buf->outbox.insert(buf->outbox.end(), data, data + len);
  *written = len;
  return 1;
}

long buffers_ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

int buffers_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

const BIO_METHOD* buffers_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "rcpu TLS buffers");
    if (m) {
      BIO_meth_set_read_ex(m, inbox_read);
      BIO_meth_set_write_ex(m, outbox_write);
      BIO_meth_set_ctrl(m, buffers_ctrl);
      BIO_meth_set_create(m, buffers_create);
    }
    return m;
  }();
  return method;
}

bool is_ip_address(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

class TlsConnection final : public Connection {
 public:
  TlsConnection(std::unique_ptr<Connection> inner, std::shared_ptr<const TlsContext> context,
                const std::string& server_name)
      : inner_(std::move(inner)), context_(std::move(context)) {
    ssl_ = SSL_new(static_cast<SSL_CTX*>(context_->native()));
    BIO* bio = buffers_method() ? BIO_new(buffers_method()) : nullptr;
    if (!ssl_ || !bio) {
      BIO_free(bio);
      SSL_free(ssl_);
      throw TransportError(Kind::io, "TLS with " + inner_->peer() + ": out of memory");
    }
    BIO_set_data(bio, &buffers_);
    SSL_set_bio(ssl_, bio, bio);  // one BIO both ways, owned by the SSL object from here
    if (context_->role() == TlsContext::Role::server) {
      SSL_set_accept_state(ssl_);
    } else {
      SSL_set_connect_state(ssl_);
      if (!server_name.empty()) {
        if (is_ip_address(server_name)) {
          X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), server_name.c_str());
        } else {
          SSL_set_tlsext_host_name(ssl_, server_name.c_str());
          SSL_set1_host(ssl_, server_name.c_str());
        }
      }
    }
  }
  ~TlsConnection() override { SSL_free(ssl_); }

  void send_all(const void* data, std::size_t size) override {
    handshake();
    const auto* p = static_cast<const std::uint8_t*>(data);
    while (size > 0) {
      const std::size_t n = std::min(size, kWriteChunk);
      encrypt(p, n);
      p += n;
      size -= n;
    }
  }

  void send_vec(const iovec* iov, std::size_t count) override {
    for (std::size_t i = 0; i < count; ++i) send_all(iov[i].iov_base, iov[i].iov_len);
  }

  void recv_exact(void* data, std::size_t size) override {
    handshake();
    std::lock_guard reading(read_mu_);
    auto* p = static_cast<std::uint8_t*>(data);
    while (size > 0) {
      std::size_t got = 0;
      int err = SSL_ERROR_NONE;
      {
        std::lock_guard lock(ssl_mu_);
        ERR_clear_error();
        if (SSL_read_ex(ssl_, p, size, &got) != 1) err = SSL_get_error(ssl_, 0);
      }
      flush_if_free();
      if (err == SSL_ERROR_NONE) {
        p += got;
        size -= got;
      } else if (err == SSL_ERROR_WANT_READ) {
        read_record();
      } else if (err == SSL_ERROR_ZERO_RETURN) {
        throw TransportError(Kind::closed, "TLS with " + peer() + ": the peer closed the connection");
      } else {
        throw TransportError(Kind::io, "TLS with " + peer() + ": " + openssl_errors());
      }
    }
  }

  void set_timeouts(int read_ms, int write_ms) override { inner_->set_timeouts(read_ms, write_ms); }
  void set_read_deadline(int ms) override { inner_->set_read_deadline(ms); }

  bool readable_or_closed() override {
    {
      std::lock_guard lock(ssl_mu_);
      if (SSL_pending(ssl_) > 0 || buffers_.read_at < buffers_.inbox.size()) return true;
    }
    return inner_->readable_or_closed();
  }

  void shutdown() override { inner_->shutdown(); }

  void hang_up(int drain_ms) override {
    send_close_notify();
    inner_->hang_up(drain_ms);
  }

  void end_sending() override {
    send_close_notify();
    inner_->end_sending();
  }

  void abandon() override { inner_->abandon(); }
  std::string peer() const override { return inner_->peer(); }

  std::string verified_peer() const override {
    if (!established_.load()) return {};
    std::lock_guard lock(ssl_mu_);
    if (!context_->verifies_peer() || SSL_get_verify_result(ssl_) != X509_V_OK) return {};
    X509* cert = SSL_get0_peer_certificate(ssl_);
    if (!cert) return {};
    char name[256] = {};
    const int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name);
    if (n > 0) return std::string(name, std::size_t(n));
    X509_NAME_oneline(X509_get_subject_name(cert), name, sizeof name);
    return name;
  }

 private:
  // close_notify first, so the peer can tell the end from a cut connection.
  void send_close_notify() {
    if (established_.load()) {
      try {
        {
          std::lock_guard lock(ssl_mu_);
          ERR_clear_error();
          SSL_shutdown(ssl_);
        }
        flush();
      } catch (const TransportError&) {
        // The peer is gone already: nothing left to tell it.
      }
    }
  }

  // Runs the TLS handshake once, on the first read or write; any other thread waits for it.
  void handshake() {
    if (established_.load(std::memory_order_acquire)) return;
    std::lock_guard once(handshake_mu_);
    if (established_.load()) return;
    for (;;) {
      int result;
      int err = SSL_ERROR_NONE;
      long verify = X509_V_OK;
      {
        std::lock_guard lock(ssl_mu_);
        ERR_clear_error();
        result = SSL_do_handshake(ssl_);
        if (result != 1) err = SSL_get_error(ssl_, result);
        verify = SSL_get_verify_result(ssl_);
      }
      try {
        flush();  // also the alert that says why we refuse the peer
      } catch (const TransportError&) {
        if (result == 1) throw;
      }
      if (result == 1) break;
      if (err == SSL_ERROR_WANT_READ) {
        try {
          read_record();
        } catch (const TransportError& e) {
          // A peer that hangs up mid-handshake has refused us (an alert we could not read).
          std::string why = e.what();
          const std::string prefix = "TLS with " + peer() + ": ";
          if (why.rfind(prefix, 0) == 0) why.erase(0, prefix.size());
          throw TransportError(e.kind == Kind::timeout ? Kind::timeout : Kind::handshake,
                               "TLS handshake with " + peer() + ": " + why);
        }
        continue;
      }
      std::string why = openssl_errors();
      if (verify != X509_V_OK) why += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
      throw TransportError(Kind::handshake, "TLS handshake with " + peer() + ": " + why);
    }
    established_.store(true, std::memory_order_release);
  }

  // Encrypts one chunk and sends its records.
  void encrypt(const std::uint8_t* p, std::size_t n) {
    {
      std::lock_guard lock(ssl_mu_);
      ERR_clear_error();
      std::size_t written = 0;
      if (SSL_write_ex(ssl_, p, n, &written) != 1 || written != n)
        throw TransportError(Kind::io, "TLS with " + peer() + ": " + openssl_errors());
    }
    flush();
  }

  // Sends the outbox. One thread at a time, and each takes the whole outbox under ssl_mu_, so the
  // records leave in the order OpenSSL made them.
  void flush() {
    std::lock_guard sending(send_mu_);
    send_outbox();
  }

  // Caller holds send_mu_.
  void send_outbox() {
    for (;;) {
      {
        std::lock_guard lock(ssl_mu_);
        if (buffers_.outbox.empty()) return;
        sending_.swap(buffers_.outbox);
      }
      inner_->send_all(sending_.data(), sending_.size());
      sending_.clear();
    }
  }

  // What reading made OpenSSL write (only an alert, or the answer to a key update: there are no
  // session tickets) goes out now if no write is under way; else that write's flush() sends it.
  // A reader must never wait for the send lock: a writer blocked on a peer that is itself busy
  // writing would then never be unblocked by our reading.
  void flush_if_free() {
    std::unique_lock sending(send_mu_, std::try_to_lock);
    if (sending.owns_lock()) send_outbox();
  }

  // Reads one whole record from the wrapped connection into OpenSSL's input buffer.
  void read_record() {
    std::uint8_t header[kRecordHeader];
    inner_->recv_exact(header, sizeof header);
    const std::size_t length = (std::size_t(header[3]) << 8) | header[4];
    if (length > kMaxRecordBody)
      throw TransportError(Kind::io, "TLS with " + peer() + ": record of " + std::to_string(length) +
                                         " bytes (not TLS, or a peer that does not speak it)");
    record_.resize(kRecordHeader + length);
    std::copy(header, header + kRecordHeader, record_.begin());
    if (length > 0) inner_->recv_exact(record_.data() + kRecordHeader, length);
    std::lock_guard lock(ssl_mu_);
    if (buffers_.read_at == buffers_.inbox.size()) {
      buffers_.inbox.swap(record_);  // the usual case: OpenSSL asks for more once it read it all
    } else {
      buffers_.inbox.erase(buffers_.inbox.begin(), buffers_.inbox.begin() + std::ptrdiff_t(buffers_.read_at));
      buffers_.inbox.insert(buffers_.inbox.end(), record_.begin(), record_.end());
    }
    buffers_.read_at = 0;
  }

  std::unique_ptr<Connection> inner_;
  std::shared_ptr<const TlsContext> context_;
  SSL* ssl_ = nullptr;
  Buffers buffers_;  // ciphertext both ways
  std::atomic<bool> established_{false};
  std::mutex handshake_mu_;
  mutable std::mutex ssl_mu_;  // ssl_ and buffers_
  std::mutex send_mu_;         // the wrapped connection's writes, and sending_
  std::mutex read_mu_;         // the wrapped connection's reads, and record_
  std::vector<std::uint8_t> sending_;
  std::vector<std::uint8_t> record_;
};

}  // namespace

std::unique_ptr<Connection> tls_wrap(std::unique_ptr<Connection> inner, std::shared_ptr<const TlsContext> context,
                                     const std::string& server_name) {
  return std::make_unique<TlsConnection>(std::move(inner), std::move(context), server_name);
}

}  // namespace rcpu::transport
