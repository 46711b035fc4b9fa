//! mtsa-io
