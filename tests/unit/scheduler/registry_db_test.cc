// The registry's database on a real file: artifacts and the visibility rule, versions and their
// refs, chunk references and what deleting a version frees in each namespace, quotas, grants,
// audit, persistence across reopening, failed writes leaving nothing, and the time to store a
// 200,000-chunk manifest.
#include "scheduler/registry/registry_db.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <sqlite3.h>

#include "common/sha256.h"

namespace shoal {
namespace {

std::string Chunk(int i) { return Sha256Hex("chunk " + std::to_string(i)); }

// One file "data" over the given chunks, each `chunk_size` bytes.
Manifest MakeManifest(const std::vector<std::string>& chunks, int64_t chunk_size = 10) {
  Manifest m;
  for (const std::string& c : chunks) m.chunks.push_back({c, chunk_size});
  m.files.push_back({"data", chunk_size * static_cast<int64_t>(chunks.size()), 0});
  return m;
}

VersionRecord MakeVersion(int64_t artifact_id, const std::string& name, const Manifest& m,
                          int64_t created_ms) {
  VersionRecord v;
  v.artifact_id = artifact_id;
  v.version = name;
  v.digest = ManifestDigest(m);
  v.publisher = "alice";
  v.created_ms = created_ms;
  return v;
}

class RegistryDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-registry-db-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Reopen();
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    db_.reset();
    auto db = RegistryDb::Open(dir_ + "/registry.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
  }
  ArtifactRecord Create(const std::string& account, const std::string& name,
                        bool is_private = false, ArtifactKind kind = ArtifactKind::kDataset) {
    ArtifactRecord r;
    r.kind = kind;
    r.account = account;
    r.name = name;
    r.is_private = is_private;
    if (is_private) r.wrapped_key = "wrapped";
    bool created = false;
    auto a = db_->Upsert(r, 1000, &created);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_TRUE(created);
    return a.ok() ? *a : ArtifactRecord{};
  }
  void Add(int64_t artifact_id, const std::string& name, const Manifest& m, int64_t created_ms) {
    bool added = false;
    Status s = db_->AddVersion(MakeVersion(artifact_id, name, m, created_ms), m, &added);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_TRUE(added);
  }
  std::string dir_;
  std::unique_ptr<RegistryDb> db_;
};

TEST_F(RegistryDbTest, CreatesThenUpdatesTheCardButNeverTheVisibilityOrKey) {
  ArtifactRecord r;
  r.account = "alice";
  r.name = "mnist";
  r.is_private = true;
  r.description = "digits";
  r.license = "MIT";
  r.format = "idx";
  r.trusted_workers = {"bob", "carol"};
  r.wrapped_key = "k1";
  r.extra = {{"note", 1}};
  bool created = false;
  auto a = db_->Upsert(r, 1000, &created);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(created);
  EXPECT_GT(a->id, 0);
  EXPECT_EQ(a->ChunkNamespace(), "a" + std::to_string(a->id));
  EXPECT_EQ(a->trusted_workers, r.trusted_workers);
  EXPECT_EQ(a->extra, r.extra);
  EXPECT_EQ(a->created_ms, 1000);

  r.description = "handwritten digits";
  r.trusted_workers = {"dave"};
  r.wrapped_key = "k2";  // ignored: set at creation only
  auto b = db_->Upsert(r, 2000, &created);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_FALSE(created);
  EXPECT_EQ(b->id, a->id);
  EXPECT_EQ(b->description, "handwritten digits");
  EXPECT_EQ(b->trusted_workers, std::vector<std::string>{"dave"});
  EXPECT_EQ(b->wrapped_key, "k1");
  EXPECT_EQ(b->created_ms, 1000);
  EXPECT_EQ(b->updated_ms, 2000);

  r.is_private = false;
  auto c = db_->Upsert(r, 3000, &created);
  ASSERT_EQ(c.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(c.status().message().find("visibility cannot change"), std::string::npos);
  EXPECT_NE(c.status().message().find("new name"), std::string::npos);
  auto found = db_->Find(ArtifactKind::kDataset, "alice", "mnist");
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->is_private);
  EXPECT_EQ(found->updated_ms, 2000);

  auto missing = db_->Find(ArtifactKind::kDataset, "alice", "nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "datasets/alice/nope not found");
  // The same name as a model is another artifact.
  EXPECT_EQ(db_->Find(ArtifactKind::kModel, "alice", "mnist").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(db_->FindById(a->id)->name, "mnist");
  EXPECT_EQ(db_->FindById(a->id + 100).status().code(), StatusCode::kNotFound);

  r.name = "Not_A_Label";
  EXPECT_EQ(db_->Upsert(r, 1, &created).status().code(), StatusCode::kInvalidArgument);
}

// A model version remembers the job it was published from (once-only publishing of
// spec.output.model); a database made before that column existed gains it on opening.
TEST_F(RegistryDbTest, VersionsRememberTheJobTheyWerePublishedFrom) {
  db_.reset();
  std::filesystem::remove(dir_ + "/registry.db");
  {
    sqlite3* old = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ + "/registry.db").c_str(), &old), SQLITE_OK);
    // The versions table as the first registry made it.
    ASSERT_EQ(sqlite3_exec(old,
                           "CREATE TABLE versions (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                           "artifact_id INTEGER NOT NULL, version TEXT NOT NULL, digest TEXT "
                           "NOT NULL, bytes INTEGER NOT NULL, files INTEGER NOT NULL, chunks "
                           "INTEGER NOT NULL, publisher TEXT NOT NULL, created_ms INTEGER NOT "
                           "NULL, manifest TEXT NOT NULL, UNIQUE (artifact_id, version), UNIQUE "
                           "(artifact_id, digest))",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(old);
  }
  Reopen();
  const ArtifactRecord a = Create("alice", "mlp", false, ArtifactKind::kModel);
  Add(a.id, "1", MakeManifest({Chunk(1)}), 100);  // pushed, from no job
  VersionRecord v = MakeVersion(a.id, "2", MakeManifest({Chunk(2)}), 200);
  v.source_job = 42;
  bool added = false;
  ASSERT_TRUE(db_->AddVersion(v, MakeManifest({Chunk(2)}), &added).ok());
  Reopen();
  const auto from_job = db_->VersionFromJob(a.id, 42);
  ASSERT_TRUE(from_job.has_value());
  EXPECT_EQ(from_job->version, "2");
  EXPECT_EQ(from_job->source_job, 42);
  EXPECT_FALSE(db_->VersionFromJob(a.id, 43).has_value());
  EXPECT_EQ(db_->FindVersion(a.id, "1")->source_job, 0);
}

TEST_F(RegistryDbTest, ListsByKindAndAccountInOrder) {
  Create("bob", "zeta");
  Create("alice", "mnist");
  Create("bob", "alpha", true);
  Create("alice", "resnet", false, ArtifactKind::kModel);
  auto names = [](const std::vector<ArtifactRecord>& list) {
    std::vector<std::string> out;
    for (const auto& a : list) out.push_back(a.account + "/" + a.name);
    return out;
  };
  EXPECT_EQ(names(db_->List(ArtifactKind::kDataset)),
            (std::vector<std::string>{"alice/mnist", "bob/alpha", "bob/zeta"}));
  EXPECT_EQ(names(db_->List(ArtifactKind::kDataset, "bob")),
            (std::vector<std::string>{"bob/alpha", "bob/zeta"}));
  EXPECT_EQ(names(db_->List(ArtifactKind::kModel)), std::vector<std::string>{"alice/resnet"});
  EXPECT_TRUE(db_->List(ArtifactKind::kModel, "bob").empty());
}

TEST_F(RegistryDbTest, VersionsAreImmutableAndFoundByNameDigestOrLatest) {
  const ArtifactRecord a = Create("alice", "mnist");
  const Manifest m1 = MakeManifest({Chunk(1), Chunk(2)});
  const Manifest m2 = MakeManifest({Chunk(2), Chunk(3), Chunk(4)});
  Add(a.id, "v1", m1, 100);
  Add(a.id, "v2", m2, 200);

  // A retried push: nothing to do.
  bool added = true;
  ASSERT_TRUE(db_->AddVersion(MakeVersion(a.id, "v1", m1, 300), m1, &added).ok());
  EXPECT_FALSE(added);
  // The name with another manifest, or the manifest under another name.
  Status s = db_->AddVersion(MakeVersion(a.id, "v1", m2, 300), m2, &added);
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(s.message().find("v1"), std::string::npos) << s.message();
  s = db_->AddVersion(MakeVersion(a.id, "v3", m2, 300), m2, &added);
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(s.message().find("datasets/alice/mnist@v2"), std::string::npos) << s.message();
  // A digest that is not the manifest's, a bad name, an unknown artifact.
  VersionRecord wrong = MakeVersion(a.id, "v3", m2, 300);
  wrong.digest = ManifestDigest(m1);
  EXPECT_EQ(db_->AddVersion(wrong, m2, &added).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(db_->AddVersion(MakeVersion(a.id, "latest", m2, 1), m2, &added).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(db_->AddVersion(MakeVersion(a.id + 9, "v9", m2, 1), m2, &added).code(),
            StatusCode::kNotFound);

  auto latest = db_->FindVersion(a.id, "latest");
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->version, "v2");
  EXPECT_EQ(latest->bytes, 30);
  EXPECT_EQ(latest->files, 1);
  EXPECT_EQ(latest->chunks, 3);
  EXPECT_EQ(latest->publisher, "alice");
  EXPECT_EQ(latest->created_ms, 200);
  EXPECT_EQ(db_->FindVersion(a.id, "")->version, "v2");
  EXPECT_EQ(db_->FindVersion(a.id, "sha256:" + ManifestDigest(m1))->version, "v1");
  EXPECT_EQ(db_->FindVersion(a.id, "v1")->digest, ManifestDigest(m1));
  auto missing = db_->FindVersion(a.id, "v7");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "datasets/alice/mnist@v7 not found");
  EXPECT_EQ(db_->FindVersion(a.id, "sha256:" + Chunk(9)).status().code(), StatusCode::kNotFound);

  const auto versions = db_->Versions(a.id);
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0].version, "v1");
  EXPECT_EQ(versions[1].version, "v2");

