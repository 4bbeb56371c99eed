// Input a stranger controls must not take a daemon down (issue 12): a job spec with invalid UTF-8
// (refused at submission, where it would otherwise poison every heartbeat reply that carries it)
// and a job whose trainer prints non-UTF-8 bytes (the job fails with the trainer's reason; the
// worker stays up and runs the next job).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/cluster.h"

namespace shoal::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

TEST(HostileInputTest, ASpecWithInvalidUtf8AnywhereIsRefusedWithItsPosition) {
  Cluster c;
  c.StartScheduler();
  const std::string tiny = Cluster::ReadRepoFile("configs/jobs/tiny-mlp.yaml");
  // In a comment, where yaml-cpp never looks: Latin-1 "é" on line 2, column 6.
  const std::string poison = "# smoke\n# caf\xE9 au lait\n" + tiny;
  auto r = c.client().Do("POST", "/v1/jobs", poison, "application/yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 400) << r->body;
  const json body = json::parse(r->body);  // the reply itself is valid UTF-8 JSON
  const std::string message = body["error"]["message"];
  EXPECT_NE(message.find("request body:2:6:"), std::string::npos) << message;
  EXPECT_NE(message.find("0xE9"), std::string::npos) << message;
  auto jobs = c.client().DoJson("GET", "/v1/jobs");
  ASSERT_TRUE(jobs.ok());
  EXPECT_TRUE((*jobs)["jobs"].empty()) << jobs->dump();
}

TEST(HostileInputTest, NonUtf8TrainerOutputFailsTheJobAndTheWorkerStaysUp) {
  if (!Cluster::HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Cluster c;
  c.StartScheduler();
  // A Latin-1 CSV in the worker's data root: the trainer quotes its bad field ("caf\xE9").
  const std::string root = c.dir() + "/data";
  std::filesystem::create_directories(root);
  for (const char* name : {"train.csv", "test.csv"}) {
    std::ofstream(root + "/" + name) << "label,a,b\n1,0.5,0.25\n0,caf\xE9,0.1\n";
  }
  Process* worker =
      c.StartWorker("w1", {"--data-root", root, "--data-root", "/usr/share/datasets"});
  const std::string spec =
      "apiVersion: shoal/v1\nkind: TrainingJob\nmetadata: {name: latin1}\nspec:\n"
      "  workers: {min: 1, max: 1}\n  resources: {backend: cpu, gpusPerWorker: 0}\n"
      "  model: {layers: [2, 4, 2], activation: relu, loss: cross_entropy}\n"
      "  data: {train: " +
      root + "/train.csv, test: " + root +
      "/test.csv, format: csv}\n"
      "  training: {epochs: 1, batchSize: 2}\n  limits: {maxRetries: 1}\n";
  const int64_t bad = c.Submit(spec);
  ASSERT_TRUE(c.WaitForState(bad, "FAILED", 60s)) << c.Job(bad).dump();
  const json job = c.Job(bad);  // readable: the reply serialises
  const std::string reason = job["reason"];
  EXPECT_NE(reason.find("expected a number"), std::string::npos) << reason;
  EXPECT_NE(reason.find("caf\xEF\xBF\xBD"), std::string::npos) << reason;  // U+FFFD for 0xE9
  // Bad data is the job's fault: not retried on the next contributor.
  EXPECT_EQ(job["attempts"], 1) << job.dump();
  // The worker survived and still runs work.
  EXPECT_TRUE(worker->running());
  const int64_t good = c.Submit(Cluster::ReadRepoFile("configs/jobs/tiny-mlp.yaml"));
  ASSERT_TRUE(c.WaitForState(good, "SUCCEEDED", 120s)) << c.Job(good).dump();
  EXPECT_TRUE(worker->running());
}

// Connects to 127.0.0.1:port; -1 on failure.
int ConnectLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends `head` and then up to `body_bytes` of body, stopping when the server stops reading
// (closes); returns the bytes of body sent and, in *status_line, the reply's first line.
size_t UploadUntilRefused(int port, const std::string& head, size_t body_bytes,
                          std::string* status_line) {
  int fd = ConnectLoopback(port);
  if (fd < 0) return 0;
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
  const std::string chunk(1 << 20, 'x');
  size_t sent = 0;
  while (sent < body_bytes) {
    const ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  char buf[512];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  *status_line = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  *status_line = status_line->substr(0, status_line->find("\r\n"));
  ::close(fd);
  return sent;
}

// A checkpoint upload used to get its 16 GiB allowance from its path alone, and its token was
// checked only once the whole body was in memory: 1.5 GB from a stranger cost 1.5 GB of RSS.
TEST(HostileInputTest, AnUploadWithoutTheRightTokenIsRefusedBeforeItsBodyIsRead) {
  Cluster c;
  c.StartScheduler();
  c.StartWorker("w1");  // w-1, of the account "pool"
  ASSERT_TRUE(Cluster::WaitUntil([&] { return c.Workers().size() == 1; }, 20s));
  const int64_t job = c.Submit(Cluster::ReadRepoFile("configs/jobs/tiny-mlp.yaml"));
  const int port = std::stoi(c.url().substr(c.url().rfind(':') + 1));
  const double rss_before = Cluster::RssMiB(c.scheduler()->pid());
  const std::string target =
      "/v1/jobs/" + std::to_string(job) + "/checkpoints/1?attempt=1&worker=w-1";
  const std::string sha(64, 'a');
  auto head = [&](const std::string& auth) {
    return "PUT " + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: 1500000000\r\n" +
           "X-Shoal-Sha256: " + sha + "\r\n" + auth + "\r\n";
  };
  std::string status;
  const size_t sent = UploadUntilRefused(port, head(""), size_t{300} << 20, &status);
  EXPECT_EQ(status, "HTTP/1.1 401 Unauthorized");
  EXPECT_LT(sent, size_t{200} << 20) << "the server kept reading a refused body";
  // A valid token that may not write this checkpoint, of an account that may not even see the
  // job: 404 (visibility.jobs: owner), also before the body.
  const std::string user = c.CreateToken("someone", "user");
  UploadUntilRefused(port, head("Authorization: Bearer " + user + "\r\n"), size_t{300} << 20,
                     &status);
  EXPECT_EQ(status, "HTTP/1.1 404 Not Found");
  // One that may see the job (a user of its account) but not write it: 403, before the body.
  const std::string owner = c.CreateToken("admin", "user");
  UploadUntilRefused(port, head("Authorization: Bearer " + owner + "\r\n"), size_t{300} << 20,
                     &status);
  EXPECT_EQ(status, "HTTP/1.1 403 Forbidden");
  const double grown = Cluster::RssMiB(c.scheduler()->pid()) - rss_before;
  EXPECT_LT(grown, 64.0) << "MiB of scheduler RSS for three refused 1.5 GB uploads";
  std::printf(
      "three refused 1.5 GB uploads: scheduler RSS grew %.1f MiB, %zu MiB sent before the "
      "server stopped reading\n",
      grown, sent >> 20);
  auto health = HttpClient(c.url(), 5s).Do("GET", "/healthz");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
}

TEST(HostileInputTest, AReusedIdempotencyKeyWithAnotherBodyIsAConflict) {
  Cluster c;
  c.StartScheduler();
  const std::string tiny = Cluster::ReadRepoFile("configs/jobs/tiny-mlp.yaml");
  const std::map<std::string, std::string> key = {{"Idempotency-Key", "k-1"}};
  auto submit = [&](const std::string& body) {
    return c.client().Do("POST", "/v1/jobs", body, "application/yaml", 0ms, key);
  };
  auto first = submit(tiny);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->status, 201) << first->body;
  auto again = submit(tiny);  // a retry: the same job
  ASSERT_EQ(again->status, 201) << again->body;
  EXPECT_EQ(json::parse(again->body)["id"], json::parse(first->body)["id"]);
  auto other = submit(Replace(tiny, "name: tiny-mlp", "name: other"));
  EXPECT_EQ(other->status, 409) << other->body;
  EXPECT_NE(other->body.find("with a different body"), std::string::npos) << other->body;
  EXPECT_EQ((*c.client().DoJson("GET", "/v1/jobs"))["jobs"].size(), 1u);
}

// Guessing tokens used to go as fast as the scheduler answered (~10k/s), unlogged.
TEST(HostileInputTest, FailedAuthenticationIsLoggedAndRateLimitedPerAddress) {
  Cluster c;
  c.StartScheduler();
  HttpClient guesser = c.client("shoal_not-a-real-token-0000000000000000000000000000");
  int unauthorized = 0, limited = 0;
  std::string retry_after;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 200; ++i) {
    auto r = guesser.Do("GET", "/v1/jobs");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    if (r->status == 401) ++unauthorized;
    if (r->status == 429) {
      ++limited;
      retry_after = r->retry_after;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // The burst (30) and what refilled meanwhile (2/s) got to the token check; the rest did not.
  EXPECT_LE(unauthorized, 30 + 2 * seconds + 2) << "in " << seconds << " s";
  EXPECT_GE(limited, 200 - 30 - 2 * seconds - 2);
  EXPECT_FALSE(retry_after.empty());
  // While limited, even a valid token from that address waits (the check comes first) ...
  auto admin = c.client().Do("GET", "/v1/jobs");
  EXPECT_EQ(admin->status, 429);
  // ... and is served once the address has its tries back.
  EXPECT_TRUE(Cluster::WaitUntil([&] { return c.client().Do("GET", "/v1/jobs")->status == 200; },
                                 5s));
  // Logged, but not once per guess.
  const std::string log = ReadFile(c.dir() + "/scheduler.log");
  size_t lines = 0;
  for (size_t at = log.find("authentication failed from"); at != std::string::npos;
       at = log.find("authentication failed from", at + 1)) {
    ++lines;
  }
  EXPECT_GE(lines, 1u);
  EXPECT_LE(lines, 3u) << log;
  std::printf("200 guessed tokens in %.2f s: %d reached the token check, %d got 429; %zu log "
              "lines\n",
              seconds, unauthorized, limited, lines);
}

// One client may not hold every connection: past the per-address cap a new connection is closed
// at once, and the address gets its share back as its connections close.
TEST(HostileInputTest, ConnectionsPerAddressAreCapped) {
  Cluster c;
  c.StartScheduler({"--max-connections-per-address", "8"});
  const int port = std::stoi(c.url().substr(c.url().rfind(':') + 1));
  std::vector<int> held;
  for (int i = 0; i < 8; ++i) {
    const int fd = ConnectLoopback(port);
    ASSERT_GE(fd, 0);
    held.push_back(fd);
  }
  std::this_thread::sleep_for(300ms);  // all eight accepted and counted
  HttpClient client(c.url(), 2s);
  auto refused = client.Do("GET", "/healthz");
  EXPECT_FALSE(refused.ok() && refused->status == 200) << "a ninth connection was served";
  for (int fd : held) ::close(fd);
  EXPECT_TRUE(Cluster::WaitUntil(
      [&] {
        auto r = client.Do("GET", "/healthz");
        return r.ok() && r->status == 200;
      },
      5s));
}

// CPU seconds (user + system) the process has used, from /proc/PID/stat.
double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Out of file descriptors, the scheduler used to retry accept() at once, spinning a core and
// writing the same warning thousands of times a second, and it did not answer again.
TEST(HostileInputTest, OutOfDescriptorsTheServerPausesAndAnswersAgainOnceTheyClose) {
  char tmpl[] = "/tmp/shoal-emfile-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  Process scheduler({"/bin/sh", "-c", "ulimit -n 64 && exec \"$0\" \"$@\"", SHOAL_SCHEDULER_BIN,
                     "--port", "0", "--state-dir", dir + "/state"},
                    dir + "/scheduler.log");
  ASSERT_TRUE(scheduler.Start());
  const std::string addr_file = dir + "/state/scheduler.addr";
  ASSERT_TRUE(Cluster::WaitUntil([&] { return std::filesystem::exists(addr_file); }, 20s));
  std::string url;
  std::ifstream(addr_file) >> url;
  const int port = std::stoi(url.substr(url.rfind(':') + 1));

  // Twice its descriptors in idle connections: the backlog keeps what it cannot accept.
  std::vector<int> held;
  for (int i = 0; i < 128; ++i) {
    const int fd = ConnectLoopback(port);
    if (fd < 0) break;  // the backlog is full: enough
    held.push_back(fd);
  }
  ASSERT_GT(held.size(), 64u);
  std::this_thread::sleep_for(500ms);
  const double cpu_before = CpuSeconds(scheduler.pid());
  std::this_thread::sleep_for(3s);
  const double cpu = CpuSeconds(scheduler.pid()) - cpu_before;
  EXPECT_LT(cpu, 0.5) << "CPU seconds in 3 s out of descriptors";  // spinning: ~3
  EXPECT_TRUE(scheduler.running());
  EXPECT_LT(std::filesystem::file_size(dir + "/scheduler.log"), 64u * 1024) << "log flood";

  for (int fd : held) ::close(fd);
  const auto closed = std::chrono::steady_clock::now();
  HttpClient client(url, 2s);
  bool answered = Cluster::WaitUntil(
      [&] {
        auto r = client.Do("GET", "/healthz");
        return r.ok() && r->status == 200;
      },
      10s);
  const double after_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - closed).count();
  EXPECT_TRUE(answered);
  EXPECT_LT(after_s, 1.5) << "seconds until /healthz answered again";
  std::printf(
      "out of descriptors: %.2f CPU s in 3 s; /healthz answered %.2f s after the "
      "connections closed\n",
      cpu, after_s);
  scheduler.Signal(SIGTERM);
  scheduler.Wait(10s);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace shoal::testing
