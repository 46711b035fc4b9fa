//! mtsa-data