  // Ties in creation time: the one added last is the latest.
  const Manifest m3 = MakeManifest({Chunk(5)});
  Add(a.id, "v3", m3, 200);
  EXPECT_EQ(db_->FindVersion(a.id, "latest")->version, "v3");

  const ArtifactRecord empty = Create("alice", "empty");
  auto none = db_->FindVersion(empty.id, "latest");
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_NE(none.status().message().find("datasets/alice/empty"), std::string::npos);
}

TEST_F(RegistryDbTest, ManifestTextRoundTripsAndChunksAreAnsweredPerVersion) {
  const ArtifactRecord a = Create("alice", "mnist");
  // Chunk 1 twice: stored once, still a chunk of the version.
  const Manifest m1 = MakeManifest({Chunk(1), Chunk(2), Chunk(1)});
  const Manifest m2 = MakeManifest({Chunk(3)});
  Add(a.id, "v1", m1, 100);
  Add(a.id, "v2", m2, 200);
  EXPECT_EQ(db_->FindVersion(a.id, "v1")->chunks, 3);

  auto text = db_->ManifestText(a.id, ManifestDigest(m1));
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, CanonicalManifestText(m1));
  auto parsed = ParseManifest(*text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, m1);
  EXPECT_EQ(db_->ManifestText(a.id, Chunk(9)).status().code(), StatusCode::kNotFound);

  const std::string d1 = ManifestDigest(m1);
  EXPECT_TRUE(db_->VersionHasChunk(a.id, d1, Chunk(1)));
  EXPECT_TRUE(db_->VersionHasChunk(a.id, d1, Chunk(2)));
  EXPECT_FALSE(db_->VersionHasChunk(a.id, d1, Chunk(3)));
  EXPECT_TRUE(db_->ArtifactHasChunk(a.id, Chunk(3)));
  EXPECT_FALSE(db_->ArtifactHasChunk(a.id, Chunk(4)));
  const ArtifactRecord b = Create("bob", "other");
  EXPECT_FALSE(db_->ArtifactHasChunk(b.id, Chunk(1)));
  EXPECT_FALSE(db_->VersionHasChunk(b.id, d1, Chunk(1)));
}

