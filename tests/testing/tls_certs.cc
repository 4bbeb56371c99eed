#include "tests/testing/tls_certs.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <system_error>
#include <utility>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/file_util.h"

namespace shoal::testing {
namespace {

template <typename T, void (*kFree)(T*)>
struct Deleter {
  void operator()(T* p) const { kFree(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;

// The oldest error on this thread's OpenSSL queue, which is then cleared for the next caller.
Status OpenSslError(const std::string& what) {
  char text[256] = "unknown error";
  if (unsigned long code = ERR_get_error(); code != 0) ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return Internal(what + ": " + text);
}

Result<KeyPtr> NewKey() {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError("generating an EC P-256 key");
  return key;
}

struct Extension {
  int nid;
  std::string value;  // in openssl.cnf syntax, e.g. "critical,CA:TRUE"
};

// A v3 certificate for `key` named `common_name`, signed by `issuer_key` on behalf of `issuer`
// (both null: self-signed).
Result<CertPtr> NewCert(EVP_PKEY* key, const std::string& common_name, X509* issuer,
                        EVP_PKEY* issuer_key, int valid_days,
                        const std::vector<Extension>& extensions) {
  CertPtr cert(X509_new());
  if (!cert) return OpenSslError("X509_new");
  // Random serials: certificates from different calls must never look like the same one.
  uint64_t serial = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial) != 1) {
    return OpenSslError("RAND_bytes");
  }
  serial = (serial >> 1) | 1;  // positive and non-zero
  X509_NAME* subject = X509_get_subject_name(cert.get());
  bool ok = X509_set_version(cert.get(), X509_VERSION_3) == 1 &&
            ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial) == 1 &&
            X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(cert.get()), long{valid_days} * 86400) != nullptr &&
            X509_set_pubkey(cert.get(), key) == 1 &&
            X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(common_name.c_str()),
                                       -1, -1, 0) == 1 &&
            X509_set_issuer_name(cert.get(),
                                 issuer != nullptr ? X509_get_subject_name(issuer) : subject) == 1;
  if (!ok) return OpenSslError("filling in the certificate for " + common_name);
  for (const Extension& ext : extensions) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
    ExtPtr made(X509V3_EXT_conf_nid(nullptr, &ctx, ext.nid, ext.value.c_str()));
    if (!made || X509_add_ext(cert.get(), made.get(), -1) != 1) {
      return OpenSslError("certificate extension \"" + ext.value + "\"");
    }
  }
  if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
    return OpenSslError("signing the certificate for " + common_name);
  }
  return cert;
}

Result<CertPtr> NewCa(EVP_PKEY* key, const std::string& common_name, int valid_days) {
  return NewCert(key, common_name, nullptr, nullptr, valid_days,
                 {{NID_basic_constraints, "critical,CA:TRUE"},
                  {NID_key_usage, "critical,keyCertSign,cRLSign"},
                  {NID_subject_key_identifier, "hash"}});
}

Result<std::string> ToPem(X509* cert, EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return OpenSslError("BIO_new");
  const bool ok = cert != nullptr ? PEM_write_bio_X509(bio.get(), cert) == 1
                                  : PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0,
                                                             nullptr, nullptr) == 1;
  if (!ok) return OpenSslError("writing PEM");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

Status WritePem(const std::string& path, X509* cert, EVP_PKEY* key) {
  ASSIGN_OR_RETURN(std::string pem, ToPem(cert, key));
  return WriteFileAtomic(path, pem);
}

}  // namespace

Result<TestTlsFiles> WriteTestTlsFiles(const std::string& dir, const TestCertOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Unavailable("cannot create " + dir + ": " + ec.message());

  ASSIGN_OR_RETURN(KeyPtr ca_key, NewKey());
  ASSIGN_OR_RETURN(CertPtr ca, NewCa(ca_key.get(), "shoal test CA", options.valid_days));
  ASSIGN_OR_RETURN(KeyPtr other_key, NewKey());
  ASSIGN_OR_RETURN(CertPtr other_ca,
                   NewCa(other_key.get(), "shoal unrelated test CA", options.valid_days));

  std::string san;
  auto add_san = [&san](const char* kind, const std::string& value) {
    if (!san.empty()) san.push_back(',');
    san.append(kind).append(value);
  };
  for (const std::string& name : options.dns_names) add_san("DNS:", name);
  for (const std::string& ip : options.ip_addresses) add_san("IP:", ip);
  std::vector<Extension> extensions = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
      {NID_ext_key_usage, "serverAuth"},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid:always"},
  };
  // Without any SAN the certificate names no host at all (for host-mismatch tests).
  if (!san.empty()) extensions.push_back({NID_subject_alt_name, san});
  ASSIGN_OR_RETURN(KeyPtr server_key, NewKey());
  ASSIGN_OR_RETURN(CertPtr server, NewCert(server_key.get(), options.common_name, ca.get(),
                                           ca_key.get(), options.valid_days, extensions));

  const std::filesystem::path base(dir);
  TestTlsFiles files{(base / "ca.pem").string(), (base / "server.pem").string(),
                     (base / "server-key.pem").string(), (base / "other-ca.pem").string()};
  RETURN_IF_ERROR(WritePem(files.ca_file, ca.get(), nullptr));
  RETURN_IF_ERROR(WritePem(files.cert_file, server.get(), nullptr));
  RETURN_IF_ERROR(WritePem(files.key_file, nullptr, server_key.get()));
  RETURN_IF_ERROR(WritePem(files.other_ca_file, other_ca.get(), nullptr));
  return files;
}

}  // namespace shoal::testing
