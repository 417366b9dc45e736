// Credentials and the handshake's cryptography: HMAC-SHA256 against RFC 4231, key files (format,
// the modes that are refused, rcpu keygen's file), the client's settings, the proofs, and the
// stripe registry's binding of a call token to the client that registered it.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "client/core/credentials.h"
#include "security/handshake_proof.h"
#include "security/hmac.h"
#include "security/key_file.h"
#include "security/random.h"
#include "server/core/authenticate.h"
#include "server/core/striping.h"
#include "transport/connect.h"

namespace rcpu {
namespace {

namespace fs = std::filesystem;

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/rcpu-security-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (fs::path(path_) / name).string(); }
  std::string write(const std::string& name, const std::string& text, mode_t mode) const {
    const std::string p = file(name);
    std::ofstream(p) << text;
    ::chmod(p.c_str(), mode);
    return p;
  }

 private:
  std::string path_;
};

// Sets an environment variable for one scope, restoring the old value.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

const std::string kHexKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

TEST(Hmac, MatchesRfc4231TestCase2) {
  const security::Mac mac = security::hmac_sha256("Jefe", "what do ya want for nothing?");
  EXPECT_EQ(hex(std::string(mac.begin(), mac.end())),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Hmac, ConstantTimeComparison) {
  EXPECT_TRUE(security::equal_in_constant_time("abc", "abc"));
  EXPECT_FALSE(security::equal_in_constant_time("abc", "abd"));
  EXPECT_FALSE(security::equal_in_constant_time("abc", "abcd"));
  EXPECT_FALSE(security::equal_in_constant_time("", "a"));
}

TEST(Random, BytesDifferEachTime) {
  EXPECT_EQ(security::random_string(32).size(), 32u);
  EXPECT_NE(security::random_string(32), security::random_string(32));
}

TEST(KeyFile, ParsesIdsKeysAndComments) {
  TempDir d;
  const std::string p = d.write(
      "key", "# rotation in progress\nnew " + kHexKey + "\n\nold  " + std::string(64, 'f') + "  # until Friday\n",
      0600);
  const std::vector<security::SharedKey> keys = security::load_key_file(p);
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].id, "new");
  EXPECT_EQ(hex(keys[0].secret), kHexKey);
  EXPECT_EQ(keys[1].id, "old");
  EXPECT_EQ(keys[1].secret, std::string(32, '\xff'));
}

TEST(KeyFile, RefusesFilesOthersCanReadOrChange) {
  TempDir d;
  for (const mode_t mode : {0644, 0604, 0660, 0666}) {
    const std::string p = d.write("key", "k " + kHexKey + "\n", mode);
    try {
      security::load_key_file(p);
      ADD_FAILURE() << "mode " << std::oct << mode << " accepted";
    } catch (const security::KeyFileError& e) {
      EXPECT_NE(std::string(e.what()).find("chmod 600"), std::string::npos) << e.what();
    }
  }
  // A group that shares the key may read it.
  EXPECT_EQ(security::load_key_file(d.write("key", "k " + kHexKey + "\n", 0640)).size(), 1u);
}

TEST(KeyFile, RefusesWhatIsNotAKeyFile) {
  TempDir d;
  const std::vector<std::string> bad = {
      "",                                        // no key
      "k " + kHexKey.substr(2) + "\n",           // 62 digits
      "k " + kHexKey + "00\n",                   // 66 digits
      "k " + std::string(64, 'g') + "\n",        // not hex
      "bad/id " + kHexKey + "\n",                // id with a slash
      "k " + kHexKey + "\nk " + kHexKey + "\n",  // the same id twice
      kHexKey + "\n",                            // no id
  };
  for (const std::string& text : bad)
    EXPECT_THROW(security::load_key_file(d.write("key", text, 0600)), security::KeyFileError) << text;
  EXPECT_THROW(security::load_key_file(d.file("missing")), security::KeyFileError);
  fs::create_directory(d.file("dir"));
  EXPECT_THROW(security::load_key_file(d.file("dir")), security::KeyFileError);
  ::mkfifo(d.file("fifo").c_str(), 0600);
  EXPECT_THROW(security::load_key_file(d.file("fifo")), security::KeyFileError);  // and does not hang
}

