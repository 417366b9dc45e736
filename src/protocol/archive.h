// The two archives of the message codecs. Each message has ONE codec function, used for both
// directions (Mercury's "proc" style):
//
//   template <class Ar> void codec(Ar& ar, Hello& m) { ar(m.protocol_version, m.opcode_hash); ... }
//
// Writer appends little-endian bytes; Reader consumes them with every read bounds-checked, so a
// truncated or hostile payload raises DecodeError, never reads past the end, and never allocates
// more than the payload could possibly describe (strings and vectors carry explicit maxima).
#pragma once

#include <bit>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "protocol/status.h"

namespace rcpu::protocol {

struct DecodeError : ProtocolError {
  explicit DecodeError(const std::string& what) : ProtocolError(ErrorCode::bad_frame, what) {}
};

// A string or vector field with the largest length either side accepts.
template <class T>
struct Bounded {
  T& value;
  std::size_t max;
};
template <class T>
Bounded<T> bounded(T& value, std::size_t max) {
  return {value, max};
}

class Writer {
 public:
  static constexpr bool decoding = false;
  explicit Writer(std::vector<std::uint8_t>& out) : out_(out) {}

  template <class... T>
  void operator()(T&&... fields) {
    (put(fields), ...);
  }

 private:
  template <class T>
  void put(const T& v) {
    if constexpr (std::is_enum_v<T>) {
      put(static_cast<std::underlying_type_t<T>>(v));
    } else if constexpr (std::is_same_v<T, double>) {
      put(std::bit_cast<std::uint64_t>(v));
    } else if constexpr (std::is_same_v<T, std::complex<double>>) {
      put(v.real());
      put(v.imag());
    } else if constexpr (std::is_integral_v<T>) {
      using U = std::make_unsigned_t<T>;
      const U u = static_cast<U>(v);
      for (std::size_t i = 0; i < sizeof(T); ++i) out_.push_back(std::uint8_t(std::uint64_t(u) >> (8 * i)));
    } else {
      codec(*this, const_cast<T&>(v));  // nested message; the Writer never modifies it
    }
  }
  void put(const Bounded<std::string>& b) {
    if (b.value.size() > b.max) throw ProtocolError(ErrorCode::internal, "string field longer than its limit");
    put(std::uint32_t(b.value.size()));
    out_.insert(out_.end(), b.value.begin(), b.value.end());
  }
  template <class E>
  void put(const Bounded<std::vector<E>>& b) {
    if (b.value.size() > b.max) throw ProtocolError(ErrorCode::internal, "vector field longer than its limit");
    put(std::uint32_t(b.value.size()));
    for (const E& e : b.value) put(e);
  }

  std::vector<std::uint8_t>& out_;
};

class Reader {
 public:
  static constexpr bool decoding = true;
  Reader(const std::uint8_t* data, std::size_t size) : p_(data), left_(size) {}

  template <class... T>
  void operator()(T&&... fields) {
    (get(fields), ...);
  }

  // Every byte must have been consumed: trailing garbage is an error too.
  void finish() const {
    if (left_ != 0) throw DecodeError(std::to_string(left_) + " unexpected trailing bytes");
  }
  std::size_t left() const { return left_; }

 private:
  void need(std::size_t n) const {
    if (n > left_) throw DecodeError("truncated message");
  }
  template <class T>
  void get(T& v) {
    if constexpr (std::is_enum_v<T>) {
      std::underlying_type_t<T> u{};
      get(u);
      v = static_cast<T>(u);  // range checked by the validator of the message, not here
    } else if constexpr (std::is_same_v<T, double>) {
      std::uint64_t u = 0;
      get(u);
      v = std::bit_cast<double>(u);
    } else if constexpr (std::is_same_v<T, std::complex<double>>) {
      double re = 0, im = 0;
      get(re);
      get(im);
      v = {re, im};
    } else if constexpr (std::is_integral_v<T>) {
      need(sizeof(T));
      std::uint64_t u = 0;
      for (std::size_t i = 0; i < sizeof(T); ++i) u |= std::uint64_t(p_[i]) << (8 * i);
      p_ += sizeof(T);
      left_ -= sizeof(T);
      v = static_cast<T>(static_cast<std::make_unsigned_t<T>>(u));
    } else {
      codec(*this, v);
    }
  }
  void get(Bounded<std::string>&& b) { get(b); }
  void get(Bounded<std::string>& b) {
    std::uint32_t n = 0;
    get(n);
    if (n > b.max)
      throw DecodeError("string of " + std::to_string(n) + " bytes exceeds its limit of " + std::to_string(b.max));
    need(n);
    b.value.assign(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    left_ -= n;
  }
  template <class E>
  void get(Bounded<std::vector<E>>&& b) {
    get(b);
  }
  template <class E>
  void get(Bounded<std::vector<E>>& b) {
    std::uint32_t n = 0;
    get(n);
    // Each element takes at least one byte, so `left_` also bounds the allocation.
    if (n > b.max || n > left_) throw DecodeError("vector of " + std::to_string(n) + " elements exceeds its limit");
    b.value.clear();
    b.value.resize(n);
    for (E& e : b.value) get(e);
  }

  const std::uint8_t* p_;
  std::size_t left_;
};

template <class Msg>
std::vector<std::uint8_t> encode(const Msg& m) {
  std::vector<std::uint8_t> out;
  Writer w(out);
  codec(w, const_cast<Msg&>(m));
  return out;
}

template <class Msg>
Msg decode(const std::uint8_t* data, std::size_t size) {
  Msg m{};
  Reader r(data, size);
  codec(r, m);
  r.finish();
  return m;
}
template <class Msg>
Msg decode(const std::vector<std::uint8_t>& bytes) {
  return decode<Msg>(bytes.data(), bytes.size());
}

}  // namespace rcpu::protocol
