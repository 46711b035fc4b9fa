//! mtsa-eval
