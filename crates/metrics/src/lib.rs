//! mtsa-metrics