TEST(KeyFile, KeygenWritesAPrivateFileAndNeverReplacesUnasked) {
  TempDir d;
  const std::string p = d.file("conf/rcpu/key");
  const security::SharedKey k = security::write_new_key_file(p, "", false);
  EXPECT_EQ(k.secret.size(), security::kKeyBytes);
  EXPECT_TRUE(security::valid_key_id(k.id));
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(d.file("conf/rcpu").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  const std::vector<security::SharedKey> read = security::load_key_file(p);
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].id, k.id);
  EXPECT_EQ(read[0].secret, k.secret);

  EXPECT_THROW(security::write_new_key_file(p, "other", false), security::KeyFileError);
  EXPECT_EQ(security::load_key_file(p)[0].secret, k.secret);  // untouched
  const security::SharedKey replaced = security::write_new_key_file(p, "other", true);
  EXPECT_EQ(security::load_key_file(p)[0].id, "other");
  EXPECT_NE(replaced.secret, k.secret);
  EXPECT_THROW(security::write_new_key_file(d.file("k2"), "no spaces", false), security::KeyFileError);
}

TEST(KeyFile, DefaultPlaces) {
  TempDir d;
  {
    ScopedEnv key("RCPU_KEY_FILE", d.file("named").c_str());
    EXPECT_EQ(security::default_key_paths(), std::vector<std::string>{d.file("named")});
    EXPECT_EQ(security::find_default_key_file(), d.file("named"));  // named but missing: still chosen
  }
  ScopedEnv key("RCPU_KEY_FILE", nullptr);
  ScopedEnv xdg("XDG_CONFIG_HOME", d.file("xdg").c_str());
  EXPECT_EQ(security::default_key_paths(), (std::vector<std::string>{d.file("xdg/rcpu/key"), "/etc/rcpu/key"}));
  EXPECT_EQ(security::user_key_path(), d.file("xdg/rcpu/key"));
  security::write_new_key_file(security::user_key_path(), "mine", false);
  EXPECT_EQ(security::find_default_key_file(), d.file("xdg/rcpu/key"));
}

TEST(ClientCredentials, FromTheEnvironment) {
  TempDir d;
  const std::string good = d.write("good", "first " + kHexKey + "\nsecond " + std::string(64, 'a') + "\n", 0600);
  {
    ScopedEnv key("RCPU_KEY_FILE", good.c_str());
    ScopedEnv auth("RCPU_AUTH", nullptr);
    const client::ClientCredentials c = client::read_client_credentials();
    ASSERT_TRUE(c.key);
    EXPECT_EQ(c.key->id, "first");  // a client proves the first key of its file
    EXPECT_TRUE(c.error.empty());
  }
  {
    ScopedEnv key("RCPU_KEY_FILE", good.c_str());
    ScopedEnv auth("RCPU_AUTH", "none");
    EXPECT_FALSE(client::read_client_credentials().key);
  }
  {
    ScopedEnv auth("RCPU_AUTH", "kerberos");
    EXPECT_NE(client::read_client_credentials().error.find("RCPU_AUTH=kerberos"), std::string::npos);
  }
  {
    ScopedEnv key("RCPU_KEY_FILE", d.write("open", "k " + kHexKey + "\n", 0644).c_str());
    ScopedEnv auth("RCPU_AUTH", nullptr);
    const client::ClientCredentials c = client::read_client_credentials();
    EXPECT_FALSE(c.key);
    EXPECT_NE(c.error.find("chmod 600"), std::string::npos) << c.error;
  }
  {
    ScopedEnv key("RCPU_KEY_FILE", nullptr);
    ScopedEnv xdg("XDG_CONFIG_HOME", d.file("empty").c_str());
    ScopedEnv auth("RCPU_AUTH", "shared-key");
    if (!fs::exists("/etc/rcpu/key")) {
      EXPECT_NE(client::read_client_credentials().error.find("no key file"), std::string::npos);
      ScopedEnv unset("RCPU_AUTH", nullptr);
      const client::ClientCredentials c = client::read_client_credentials();
      EXPECT_FALSE(c.key);  // no key anywhere: try without one
      EXPECT_TRUE(c.error.empty());
    }
  }
}

