// Throwaway TLS material for tests: a private CA and a server certificate it signed, generated in
// memory with libcrypto (fresh EC P-256 keys on every call) and written as PEM files.
//
// Typical use: WriteTestTlsFiles(dir) once per test, then serve with
// TlsServerOptions{files.cert_file, files.key_file} and connect with https://127.0.0.1:<port> (or
// https://localhost:<port>) and TlsClientOptions{files.ca_file}. other_ca_file is a CA that signed
// nothing here, for "untrusted certificate" tests. Thread-safe (no shared state).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace shoal::testing {

// What goes into the server certificate. The defaults suit a server on 127.0.0.1.
struct TestCertOptions {
  std::vector<std::string> dns_names = {"localhost"};     // subjectAltName DNS entries
  std::vector<std::string> ip_addresses = {"127.0.0.1"};  // subjectAltName IP entries (v4 or v6)
  std::string common_name = "shoal test server";          // subject CN (not used for matching)
  int valid_days = 7;  // from one hour ago, so small clock skews do not matter
};

// Paths of the files WriteTestTlsFiles wrote (all inside its `dir`).
struct TestTlsFiles {
  std::string ca_file;        // ca.pem: the self-signed CA certificate that signed cert_file
  std::string cert_file;      // server.pem: the server certificate (leaf only)
  std::string key_file;       // server-key.pem: its unencrypted PKCS#8 private key
  std::string other_ca_file;  // other-ca.pem: an unrelated self-signed CA certificate
};

// Generates a CA, a server certificate signed by it (serverAuth, with the SANs of `options`) and
// an unrelated second CA, and writes ca.pem, server.pem, server-key.pem and other-ca.pem into
// `dir` (created if missing; existing files are replaced). Returns the paths; Internal if OpenSSL
// fails, Unavailable on I/O errors.
Result<TestTlsFiles> WriteTestTlsFiles(const std::string& dir, const TestCertOptions& options = {});

}  // namespace shoal::testing
