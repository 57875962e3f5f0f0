//! The seminar tutorial, `docs/tutorial.md`, included here so that its code blocks run as
//! doctests.
#![doc = include_str!("../docs/tutorial.md")]
