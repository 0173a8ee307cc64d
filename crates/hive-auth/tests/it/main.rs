//! Integration tests of hive-auth.
