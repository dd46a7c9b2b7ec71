#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mtlsctl::fuzzing::request_head(data));
