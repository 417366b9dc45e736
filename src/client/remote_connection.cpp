#include "client/remote_connection.h"

#include <unistd.h>

#include <cstdlib>

#include "protocol/messages.h"
#include "protocol/wire.h"

namespace rcpu::client {

using namespace rcpu::protocol;

int io_timeout_ms() {
  if (const char* env = std::getenv("RCPU_IO_TIMEOUT_MS")) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && *end == 0 && v >= 0 && v < (1L << 30)) return int(v);
  }
  return 600000;
}

std::unique_ptr<RemoteConnection> RemoteConnection::open(const transport::Address& where, int connect_timeout_ms,
                                                         int io_ms) {
  auto rc = std::unique_ptr<RemoteConnection>(new RemoteConnection);
  rc->conn_ = transport::connect(where, connect_timeout_ms);
  // The handshake answer must come as quickly as a connect: a server that accepts and says nothing
  // is as unusable as one that refuses.
  rc->conn_->set_timeouts(connect_timeout_ms, connect_timeout_ms);

  Hello hello;
  hello.opcode_hash = opcode_table_hash();
  hello.capabilities = kCapLevel3 | kCapTiles | kCapLapack;
  hello.client = "rcpu 0.1.0 pid " + std::to_string(::getpid());
  send_message(*rc->conn_, Kind::hello, 0, 0, hello);

  const FrameHeader h = recv_header(*rc->conn_);
  if (h.kind == Kind::error) {
    const ErrorReply e = recv_body<ErrorReply>(*rc->conn_, h);
    throw ProtocolError(e.code, "server " + where.str() + " rejected the connection: " + e.message);
  }
  if (h.kind != Kind::hello_ok)
    throw ProtocolError(ErrorCode::bad_frame, std::string("expected HELLO_OK, got ") + kind_name(h.kind));
  const HelloOk ok = recv_body<HelloOk>(*rc->conn_, h);
  rc->info_.endpoint = where.str();
  rc->info_.server_version = ok.server_version;
  rc->info_.backend = ok.backend;
  rc->info_.max_request_bytes = ok.max_request_bytes;
  rc->info_.capabilities = ok.capabilities;
  rc->conn_->set_timeouts(io_ms, io_ms);
  return rc;
}

}  // namespace rcpu::client
