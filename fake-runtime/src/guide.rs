//! Guide: testing a pod controller against the fake (written below).
