// SHA-256 (OpenSSL), as lower-case hex: the checksum checkpoints travel and are stored with.
#pragma once

#include <string>
#include <string_view>

namespace shoal {

// 64 lower-case hex digits.
std::string Sha256Hex(std::string_view data);

}  // namespace shoal
