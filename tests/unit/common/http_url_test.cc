// ParseUrl: the http:// and https:// forms HttpClient accepts, and the errors for the rest.
#include <gtest/gtest.h>

#include "common/http_client.h"

namespace shoal {
namespace {

TEST(ParseUrlTest, HttpDefaultsToPort80) {
  auto url = ParseUrl("http://sched.example");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->scheme, "http");
  EXPECT_EQ(url->host, "sched.example");
  EXPECT_EQ(url->port, "80");
  EXPECT_EQ(url->base_path, "");
}

TEST(ParseUrlTest, HttpsDefaultsToPort443) {
  auto url = ParseUrl("https://sched.example/prefix/");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->host, "sched.example");
  EXPECT_EQ(url->port, "443");
  EXPECT_EQ(url->base_path, "/prefix");
}

TEST(ParseUrlTest, HttpsWithPort) {
  auto url = ParseUrl("https://127.0.0.1:8470");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, "8470");
}

TEST(ParseUrlTest, OtherSchemesAndMalformedUrlsAreRejected) {
  auto ftp = ParseUrl("ftp://host:21");
  EXPECT_EQ(ftp.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ftp.status().message().find("https://"), std::string::npos) << ftp.status().message();
  EXPECT_EQ(ParseUrl("127.0.0.1:8470").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseUrl("https://").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseUrl("https://host:44x3").status().code(), StatusCode::kInvalidArgument);
}

TEST(HttpClientTest, ConfigStatusReportsABadUrl) {
  HttpClient client("gopher://x");
  EXPECT_EQ(client.config_status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(client.Do("GET", "/").status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(HttpClient("https://localhost:8470").config_status().ok());
}

}  // namespace
}  // namespace shoal
