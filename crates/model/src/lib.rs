//! mtsa-model