TEST_F(RegistryDbTest, DeletingAPublicVersionFreesOnlyChunksNoPublicVersionReferences) {
  const ArtifactRecord a = Create("alice", "mnist");
  const ArtifactRecord b = Create("bob", "digits");
  const ArtifactRecord m = Create("carol", "net", false, ArtifactKind::kModel);
  const ArtifactRecord p = Create("dave", "secret", true);
  Add(a.id, "v1", MakeManifest({Chunk(1), Chunk(2), Chunk(3), Chunk(4), Chunk(1)}), 100);
  Add(a.id, "v2", MakeManifest({Chunk(2)}), 200);
  Add(b.id, "v1", MakeManifest({Chunk(3)}), 100);  // another public dataset
  Add(m.id, "v1", MakeManifest({Chunk(4)}), 100);  // a public model
  Add(p.id, "v1", MakeManifest({Chunk(1)}), 100);  // private: another namespace

  auto freed = db_->DeleteVersion(a.id, "v1");
  ASSERT_TRUE(freed.ok()) << freed.status().ToString();
  EXPECT_EQ(*freed, std::vector<std::string>{Chunk(1)});
  EXPECT_EQ(db_->DeleteVersion(a.id, "v1").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(db_->ArtifactHasChunk(a.id, Chunk(1)));
  EXPECT_TRUE(db_->ArtifactHasChunk(a.id, Chunk(2)));
  EXPECT_EQ(db_->Versions(a.id).size(), 1u);

  freed = db_->DeleteVersion(b.id, "v1");
  ASSERT_TRUE(freed.ok());
  EXPECT_EQ(*freed, std::vector<std::string>{Chunk(3)});
  EXPECT_EQ(db_->Unreferenced("public", {Chunk(1), Chunk(2), Chunk(3), Chunk(4), Chunk(5)}),
            (std::vector<std::string>{Chunk(1), Chunk(3), Chunk(5)}));
}

TEST_F(RegistryDbTest, DeletingAPrivateVersionFreesChunksNoOtherVersionOfItReferences) {
  const ArtifactRecord p = Create("dave", "secret", true);
  const ArtifactRecord q = Create("dave", "secret2", true);
  const ArtifactRecord pub = Create("alice", "mnist");
  Add(p.id, "v1", MakeManifest({Chunk(1), Chunk(2), Chunk(3)}), 100);
  Add(p.id, "v2", MakeManifest({Chunk(2)}), 200);
  Add(q.id, "v1", MakeManifest({Chunk(3)}), 100);    // same bytes, another key
  Add(pub.id, "v1", MakeManifest({Chunk(1)}), 100);  // the public namespace

  auto freed = db_->DeleteVersion(p.id, "v1");
  ASSERT_TRUE(freed.ok()) << freed.status().ToString();
  EXPECT_EQ(*freed, (std::vector<std::string>{Chunk(1), Chunk(3)}));
  const std::string ns = p.ChunkNamespace();
  EXPECT_EQ(db_->Unreferenced(ns, {Chunk(1), Chunk(2), Chunk(3)}),
            (std::vector<std::string>{Chunk(1), Chunk(3)}));
  EXPECT_EQ(db_->Unreferenced(q.ChunkNamespace(), {Chunk(2), Chunk(3)}),
            std::vector<std::string>{Chunk(2)});
  freed = db_->DeleteVersion(p.id, "v2");
  ASSERT_TRUE(freed.ok());
  EXPECT_EQ(*freed, std::vector<std::string>{Chunk(2)});
  EXPECT_EQ(db_->Unreferenced("a999", {Chunk(1)}), std::vector<std::string>{Chunk(1)});
}

TEST_F(RegistryDbTest, QuotasCountEveryVersionInFullAcrossKinds) {
  const ArtifactRecord a = Create("alice", "mnist");
  const ArtifactRecord m = Create("alice", "net", false, ArtifactKind::kModel);
  const ArtifactRecord b = Create("bob", "digits", true);
  Create("carol", "empty");
  Add(a.id, "v1", MakeManifest({Chunk(1), Chunk(2)}), 100);            // 20
  Add(a.id, "v2", MakeManifest({Chunk(1), Chunk(2), Chunk(3)}), 200);  // 30, shares two
  Add(m.id, "v1", MakeManifest({Chunk(9)}, 100), 100);                 // 100
  Add(b.id, "v1", MakeManifest({Chunk(1)}, 7), 100);                   // 7
  EXPECT_EQ(db_->BytesOwnedBy("alice"), 150);
  EXPECT_EQ(db_->BytesOwnedBy("bob"), 7);
  EXPECT_EQ(db_->BytesOwnedBy("nobody"), 0);
  using Usage = std::vector<std::pair<std::string, int64_t>>;
  EXPECT_EQ(db_->BytesByAccount(), (Usage{{"alice", 150}, {"bob", 7}, {"carol", 0}}));
}

TEST_F(RegistryDbTest, GrantsExpireAndAreRevoked) {
  const ArtifactRecord a = Create("alice", "secret", true);
  ASSERT_TRUE(db_->Grant(a.id, GrantRecord{"bob", "alice", 100, 0}).ok());
  ASSERT_TRUE(db_->Grant(a.id, GrantRecord{"carol", "alice", 100, 5000}).ok());
  EXPECT_TRUE(db_->HasGrant(a.id, "bob", 1'000'000));
  EXPECT_TRUE(db_->HasGrant(a.id, "carol", 4999));
  EXPECT_FALSE(db_->HasGrant(a.id, "carol", 5000));
  EXPECT_FALSE(db_->HasGrant(a.id, "dave", 1));
  // Re-granting replaces the expiry.
  ASSERT_TRUE(db_->Grant(a.id, GrantRecord{"carol", "admin", 200, 9000}).ok());
  EXPECT_TRUE(db_->HasGrant(a.id, "carol", 8000));
  const auto grants = db_->Grants(a.id);
  ASSERT_EQ(grants.size(), 2u);
  EXPECT_EQ(grants[0].account, "bob");
  EXPECT_EQ(grants[1].account, "carol");
  EXPECT_EQ(grants[1].granted_by, "admin");
  EXPECT_EQ(grants[1].expires_ms, 9000);

  ASSERT_TRUE(db_->Revoke(a.id, "bob").ok());
  EXPECT_FALSE(db_->HasGrant(a.id, "bob", 1));
  Status s = db_->Revoke(a.id, "bob");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "bob holds no grant on datasets/alice/secret");
  EXPECT_EQ(db_->Grant(a.id + 5, GrantRecord{"bob", "alice", 1, 0}).code(), StatusCode::kNotFound);
}

