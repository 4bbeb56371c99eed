#include "common/byte_size.h"

#include <array>
#include <optional>
#include <string>

#include "common/parse_number.h"

namespace shoal {

Result<int64_t> ParseByteSize(std::string_view text, int64_t max_bytes) {
  struct Unit {
    std::string_view suffix;
    int64_t scale;
  };
  static constexpr std::array<Unit, 8> kUnits = {{{"KiB", int64_t{1} << 10},
                                                  {"MiB", int64_t{1} << 20},
                                                  {"GiB", int64_t{1} << 30},
                                                  {"TiB", int64_t{1} << 40},
                                                  {"KB", 1000},
                                                  {"MB", 1000000},
                                                  {"GB", 1000000000},
                                                  {"TB", 1000000000000}}};
  std::string_view number = text;
  int64_t scale = 1;
  for (const Unit& u : kUnits) {
    if (text.size() > u.suffix.size() && text.ends_with(u.suffix)) {
      number = text.substr(0, text.size() - u.suffix.size());
      scale = u.scale;
      break;
    }
  }
  const std::optional<int64_t> bytes = ScaleDecimal(number, scale, max_bytes);
  if (!bytes) {
    return InvalidArgument("bad size \"" + std::string(text) +
                           "\" (e.g. 65536, 64KiB, 64MiB, 50GiB)");
  }
  return *bytes;
}

}  // namespace shoal
