// Logging for the client library and the server: one line per event on stderr, prefixed with the
// component. The client must warn once per cause, not once per call: warn_once does that.
#pragma once

#include <string>

namespace rcpu::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

void set_component(const char* name);  // "rcpu" (client), "rcpud" (server)
void set_level(Level level);           // default info; RCPU_LOG=debug|info|warn|error overrides
// Every message goes out through printable(): text a peer chose (client names, error texts) can
// neither forge a log line nor reach the terminal as an escape sequence.
void write(Level level, const std::string& message);
inline void debug(const std::string& m) { write(Level::debug, m); }
inline void info(const std::string& m) { write(Level::info, m); }
inline void warn(const std::string& m) { write(Level::warn, m); }
inline void error(const std::string& m) { write(Level::error, m); }
// A report of several lines that the program itself wrote (counters, device usage): the first
// line carries the prefix, the others follow as they are; control bytes inside a line are escaped.
void info_lines(const std::string& report);

// At most `burst` lines at once and `per_second` on average from then on (write and the helpers
// above; info_lines, the program's own reports, is exempt); the count of the lines left out is
// logged with the next line that goes out. Off (0) by default; rcpud turns it on, so a flood of
// bad requests cannot fill its disk with log.
void set_rate_limit(double burst, double per_second);

// `text` with every control byte (below 0x20, and 0x7f) written as \xNN.
std::string printable(const std::string& text);

// Writes the warning the first time `cause` is seen in this process; returns whether it wrote.
bool warn_once(const std::string& cause, const std::string& message);

}  // namespace rcpu::log
