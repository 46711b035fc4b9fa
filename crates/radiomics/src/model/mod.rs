//! The radiomics EGFR classifier.
