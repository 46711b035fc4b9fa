//! mtsa-train
