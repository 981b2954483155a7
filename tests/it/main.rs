//! The integration-test binary: one module per capability, each test names the
//! behaviour a user would notice.

mod config_check;