TEST_F(RegistryDbTest, AuditIsAppendedAndReadAfterASeq) {
  const ArtifactRecord a = Create("alice", "secret", true);
  const ArtifactRecord b = Create("alice", "other", true);
  for (int i = 0; i < 5; ++i) {
    AuditRecord r{0,
                  100 + i,
                  "bob",
                  i,
                  "w" + std::to_string(i),
                  "chunk",
                  "v1",
                  i % 2 == 0,
                  "detail " + std::to_string(i)};
    ASSERT_TRUE(db_->AppendAudit(a.id, r).ok());
  }
  ASSERT_TRUE(db_->AppendAudit(b.id, AuditRecord{}).ok());
  auto all = db_->Audit(a.id, 0, 100);
  ASSERT_EQ(all.size(), 5u);
  for (size_t i = 1; i < all.size(); ++i) EXPECT_GT(all[i].seq, all[i - 1].seq);
  EXPECT_EQ(all[2].time_ms, 102);
  EXPECT_EQ(all[2].account, "bob");
  EXPECT_EQ(all[2].job, 2);
  EXPECT_EQ(all[2].worker, "w2");
  EXPECT_EQ(all[2].action, "chunk");
  EXPECT_EQ(all[2].version, "v1");
  EXPECT_TRUE(all[2].allowed);
  EXPECT_FALSE(all[3].allowed);
  EXPECT_EQ(all[2].detail, "detail 2");
  auto page = db_->Audit(a.id, all[1].seq, 2);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].seq, all[2].seq);
  EXPECT_EQ(page[1].seq, all[3].seq);
  EXPECT_TRUE(db_->Audit(a.id, all[4].seq, 10).empty());
  EXPECT_TRUE(db_->Audit(a.id, 0, 0).empty());
  EXPECT_EQ(db_->Audit(b.id, 0, 10).size(), 1u);
}

