// shoal: the command-line client of a shoal pool. Everything but the process boundary lives in
// shoal_cli_lib (cli/cli.h), where the tests can reach it.
#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "cli/cli.h"
#include "cli/i18n.h"

int main(int argc, char** argv) {
  // The catalogs are found relative to the real executable (a symlink on $PATH points to it).
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  shoal::cli::InitI18n(ec ? std::string(argv[0]) : self.string());
  std::vector<std::string> args(argv + 1, argv + argc);
  return shoal::cli::RunCli(args, std::cout, std::cerr, shoal::cli::CliEnv::FromProcess());
}
