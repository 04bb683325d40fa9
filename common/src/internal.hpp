// Internal glue between the pieces of common/ (not part of the public headers).
#pragma once

#include <string>
#include <string_view>

#include "wb/output.hpp"

namespace wb::detail {
// The current process's name ("MainProcess", "Process-3"), kept by process.cpp.
const std::string& process_name() noexcept;
// Emits an event with an optional span phase ("begin"/"end", or empty).
void emit_event(std::string_view actor, std::string_view event, Json fields, std::string_view text,
                std::string_view phase, bool block = false);
}  // namespace wb::detail
