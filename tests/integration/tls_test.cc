// The API over TLS with real processes: a scheduler with --tls-cert/--tls-key, workers and their
// trainers (rendezvous, checkpoints) trusting a private CA with --ca-file, and the CLI, which
// refuses a certificate it cannot verify.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/cluster.h"
#include "tests/testing/tls_certs.h"

namespace shoal::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

struct CliResult {
  int code;
  std::string output;
};

CliResult RunShoal(const Cluster& c, const std::string& name, std::vector<std::string> args) {
  std::vector<std::string> argv = {SHOAL_CLI_BIN, "--scheduler", c.url(), "--token",
                                   c.admin_token()};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string log = c.dir() + "/cli-" + name + ".log";
  Process p(argv, log);
  EXPECT_TRUE(p.Start());
  const int code = p.Wait(20s);
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  return {code, ss.str()};
}

TEST(TlsTest, ATwoRankJobTrainsOverHttpsAndUntrustedCertificatesAreRefused) {
  if (!Cluster::HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Cluster c;
  auto files = WriteTestTlsFiles(c.dir() + "/tls");
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  c.set_ca_file(files->ca_file);
  c.StartScheduler({"--tls-cert", files->cert_file, "--tls-key", files->key_file});
  ASSERT_EQ(c.url().rfind("https://127.0.0.1:", 0), 0u) << c.url();
  c.StartWorker("w1");
  c.StartWorker("w2");
  ASSERT_TRUE(Cluster::WaitUntil([&] { return c.Workers().size() == 2; }, 15s));

  std::string yaml = Replace(Cluster::ReadRepoFile("configs/jobs/fashion-mnist-mlp.yaml"),
                             "epochs: 5", "epochs: 1");
  const int64_t id = c.Submit(yaml);
  ASSERT_TRUE(c.WaitForState(id, "SUCCEEDED", 120s)) << c.Job(id).dump();
  EXPECT_GT(c.Job(id)["result"].value("testAccuracy", 0.0), 0.80) << c.Job(id).dump();

  // Plain HTTP on the TLS port gets no answer; the scheduler goes on serving HTTPS.
  std::string plain = "http://" + c.url().substr(std::string("https://").size());
  auto r = HttpClient(plain, 3s).Do("GET", "/healthz");
  EXPECT_TRUE(!r.ok() || r->status >= 400) << r->body;
  auto again = c.client().Do("GET", "/healthz");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->status, 200);

  // The CLI: trusting only the system's CAs, or another CA, it refuses (exit 3) and says why.
  CliResult untrusted = RunShoal(c, "untrusted", {"workers"});
  EXPECT_EQ(untrusted.code, 3) << untrusted.output;
  EXPECT_NE(untrusted.output.find("certificate could not be verified"), std::string::npos)
      << untrusted.output;
  CliResult other = RunShoal(c, "other", {"workers", "--ca-file", files->other_ca_file});
  EXPECT_EQ(other.code, 3) << other.output;
  CliResult trusted = RunShoal(c, "trusted", {"list", "--all", "--ca-file", files->ca_file});
  EXPECT_EQ(trusted.code, 0) << trusted.output;
  EXPECT_NE(trusted.output.find("SUCCEEDED"), std::string::npos) << trusted.output;
  CliResult missing = RunShoal(c, "missing", {"workers", "--ca-file", c.dir() + "/nope.pem"});
  EXPECT_EQ(missing.code, 2) << missing.output;
  EXPECT_NE(missing.output.find("nope.pem"), std::string::npos) << missing.output;
}

}  // namespace
}  // namespace shoal::testing
