//! Behaviour tests of the process world.