TEST_F(RegistryDbTest, DeletesOnlyAnArtifactWithoutVersionsAndKeepsItsAudit) {
  const ArtifactRecord a = Create("alice", "secret", true);
  Add(a.id, "v1", MakeManifest({Chunk(1)}), 100);
  ASSERT_TRUE(db_->Grant(a.id, GrantRecord{"bob", "alice", 1, 0}).ok());
  ASSERT_TRUE(db_->AppendAudit(a.id, AuditRecord{}).ok());
  Status s = db_->DeleteArtifact(a.id);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("1 version"), std::string::npos) << s.message();
  ASSERT_TRUE(db_->DeleteVersion(a.id, "v1").ok());
  ASSERT_TRUE(db_->DeleteArtifact(a.id).ok());
  EXPECT_EQ(db_->FindById(a.id).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(db_->Grants(a.id).empty());
  EXPECT_EQ(db_->Audit(a.id, 0, 10).size(), 1u);
  EXPECT_EQ(db_->DeleteArtifact(a.id).code(), StatusCode::kNotFound);
  // Ids are never reused: a new artifact of the same name gets a new id (and namespace).
  const ArtifactRecord again = Create("alice", "secret", true);
  EXPECT_GT(again.id, a.id);
  EXPECT_TRUE(db_->Audit(again.id, 0, 10).empty());
}

