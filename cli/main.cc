// shoal: the command-line client of a shoal pool. Everything but the process boundary lives in
// shoal_cli_lib (cli/cli.h), where the tests can reach it.
#include <iostream>
#include <string>
#include <vector>

#include "cli/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return shoal::cli::RunCli(args, std::cout, std::cerr, shoal::cli::CliEnv::FromProcess());
}
