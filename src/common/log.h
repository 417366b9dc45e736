// Logging for the client library and the server: one line per event on stderr, prefixed with the
// component. The client must warn once per cause, not once per call: warn_once does that.
#pragma once

#include <string>

namespace rcpu::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

void set_component(const char* name);  // "rcpu" (client), "rcpud" (server)
void set_level(Level level);           // default info; RCPU_LOG=debug|info|warn|error overrides
void write(Level level, const std::string& message);
inline void debug(const std::string& m) { write(Level::debug, m); }
inline void info(const std::string& m) { write(Level::info, m); }
inline void warn(const std::string& m) { write(Level::warn, m); }
inline void error(const std::string& m) { write(Level::error, m); }

// Writes the warning the first time `cause` is seen in this process; returns whether it wrote.
bool warn_once(const std::string& cause, const std::string& message);

}  // namespace rcpu::log