TEST_F(RegistryDbTest, AFailedAddVersionLeavesNothingBehind) {
  const ArtifactRecord a = Create("alice", "mnist");
  const Manifest m1 = MakeManifest({Chunk(1)});
  Add(a.id, "v1", m1, 100);
  // A taken name, a manifest already stored, an invalid manifest: each refused, none leaving a
  // version row or a chunk reference.
  const Manifest m2 = MakeManifest({Chunk(2), Chunk(3)});
  bool added = true;
  ASSERT_EQ(db_->AddVersion(MakeVersion(a.id, "v1", m2, 200), m2, &added).code(),
            StatusCode::kAlreadyExists);
  EXPECT_FALSE(added);
  ASSERT_EQ(db_->AddVersion(MakeVersion(a.id, "v2", m1, 200), m1, &added).code(),
            StatusCode::kAlreadyExists);
  Manifest bad = MakeManifest({Chunk(2), "not-a-hash"});
  VersionRecord bad_version = MakeVersion(a.id, "v3", bad, 200);
  EXPECT_EQ(db_->AddVersion(bad_version, bad, &added).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(db_->Versions(a.id).size(), 1u);
  EXPECT_FALSE(db_->ArtifactHasChunk(a.id, Chunk(2)));
  EXPECT_FALSE(db_->ArtifactHasChunk(a.id, Chunk(3)));
  EXPECT_EQ(db_->FindVersion(a.id, "v2").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(db_->BytesOwnedBy("alice"), 10);
}

TEST_F(RegistryDbTest, EverythingSurvivesReopening) {
  ArtifactRecord r;
  r.account = "alice";
  r.name = "secret";
  r.is_private = true;
  r.wrapped_key = "wrapped-key";
  r.description = "d";
  r.trusted_workers = {"bob"};
  r.extra = {{"metrics", {{"loss", 0.5}}}};
  bool created = false;
  auto a = db_->Upsert(r, 1000, &created);
  ASSERT_TRUE(a.ok());
  const Manifest m = MakeManifest({Chunk(1), Chunk(2)});
  Add(a->id, "v1", m, 100);
  ASSERT_TRUE(db_->Grant(a->id, GrantRecord{"bob", "alice", 1, 0}).ok());
  ASSERT_TRUE(
      db_->AppendAudit(a->id, AuditRecord{0, 5, "bob", 7, "w", "pull", "v1", true, ""}).ok());

  Reopen();
  auto found = db_->Find(ArtifactKind::kDataset, "alice", "secret");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->id, a->id);
  EXPECT_TRUE(found->is_private);
  EXPECT_EQ(found->wrapped_key, "wrapped-key");
  EXPECT_EQ(found->trusted_workers, std::vector<std::string>{"bob"});
  EXPECT_EQ(found->extra, r.extra);
  EXPECT_EQ(db_->FindVersion(a->id, "latest")->digest, ManifestDigest(m));
  EXPECT_EQ(*db_->ManifestText(a->id, ManifestDigest(m)), CanonicalManifestText(m));
  EXPECT_TRUE(db_->VersionHasChunk(a->id, ManifestDigest(m), Chunk(2)));
  EXPECT_TRUE(db_->HasGrant(a->id, "bob", 10));
  ASSERT_EQ(db_->Audit(a->id, 0, 10).size(), 1u);
  EXPECT_EQ(db_->Audit(a->id, 0, 10)[0].job, 7);
  EXPECT_EQ(db_->BytesOwnedBy("alice"), 20);
}

// Prints the time to store (and then to delete) a version of 200,000 chunks; no bound is asserted
// (machines differ), the number is for reading.
TEST_F(RegistryDbTest, LargeManifestTiming) {
  const ArtifactRecord a = Create("alice", "big");
  std::vector<std::string> chunks;
  for (int i = 0; i < 200'000; ++i) chunks.push_back(Chunk(i));
  const Manifest m = MakeManifest(chunks, 1 << 20);
  const VersionRecord v = MakeVersion(a.id, "v1", m, 100);
  auto start = std::chrono::steady_clock::now();
  bool added = false;
  ASSERT_TRUE(db_->AddVersion(v, m, &added).ok());
  auto mid = std::chrono::steady_clock::now();
  EXPECT_TRUE(db_->VersionHasChunk(a.id, v.digest, Chunk(123'456)));
  auto freed = db_->DeleteVersion(a.id, "v1");
  auto end = std::chrono::steady_clock::now();
  ASSERT_TRUE(freed.ok());
  EXPECT_EQ(freed->size(), chunks.size());
  using Ms = std::chrono::duration<double, std::milli>;
  std::cout << "AddVersion of 200000 chunks: " << Ms(mid - start).count()
            << " ms; DeleteVersion: " << Ms(end - mid).count() << " ms\n";
}

}  // namespace
}  // namespace shoal
