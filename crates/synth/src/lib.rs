//! mtsa-synth