TEST(ClientCredentials, InstanceIsStableInAProcessAndNewInAChild) {
  const std::string mine = client::process_instance();
  EXPECT_EQ(mine.size(), security::kInstanceBytes);
  EXPECT_EQ(client::process_instance(), mine);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string child = client::process_instance();
    const char same = child == mine ? 1 : 0;
    [[maybe_unused]] ssize_t n = ::write(fds[1], &same, 1);
    ::_exit(0);
  }
  char same = 2;
  ASSERT_EQ(::read(fds[0], &same, 1), 1);
  ::close(fds[0]);
  ::close(fds[1]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_EQ(same, 0);
}

TEST(HandshakeProof, BindsEveryFieldAndTheDirection) {
  const security::SharedKey key{"k", std::string(32, '\x42')};
  const security::HandshakeTranscript t{"k", std::string(32, 'c'), std::string(32, 's'), std::string(16, 'i')};
  const std::string server = security::server_proof(key, t);
  EXPECT_EQ(server.size(), security::kMacBytes);
  EXPECT_NE(server, security::client_proof(key, t));  // one side's proof cannot be reflected as the other's
  EXPECT_EQ(server, security::server_proof(key, t));
  auto differs = [&](security::HandshakeTranscript other) { return security::server_proof(key, other) != server; };
  EXPECT_TRUE(differs({"j", t.client_nonce, t.server_nonce, t.instance}));
  EXPECT_TRUE(differs({t.key_id, std::string(32, 'd'), t.server_nonce, t.instance}));
  EXPECT_TRUE(differs({t.key_id, t.client_nonce, std::string(32, 't'), t.instance}));
  EXPECT_TRUE(differs({t.key_id, t.client_nonce, t.server_nonce, std::string(16, 'j')}));
  EXPECT_NE(security::server_proof({"k", std::string(32, '\x43')}, t), server);
}

TEST(ServerKeys, LoadedFromFilesOrRefusedWithAdvice) {
  TempDir d;
  const std::string a = d.write("a", "one " + kHexKey + "\n", 0600);
  const std::string b = d.write("b", "two " + std::string(64, 'b') + "\nthree " + std::string(64, 'c') + "\n", 0600);
  EXPECT_EQ(server::load_server_keys({a, b}, false).size(), 3u);
  EXPECT_THROW(server::load_server_keys({a, a}, false), std::runtime_error);  // one id twice
  ScopedEnv key("RCPU_KEY_FILE", d.file("missing").c_str());
  try {
    server::load_server_keys({}, false);
    ADD_FAILURE() << "a server without a key started";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
  }
  // A key file named in RCPU_KEY_FILE must be there, --insecure or not: a typo is not silence.
  EXPECT_THROW(server::load_server_keys({}, true), security::KeyFileError);
  ScopedEnv unset("RCPU_KEY_FILE", nullptr);
  ScopedEnv xdg("XDG_CONFIG_HOME", d.file("empty").c_str());
  if (!fs::exists("/etc/rcpu/key")) {
    EXPECT_THROW(server::load_server_keys({}, false), std::runtime_error);
    EXPECT_TRUE(server::load_server_keys({}, true).empty());  // --insecure alone: no key needed
  }
}

struct NoStripes : server::StripedCall {
  using StripedCall::StripedCall;
  void serve_stripe(transport::Connection&, int) override {}
};

TEST(StripeRegistry, AJoinFindsOnlyItsOwnClientsCall) {
  server::StripeRegistry registry;
  std::atomic<bool> stopping{false};
  const protocol::CallToken token{security::random_u64(), security::random_u64()};
  transport::Connection* none = nullptr;
  const std::unique_ptr<transport::Listener> listener = transport::listen("127.0.0.1:0");
  const std::unique_ptr<transport::Connection> primary = transport::connect(listener->address(), 1000);
  auto call = std::make_shared<NoStripes>(2, *primary);
  ASSERT_TRUE(registry.add("level3", {"key:k/victim", token}, call));
  std::string why_thief, why_unknown;
  EXPECT_FALSE(registry.attach("level3", {"key:k/thief", token}, 1, none, 50, stopping, why_thief));
  EXPECT_FALSE(
      registry.attach("level3", {"key:k/victim", {token.hi, token.lo ^ 1}}, 1, none, 50, stopping, why_unknown));
  EXPECT_EQ(why_thief, why_unknown);  // the refusal tells the thief nothing
  std::string why;
  EXPECT_EQ(registry.attach("level3", {"key:k/victim", token}, 1, none, 50, stopping, why), call) << why;
  registry.retire("level3", {"key:k/victim", token});
}

}  // namespace
}  // namespace rcpu
