// The call kinds rcpud serves, wired into the session core: with rcpud_main.cpp the server's
// composition root, the one place that knows every kind.
#pragma once

#include "server/core/kind_table.h"

namespace rcpu::server {

// Every kind, in the order requests are offered to them.
KindTable server_kinds();

}  // namespace rcpu::server
