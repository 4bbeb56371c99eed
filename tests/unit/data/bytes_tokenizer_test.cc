// The bytes tokenizer: one token per byte, so anything round-trips, and ids outside 0..255 are
// refused by name.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "data/tokenizer.h"
#include "tests/testing/test_util.h"

namespace shoal {
namespace {

TEST(BytesTokenizer, NameAndVocabulary) {
  auto tok = MakeBytesTokenizer();
  EXPECT_EQ(tok->name(), "bytes");
  EXPECT_EQ(tok->vocab_size(), 256);
}

TEST(BytesTokenizer, EveryByteValueRoundTrips) {
  auto tok = MakeBytesTokenizer();
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  auto ids = tok->Encode(all);
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), 256u);
  for (int b = 0; b < 256; ++b) EXPECT_EQ((*ids)[b], b);
  auto text = tok->Decode(*ids);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, all);
}

TEST(BytesTokenizer, InvalidUtf8AndNulsRoundTrip) {
  auto tok = MakeBytesTokenizer();
  // A lone continuation byte, a truncated 3-byte sequence, an overlong '/', NULs, and "é".
  const std::string text("\x80 a\xE2\x82 \xC0\xAF\0\0 caf\xC3\xA9", 16);
  auto ids = tok->Encode(text);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), text.size());
  EXPECT_EQ(ids->front(), 0x80);
  EXPECT_EQ(*tok->Decode(*ids), text);
}

TEST(BytesTokenizer, SampleTextRoundTrips) {
  const std::string sample =
      ::shoal::testing::ReadFile(::shoal::testing::RepoRoot() / "tests/data/text/sample.txt");
  ASSERT_GT(sample.size(), 5000u);
  auto tok = MakeBytesTokenizer();
  EXPECT_EQ(*tok->Decode(*tok->Encode(sample)), sample);
}

TEST(BytesTokenizer, EmptyText) {
  auto tok = MakeBytesTokenizer();
  EXPECT_TRUE(tok->Encode("")->empty());
  EXPECT_EQ(*tok->Decode({}), "");
}

TEST(BytesTokenizer, DecodeRefusesIdsOutsideTheVocabulary) {
  auto tok = MakeBytesTokenizer();
  auto text = tok->Decode({65, 66, 256, 67});
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(text.status().message().find("token id 256 at index 2"), std::string::npos)
      << text.status().message();
  EXPECT_FALSE(tok->Decode({-1}).ok());
}

}  // namespace
}  // namespace shoal
