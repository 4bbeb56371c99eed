// The translation unit that builds the tests' precompiled header (shoal_test_pch in
// tests/CMakeLists.txt); the headers come from target_precompile_headers, so it holds nothing.
