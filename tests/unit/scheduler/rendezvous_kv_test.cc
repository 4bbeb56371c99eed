// The rendezvous store's bounds: what one attempt may make the scheduler hold.
#include "scheduler/rendezvous_kv.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

TEST(RendezvousKvTest, AnAttemptIsBoundedInKeysAndInBytes) {
  RendezvousKv kv({/*max_key_bytes=*/16, /*max_value_bytes=*/100, /*max_keys_per_attempt=*/4,
                   /*max_bytes_per_attempt=*/250});
  EXPECT_EQ(kv.Set(1, 1, "", "v").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(kv.Set(1, 1, std::string(17, 'k'), "v").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(kv.Set(1, 1, "a", std::string(101, 'v')).code(), StatusCode::kResourceExhausted);
  ASSERT_TRUE(kv.Set(1, 1, "a", std::string(99, 'v')).ok());  // 100 bytes with its key
  ASSERT_TRUE(kv.Set(1, 1, "b", std::string(99, 'v')).ok());  // 200
  // A third 100-byte entry would make 300 > 250: refused, and nothing changed.
  EXPECT_EQ(kv.Set(1, 1, "c", std::string(99, 'v')).code(), StatusCode::kResourceExhausted);
  EXPECT_FALSE(kv.Get(1, 1, "c").has_value());
  // Replacing a value counts the difference only.
  ASSERT_TRUE(kv.Set(1, 1, "a", "x").ok());                                  // 102
  ASSERT_TRUE(kv.Set(1, 1, "c", std::string(99, 'v')).ok());                 // 202
  ASSERT_TRUE(kv.Set(1, 1, "d", "y").ok());                                  // 204, the 4th key
  EXPECT_EQ(kv.Set(1, 1, "e", "z").code(), StatusCode::kResourceExhausted);  // 5th key
  // Another attempt has its own budget; dropping the job frees both.
  EXPECT_TRUE(kv.Set(1, 2, "e", std::string(99, 'v')).ok());
  kv.DropJob(1);
  EXPECT_EQ(kv.size(), 0u);
  EXPECT_TRUE(kv.Set(1, 1, "a", std::string(99, 'v')).ok());
  EXPECT_TRUE(kv.Set(1, 1, "b", std::string(99, 'v')).ok());
}

}  // namespace
}  // namespace shoal
