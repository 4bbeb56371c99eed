#include "scheduler/visibility.h"

namespace shoal {

Result<Visibility::Workers> ParseWorkersVisibility(std::string_view text) {
  if (text == "owner") return Visibility::Workers::kOwner;
  if (text == "all") return Visibility::Workers::kAll;
  return InvalidArgument("expected owner or all, found \"" + std::string(text.substr(0, 40)) +
                         "\"");
}

Result<Visibility::Jobs> ParseJobsVisibility(std::string_view text) {
  if (text == "owner") return Visibility::Jobs::kOwner;
  if (text == "exists") return Visibility::Jobs::kExists;
  return InvalidArgument("expected owner or exists, found \"" + std::string(text.substr(0, 40)) +
                         "\"");
}

Result<Visibility::Accounts> ParseAccountsVisibility(std::string_view text) {
  if (text == "owner") return Visibility::Accounts::kOwner;
  if (text == "all") return Visibility::Accounts::kAll;
  return InvalidArgument("expected owner or all, found \"" + std::string(text.substr(0, 40)) +
                         "\"");
}

std::string_view ToString(Visibility::Workers v) {
  return v == Visibility::Workers::kAll ? "all" : "owner";
}

std::string_view ToString(Visibility::Jobs v) {
  return v == Visibility::Jobs::kExists ? "exists" : "owner";
}

std::string_view ToString(Visibility::Accounts v) {
  return v == Visibility::Accounts::kAll ? "all" : "owner";
}

}  // namespace shoal
