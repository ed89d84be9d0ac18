//! The checks, one module per area. Every check creates uniquely named, labelled
//! objects through the [`Ctx`](crate::ctx::Ctx) (which removes them afterwards, also
//! when the check fails) and never touches anything else.

use crate::check::{Area, Check};

mod runtime_info;
mod sandbox;

/// Every check, grouped by area in a stable order.
pub fn all() -> Vec<Check> {
    let mut checks = Vec::new();
    checks.extend(runtime_info::checks());
    checks.extend(sandbox::checks());
    checks
}

/// The checks of one area.
pub fn of_area(area: Area) -> Vec<Check> {
    all().into_iter().filter(|c| c.area == area).collect()
}
